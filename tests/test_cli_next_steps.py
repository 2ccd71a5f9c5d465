"""Errors that name the next step: each failure is one sentence, a hint that says what to do,
and the documented exit code, from the installed `kombo` against the loopback Kombo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf, run_kombo_process
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope

CANDIDATE = "CandidateGRKdd9dibYKKCrm"
APPLICATION = "ApplicationHWUTwvyx2wLoS"


def env_for(base_url: str) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": base_url,
    }


def requests_seen(server: KomboServer) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in server.requests]


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert API_KEY not in stderr


@pytest.fixture
def strict_server() -> Iterator[KomboServer]:
    """A sandbox where the candidate and the application exist only as their own kind,
    as `kombo sandbox --strict-ids` serves them."""
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.config.known_ids = {"candidate": {CANDIDATE}, "application": {APPLICATION}}
        yield server


@pytest.fixture
def cv(tmp_path: Path) -> Path:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    return path


# -- a candidate ID that is an application's, and the other way round --------------------------


def test_a_candidate_id_that_is_an_applications_says_add_application(
    strict_server: KomboServer, cv: Path
) -> None:
    result = run_kombo_process(
        "attach", APPLICATION, "cv.pdf", env=env_for(strict_server.base_url), cwd=cv.parent
    )

    assert result.returncode == 5
    assert result.stderr.startswith(
        f"Error: {APPLICATION} is an application's ID, not a candidate's.\n"
    )
    assert f"Hint: add --application: kombo attach --application {APPLICATION} cv.pdf" in (
        result.stderr
    )
    assert_clean(result.stderr)
    # The upload first; the one lookup only after its 404.
    assert requests_seen(strict_server) == [
        ("POST", f"/v1/ats/candidates/{APPLICATION}/attachments"),
        ("GET", f"/v1/ats/applications/{APPLICATION}/attachments"),
    ]
    assert strict_server.attachments == []


def test_an_application_id_that_is_a_candidates_says_drop_application(
    strict_server: KomboServer, cv: Path
) -> None:
    result = run_kombo_process(
        "attach",
        "--application",
        CANDIDATE,
        "cv.pdf",
        env=env_for(strict_server.base_url),
        cwd=cv.parent,
    )

    assert result.returncode == 5
    assert result.stderr.startswith(
        f"Error: {CANDIDATE} is a candidate's ID, not an application's.\n"
    )
    assert f"Hint: drop --application: kombo attach {CANDIDATE} cv.pdf" in result.stderr
    assert requests_seen(strict_server) == [
        ("POST", f"/v1/ats/applications/{CANDIDATE}/attachments"),
        ("GET", f"/v1/ats/candidates/{CANDIDATE}/attachments"),
    ]


def test_an_id_of_neither_kind_keeps_kombos_404(strict_server: KomboServer, cv: Path) -> None:
    result = run_kombo_process("attach", "Nobody", str(cv), env=env_for(strict_server.base_url))

    assert result.returncode == 5
    assert result.stderr.startswith("Error: The candidate with ID 'Nobody' could not be found.\n")
    assert "--application" not in result.stderr
    assert requests_seen(strict_server) == [
        ("POST", "/v1/ats/candidates/Nobody/attachments"),
        ("GET", "/v1/ats/applications/Nobody/attachments"),
    ]


def test_when_the_lookup_fails_the_original_404_stands(
    strict_server: KomboServer, cv: Path
) -> None:
    strict_server.queue(
        ScriptedResponse(
            status=404, body=error_envelope("No such candidate here.", title="Not found")
        ),
        ScriptedResponse(status=503, body=b"<html>Service Unavailable</html>"),
    )
    result = run_kombo_process("attach", APPLICATION, str(cv), env=env_for(strict_server.base_url))

    assert result.returncode == 5
    assert result.stderr.startswith("Error: No such candidate here.\n")
    assert "--application" not in result.stderr
    # One lookup, not retried.
    assert requests_seen(strict_server) == [
        ("POST", f"/v1/ats/candidates/{APPLICATION}/attachments"),
        ("GET", f"/v1/ats/applications/{APPLICATION}/attachments"),
    ]


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "PLATFORM.INPUT_INVALID"), (404, "PLATFORM.INTEGRATION_NOT_FOUND"), (409, None)],
)
def test_no_lookup_after_other_refusals(
    strict_server: KomboServer, cv: Path, status: int, code: str | None
) -> None:
    strict_server.queue(ScriptedResponse(status=status, body=error_envelope("No.", code=code)))
    result = run_kombo_process("attach", APPLICATION, str(cv), env=env_for(strict_server.base_url))

    assert result.returncode == 5
    assert result.stderr.startswith("Error: No.\n")
    assert requests_seen(strict_server) == [
        ("POST", f"/v1/ats/candidates/{APPLICATION}/attachments")
    ]


def test_a_manifest_row_names_the_column_and_looks_up_each_target_once(
    strict_server: KomboServer, cv: Path
) -> None:
    manifest = cv.parent / "rows.csv"
    manifest.write_text(f"candidate_id,file\n{APPLICATION},cv.pdf\n{APPLICATION},cv.pdf\n")
    result = run_kombo_process(
        "attach", "--manifest", str(manifest), "--concurrency", "1",
        env=env_for(strict_server.base_url),
    )  # fmt: skip

    assert result.returncode == 7
    assert result.stderr.count(f"{APPLICATION} is an application's ID, not a candidate's.") == 2
    assert "Hint: put it in the manifest's application_id column" in result.stderr
    # Rows sharing a target list it first: the listing's 404 is the one looked into, and the
    # ID is looked up as an application's once for both rows.
    listing = ("GET", f"/v1/ats/candidates/{APPLICATION}/attachments")
    lookup = ("GET", f"/v1/ats/applications/{APPLICATION}/attachments")
    assert requests_seen(strict_server) == [listing, lookup, listing]


# -- a file where the ID goes -----------------------------------------------------------------


def test_a_file_given_without_the_id_says_the_id_comes_first(
    kombo_server: KomboServer, server_env: dict[str, str], cv: Path
) -> None:
    result = run_kombo_process("attach", "cv.pdf", "--type", "CV", env=server_env, cwd=cv.parent)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "Error: cv.pdf looks like a file; the candidate ID comes first.\n"
    )
    assert "Hint: kombo attach CANDIDATE_ID cv.pdf" in result.stderr
    assert "Missing FILE" not in result.stderr
    assert kombo_server.requests == []


def test_a_file_given_without_the_application_id(
    kombo_server: KomboServer, server_env: dict[str, str], cv: Path
) -> None:
    result = run_kombo_process("attach", "--application", "cv.pdf", env=server_env, cwd=cv.parent)

    assert result.returncode == 2
    assert "cv.pdf looks like a file; the application ID comes first." in result.stderr
    assert "Hint: kombo attach --application APPLICATION_ID cv.pdf" in result.stderr


def test_an_id_without_a_file_still_says_missing_file(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_kombo_process("attach", CANDIDATE, env=server_env, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith("Error: Missing FILE.\n")


# -- a base URL that is not Kombo's API --------------------------------------------------------


def test_a_base_url_without_v1_against_the_sandbox_exits_3_with_a_hint(
    kombo_server: KomboServer, cv: Path
) -> None:
    assert kombo_server.base_url.endswith("/v1")
    root = kombo_server.base_url[: -len("/v1")]
    result = run_kombo_process("attach", CANDIDATE, str(cv), env=env_for(root))

    assert result.returncode == 3
    host = root.split("://", 1)[1]
    assert result.stderr.startswith(
        f"Error: {host} has no API route for POST /ats/candidates/{CANDIDATE}/attachments.\n"
    )
    assert (
        f"Hint: the base URL must end in /v1: use {root}/v1 (KOMBO_BASE_URL or --base-url),"
        " as in https://api.kombo.dev/v1" in result.stderr
    )
    assert_clean(result.stderr)
    assert requests_seen(kombo_server) == [("POST", f"/ats/candidates/{CANDIDATE}/attachments")]


def test_a_base_url_without_v1_in_json_output(kombo_server: KomboServer, cv: Path) -> None:
    root = kombo_server.base_url[: -len("/v1")]
    result = run_kombo_process("attach", CANDIDATE, str(cv), "--json", env=env_for(root))

    error = json.loads(result.stdout)["error"]
    assert result.returncode == 3
    assert (error["exit_code"], error["http_status"]) == (3, 404)
    assert "must end in /v1" in error["hint"]


def test_doctor_with_a_base_url_without_v1_exits_3(kombo_server: KomboServer) -> None:
    root = kombo_server.base_url[: -len("/v1")]
    result = run_kombo_process("doctor", env=env_for(root))

    assert result.returncode == 3
    assert f"use {root}/v1" in result.stdout
    # The failing check is the API's address, not the key, which was never tried.
    assert "FAIL  Kombo API: " in result.stdout
    assert "skip  API key accepted: not checked" in result.stdout
    assert "Error: 1 check failed: Kombo API." in result.stderr


def test_a_foreign_404_page_exits_3_with_a_base_url_hint(
    kombo_server: KomboServer, server_env: dict[str, str], cv: Path
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=404,
            body=b"<html><head><title>Page not found</title></head></html>",
            headers={"Content-Type": "text/html"},
        )
    )
    result = run_kombo_process("attach", CANDIDATE, str(cv), env=server_env)

    assert result.returncode == 3
    assert 'answered HTTP 404 Not Found (an HTML page titled "Page not found").' in result.stderr
    assert (
        f"Hint: check the base URL {kombo_server.base_url} (KOMBO_BASE_URL or --base-url,"
        " or --region): it must be Kombo's API, e.g. https://api.kombo.dev/v1" in result.stderr
    )
    assert_clean(result.stderr)
    # Not retried: another page will not turn into Kombo's API by asking again.
    assert len(kombo_server.requests) == 1


def test_kombos_own_404_for_an_unknown_id_is_no_base_url_problem(
    kombo_server: KomboServer, server_env: dict[str, str], cv: Path
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=404, body=error_envelope("The candidate was not found.")),
        ScriptedResponse(status=404, body=error_envelope("The application was not found.")),
    )
    result = run_kombo_process("attach", CANDIDATE, str(cv), env=server_env)

    assert result.returncode == 5
    assert "base URL" not in result.stderr


# -- "+" content types ---------------------------------------------------------------------------


def test_an_svg_file_names_only_the_ways_through(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    result = run_kombo_process("attach", CANDIDATE, "logo.svg", env=server_env, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "Error: logo.svg is image/svg+xml, a type Kombo's content-type rule does not accept.\n"
    )
    hint = result.stderr.split("Hint: ", 1)[1]
    assert "convert the file (e.g. to PDF or PNG)" in hint
    assert "with --url URL and no --content-type" in hint
    assert "pass --content-type" not in hint
    assert kombo_server.requests == []


def test_content_type_svg_for_a_file_names_only_the_ways_through(
    kombo_server: KomboServer, server_env: dict[str, str], cv: Path
) -> None:
    result = run_kombo_process(
        "attach", CANDIDATE, str(cv), "--content-type", "image/svg+xml", env=server_env
    )

    assert result.returncode == 2
    assert "Error: The content type 'image/svg+xml' is not a plain MIME type" in result.stderr
    hint = result.stderr.split("Hint: ", 1)[1]
    assert "no '+' type passes Kombo's rule" in hint
    assert "convert the file" in hint and "--url URL" in hint
    assert "e.g. application/pdf" not in hint


def test_content_type_svg_with_a_url_says_to_leave_it_out(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    url = "https://storage.example/logo.svg"
    refused = run_kombo_process(
        "attach", CANDIDATE, "--url", url, "--content-type", "image/svg+xml", env=server_env
    )

    assert refused.returncode == 2
    assert "Hint: leave the content type out: with --url, Kombo takes it from the download" in (
        refused.stderr
    )
    assert kombo_server.requests == []

    # The way the hint names goes through: no content_type, Kombo takes it from the download.
    accepted = run_kombo_process("attach", CANDIDATE, "--url", url, env=server_env)

    assert accepted.returncode == 0, accepted.stderr
    uploads = [request.json() for request in kombo_server.requests if request.method == "POST"]
    assert [upload["attachment"] for upload in uploads] == [
        {"name": "logo.svg", "type": "OTHER", "data_url": url}
    ]


@pytest.mark.parametrize("wrong_kind", ["candidate", "application"])
def test_attachments_list_names_the_other_kind_too(
    strict_server: KomboServer, wrong_kind: str
) -> None:
    # As `kombo attach` does: one listing of the other kind, only after Kombo's 404.
    if wrong_kind == "candidate":
        args, other = [APPLICATION], "application"
        hint = f"Hint: add --application: kombo attachments list --application {APPLICATION}"
        expected = ("GET", f"/v1/ats/candidates/{APPLICATION}/attachments")
        then = ("GET", f"/v1/ats/applications/{APPLICATION}/attachments")
        named = APPLICATION
    else:
        args, other = ["--application", CANDIDATE], "candidate"
        hint = f"Hint: drop --application: kombo attachments list {CANDIDATE}"
        expected = ("GET", f"/v1/ats/applications/{CANDIDATE}/attachments")
        then = ("GET", f"/v1/ats/candidates/{CANDIDATE}/attachments")
        named = CANDIDATE
    result = run_kombo_process("attachments", "list", *args, env=env_for(strict_server.base_url))

    assert result.returncode == 5
    article = "an" if other == "application" else "a"
    assert result.stderr.startswith(f"Error: {named} is {article} {other}'s ID, not ")
    assert hint in result.stderr
    assert_clean(result.stderr)
    assert requests_seen(strict_server) == [expected, then]
