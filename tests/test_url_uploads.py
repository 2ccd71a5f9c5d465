"""`--url`, a manifest's url column and `Kombo.attach(url=...)`: what Kombo receives.

Kombo's `data_url` is `format: uri`: the client turns what people paste (Unicode host
names, accented file names, spaces) into a URI, and fills in `content_type` from the
URL's extension when it can. Every check here is on the request the server received.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kombo_cli import Kombo
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, run_kombo, run_kombo_process
from tests.recording_server import KomboServer, RecordedRequest

IRI = "https://bücher.example/Lebensläufe/lebenslauf_ä.pdf?sig=GEHEIM%2Bä&x=1"
URI = "https://xn--bcher-kva.example/Lebensl%C3%A4ufe/lebenslauf_%C3%A4.pdf?sig=GEHEIM%2B%C3%A4&x=1"


def uploads(server: KomboServer) -> list[RecordedRequest]:
    return [request for request in server.requests if request.method == "POST"]


def attachment_body(**fields: str) -> bytes:
    """The body as the client sends it: compact JSON, UTF-8, fields in the client's order."""
    return json.dumps({"attachment": fields}, ensure_ascii=False, separators=(",", ":")).encode()


# -- the URL goes out as a URI -----------------------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["-v"], ["--json"]], ids=["text", "verbose", "json"])
def test_a_unicode_url_is_sent_as_a_uri_and_its_query_is_never_shown(
    kombo_server: KomboServer, server_env: dict[str, str], flags: list[str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "--url",
        IRI,
        "--content-type",
        "application/pdf",
        *flags,
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.body == attachment_body(
        name="lebenslauf_ä.pdf", type="OTHER", content_type="application/pdf", data_url=URI
    )
    output = result.stdout + result.stderr
    assert "GEHEIM" not in output
    if "--json" in flags:
        [item] = [json.loads(line) for line in result.stdout.splitlines()]
        # The URL as given, its query elided: what the person typed, recognisably.
        assert item["url"] == "https://bücher.example/Lebensläufe/lebenslauf_ä.pdf?…"


def test_the_dry_run_shows_the_uri_that_would_be_sent_without_its_query(
    server_env: dict[str, str], kombo_server: KomboServer
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "--url", IRI, "--dry-run", "--json", env=server_env)

    assert result.returncode == 0, result.stderr
    [item] = [json.loads(line) for line in result.stdout.splitlines()]
    sent = item["request"]["body"]["attachment"]
    assert sent["data_url"] == URI.partition("?")[0] + "?…"
    assert "GEHEIM" not in result.stdout + result.stderr
    assert kombo_server.requests == []


def test_already_encoded_escapes_stay_and_a_stray_percent_is_encoded(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    url = "https://files.example/cvs/Frank%20Doe ä%C3%A4 100%.pdf?a=b+c&d=%zz#page=2"
    result = run_kombo(
        "attach", CANDIDATE_ID, "--url", url, "--content-type", "application/pdf", env=server_env
    )

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.json()["attachment"]["data_url"] == (
        "https://files.example/cvs/Frank%20Doe%20%C3%A4%C3%A4%20100%25.pdf?a=b+c&d=%25zz"
    )
    assert post.json()["attachment"]["name"] == "Frank Doe ää 100%.pdf"


def test_a_manifest_url_is_sent_as_a_uri(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    manifest = tmp_path / "rows.jsonl"
    manifest.write_text(
        json.dumps({"candidate_id": CANDIDATE_ID, "url": IRI, "content_type": "application/pdf"})
        + "\n",
        encoding="utf-8",
    )
    result = run_kombo("attach", "--manifest", str(manifest), env=server_env)

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.json()["attachment"]["data_url"] == URI
    assert "GEHEIM" not in result.stdout + result.stderr


def test_the_library_sends_a_uri(kombo_server: KomboServer) -> None:
    with Kombo(API_KEY, INTEGRATION_ID, base_url=kombo_server.base_url) as kombo:
        result = kombo.attach(CANDIDATE_ID, url=IRI, content_type="application/pdf")

    assert result.status == "success"
    [post] = uploads(kombo_server)
    assert post.json()["attachment"]["data_url"] == URI


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://☃.example/cv.pdf?sig=GEHEIM", "https://☃.example/cv.pdf?…"),
        ("https://-bücher.example/cv.pdf?sig=GEHEIM", "https://-bücher.example/cv.pdf?…"),
    ],
    ids=["symbol", "leading-hyphen"],
)
def test_a_host_idna_refuses_is_a_usage_error_naming_the_url_without_its_query(
    kombo_server: KomboServer, server_env: dict[str, str], url: str, shown: str
) -> None:
    result = run_kombo_process("attach", CANDIDATE_ID, "--url", url, env=server_env)

    assert result.returncode == 2, result.stderr
    assert shown in result.stderr
    assert "host name" in result.stderr
    assert "Hint:" in result.stderr
    assert "GEHEIM" not in result.stdout + result.stderr
    assert kombo_server.requests == []


def test_a_url_with_a_user_name_and_password_is_a_usage_error(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo_process(
        "attach",
        CANDIDATE_ID,
        "--url",
        "https://frank:GEHEIM@files.example/cv.pdf",
        env=server_env,
    )

    assert result.returncode == 2, result.stderr
    assert "https://files.example/cv.pdf" in result.stderr
    assert "user name or password" in result.stderr
    assert "GEHEIM" not in result.stdout + result.stderr
    assert kombo_server.requests == []


def test_a_manifest_row_with_a_host_idna_refuses_is_a_row_problem(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    manifest = tmp_path / "rows.csv"
    manifest.write_text(
        f"candidate_id,url\n{CANDIDATE_ID},https://☃.example/cv.pdf?sig=GEHEIM\n",
        encoding="utf-8",
    )
    result = run_kombo("attach", "--manifest", str(manifest), env=server_env)

    assert result.returncode != 0
    assert "line 2" in result.stderr
    assert "https://☃.example/cv.pdf?…" in result.stderr
    assert "GEHEIM" not in result.stdout + result.stderr
    assert uploads(kombo_server) == []


# -- the content type comes from the URL's extension -------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--json"]], ids=["text", "json"])
def test_a_url_without_content_type_sends_the_type_of_its_extension(
    kombo_server: KomboServer, server_env: dict[str, str], flags: list[str]
) -> None:
    url = "https://files.example/path/Frank%20CV.docx?sig=GEHEIM"
    result = run_kombo("attach", CANDIDATE_ID, "--url", url, "--type", "CV", *flags, env=server_env)

    assert result.returncode == 0, result.stderr
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    [post] = uploads(kombo_server)
    assert post.body == attachment_body(
        name="Frank CV.docx",
        type="CV",
        content_type=docx,
        data_url="https://files.example/path/Frank%20CV.docx?sig=GEHEIM",
    )
    if "--json" in flags:
        [item] = [json.loads(line) for line in result.stdout.splitlines()]
        assert item["content_type"] == docx
    else:
        # Said as for a file: the type the upload was sent with.
        assert f"(CV, {docx}, from https://files.example/path/Frank%20CV.docx?…)" in (result.stdout)


def test_the_dry_run_shows_the_type_from_the_urls_extension(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    url = "https://files.example/cv.PDF?sig=GEHEIM"
    preview = run_kombo("attach", CANDIDATE_ID, "--url", url, "--dry-run", "--json", env=server_env)
    plan = run_kombo(
        "attach",
        CANDIDATE_ID,
        "--url",
        url,
        "--url",
        "https://files.example/letter.txt",
        "--dry-run",
        env=server_env,
    )

    assert preview.returncode == 0, preview.stderr
    [item] = [json.loads(line) for line in preview.stdout.splitlines()]
    assert item["request"]["body"]["attachment"]["content_type"] == "application/pdf"
    assert "as cv.PDF to candidate" in plan.stdout
    assert "(OTHER, application/pdf)" in plan.stdout
    assert "(OTHER, text/plain)" in plan.stdout
    assert kombo_server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example/download?id=7",
        "https://files.example/blob/7f3a9c",
        "https://files.example/cv.unknownextension",
        "https://files.example/cv.bin",
    ],
    ids=["no-extension", "no-dot", "unknown", "octet-stream"],
)
def test_a_url_without_a_known_extension_sends_no_content_type(
    kombo_server: KomboServer, server_env: dict[str, str], url: str
) -> None:
    result = run_kombo("attach", CANDIDATE_ID, "--url", url, "--name", "cv.pdf", env=server_env)

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    # The --name's extension is a display title's: Kombo takes the type from the download.
    assert "content_type" not in post.json()["attachment"]
    assert "type from the download" in result.stdout


def test_an_svg_url_sends_no_content_type_so_kombo_takes_the_downloads(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "--url",
        "https://files.example/logo.svg",
        "--json",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.body == attachment_body(
        name="logo.svg", type="OTHER", data_url="https://files.example/logo.svg"
    )
    [item] = [json.loads(line) for line in result.stdout.splitlines()]
    assert item["content_type"] is None


def test_a_content_type_given_wins_over_the_extension(
    kombo_server: KomboServer, server_env: dict[str, str]
) -> None:
    result = run_kombo(
        "attach",
        CANDIDATE_ID,
        "--url",
        "https://files.example/cv.pdf",
        "--content-type",
        "text/plain",
        env=server_env,
    )

    assert result.returncode == 0, result.stderr
    [post] = uploads(kombo_server)
    assert post.json()["attachment"]["content_type"] == "text/plain"


def test_a_manifest_rows_signed_url_is_never_printed_even_when_kombo_quotes_it(
    kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    from tests.recording_server import ScriptedResponse, error_envelope

    signed = "https://files.example/cvs/frank.pdf?X-Amz-Signature=SeCrEtSiGnAtUrE4242"
    manifest = tmp_path / "uploads.csv"
    manifest.write_text(f"candidate_id,url\n{CANDIDATE_ID},{signed}\n")
    # An answer that echoes the row's URL back, as a proxy's or an ATS's message may.
    kombo_server.queue(
        ScriptedResponse(
            status=400,
            body=error_envelope(f"Could not download {signed}", "ATS.INPUT_INVALID"),
            method="POST",
        )
    )
    result = run_kombo_process("attach", "--manifest", str(manifest), env=server_env)

    assert result.returncode == 5, result.stderr
    assert "Could not download https://files.example/cvs/frank.pdf" in result.stderr
    assert "SeCrEtSiGnAtUrE4242" not in result.stderr + result.stdout
