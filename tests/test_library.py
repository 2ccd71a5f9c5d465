"""kombo_cli.Kombo, the library under the command line: the same rules, the same results."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from kombo_cli import AttachRequest, Kombo, KomboError
from kombo_cli.errors import ConfigError, ExitCode, LookupFailed
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf, run_kombo
from tests.recording_server import KomboServer, ScriptedResponse, error_envelope


@pytest.fixture
def kombo(kombo_server: KomboServer) -> Kombo:
    return Kombo(API_KEY, INTEGRATION_ID, base_url=kombo_server.base_url, retries=1)


def test_a_result_is_what_attach_json_prints(
    kombo: Kombo, kombo_server: KomboServer, server_env: dict[str, str], tmp_path: Path
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())

    from_library = kombo.attach(CANDIDATE_ID, cv, type="CV").to_json()
    from_cli = json.loads(
        run_kombo("attach", CANDIDATE_ID, str(cv), "-t", "CV", "--json", env=server_env).stdout
    )

    for payload in (from_library, from_cli):
        payload.pop("elapsed_s")
    assert from_library == from_cli
    assert from_library["sha256"] is not None
    sent = [r.json()["attachment"] for r in kombo_server.requests if r.method == "POST"]
    assert [base64.b64decode(a["data"]) for a in sent] == [make_pdf(), make_pdf()]


def test_a_failure_raises_the_error_the_command_line_would_exit_with(
    kombo: Kombo, kombo_server: KomboServer, tmp_path: Path
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=404, body=error_envelope("No such candidate.", code="ATS.NOT_FOUND")
        ),
        # Nor is the ID an application's: the one lookup after the 404 finds nothing either.
        ScriptedResponse(status=404, body=error_envelope("No such application.")),
    )
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())

    with pytest.raises(KomboError) as caught:
        kombo.attach(CANDIDATE_ID, cv)

    assert caught.value.exit_code == ExitCode.REJECTED
    assert caught.value.message == "No such candidate."
    with pytest.raises(KomboError) as missing:
        kombo.attach(CANDIDATE_ID, tmp_path / "missing.pdf")
    assert missing.value.exit_code == ExitCode.USAGE


def test_attach_many_reports_every_request_and_keeps_going(
    kombo: Kombo, kombo_server: KomboServer, tmp_path: Path
) -> None:
    for name in ("a.pdf", "b.pdf"):
        (tmp_path / name).write_bytes(make_pdf())
    requests = [
        AttachRequest.for_candidate(CANDIDATE_ID, file=str(tmp_path / "a.pdf")),
        AttachRequest.for_candidate(CANDIDATE_ID, file=str(tmp_path / "gone.pdf")),
        AttachRequest.for_application(CANDIDATE_ID, file=str(tmp_path / "b.pdf"), type="CV"),
        AttachRequest.for_email("nobody@example.com", file=str(tmp_path / "b.pdf")),
    ]

    results = {r.entry: r for r in kombo.attach_many(requests, type="OTHER")}

    assert [results[r].status for r in requests] == ["success", "error", "success", "error"]
    assert results[requests[1]].error.exit_code == ExitCode.USAGE  # type: ignore[union-attr]
    lookup = results[requests[3]].error
    assert isinstance(lookup, LookupFailed) and "nobody@example.com" in lookup.message
    paths = sorted(r.path for r in kombo_server.requests if r.method == "POST")
    assert paths == [
        f"/v1/ats/applications/{CANDIDATE_ID}/attachments",
        f"/v1/ats/candidates/{CANDIDATE_ID}/attachments",
    ]


def test_attach_many_sends_each_request_to_its_own_integration(tmp_path: Path) -> None:
    other = "greenhouse:Hk2mU7pQr9TzW4xN8vB3cD5e"
    with KomboServer(integration_ids=[INTEGRATION_ID, other]) as server:
        own_candidate = server.candidates_by_integration[INTEGRATION_ID][0]["id"]
        other_candidate = server.candidates_by_integration[other][0]["id"]
        (tmp_path / "a.pdf").write_bytes(make_pdf())
        requests = [
            AttachRequest.for_candidate(own_candidate, file=tmp_path / "a.pdf"),
            AttachRequest.for_candidate(
                other_candidate, file=tmp_path / "a.pdf", integration_id=other
            ),
        ]
        with Kombo(API_KEY, INTEGRATION_ID, base_url=server.base_url) as kombo:
            results = {r.entry: r for r in kombo.attach_many(requests)}
        posts = [
            (r.header("X-Integration-Id"), r.path) for r in server.requests if r.method == "POST"
        ]
    assert [results[r].integration_id for r in requests] == [INTEGRATION_ID, other]
    assert all(results[r].status == "success" for r in requests)
    assert sorted(posts) == sorted(
        [
            (INTEGRATION_ID, f"/v1/ats/candidates/{own_candidate}/attachments"),
            (other, f"/v1/ats/candidates/{other_candidate}/attachments"),
        ]
    )


def test_a_request_integration_id_is_held_to_the_rule_of_settings() -> None:
    assert (
        AttachRequest.for_candidate(
            CANDIDATE_ID, file="a.pdf", integration_id=" x:1 "
        ).integration_id
        == "x:1"
    )
    for bad in ("", "a b", "x/..", ".."):
        with pytest.raises(ValueError, match="integration_id"):
            AttachRequest.for_candidate(CANDIDATE_ID, file="a.pdf", integration_id=bad)


def test_skip_existing_skips_a_name_the_target_lists(
    kombo: Kombo, kombo_server: KomboServer, tmp_path: Path
) -> None:
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    kombo.attach(CANDIDATE_ID, cv)

    again = kombo.attach(CANDIDATE_ID, cv, skip_existing=True)

    assert again.status == "skipped"
    assert len([r for r in kombo_server.requests if r.method == "POST"]) == 1


def test_settings_follow_the_command_lines_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="plain http to a remote host"):
        Kombo(API_KEY, INTEGRATION_ID, base_url="http://api.example.com/v1")
    with pytest.raises(ConfigError, match="Unknown region 'mars'"):
        Kombo(API_KEY, INTEGRATION_ID, region="mars")
    with pytest.raises(ConfigError, match="Neither KOMBO_API_KEY nor KOMBO_INTEGRATION_ID"):
        Kombo.from_env(environ={}, cwd=tmp_path)

    (tmp_path / ".env").write_text(f"KOMBO_API_KEY={API_KEY}\nKOMBO_INTEGRATION_ID=x:y\n")
    from_dotenv = Kombo.from_env(environ={"KOMBO_REGION": "us"}, cwd=tmp_path)
    assert from_dotenv.base_url == "https://api.us.kombo.dev/v1"
    assert from_dotenv.integration_id == "x:y"
    assert API_KEY not in repr(from_dotenv)


def test_leaving_the_loop_early_starts_no_more_uploads_and_waits_for_those_in_flight(
    tmp_path: Path,
) -> None:
    files = []
    for number in range(12):
        path = tmp_path / f"f{number}.pdf"
        path.write_bytes(make_pdf())
        files.append(path)
    slow = KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, latency_s=0.3)
    with slow, Kombo(API_KEY, INTEGRATION_ID, base_url=slow.base_url, concurrency=2) as kombo:
        requests = [AttachRequest.for_candidate(CANDIDATE_ID, file=path) for path in files]
        for _first in kombo.attach_many(requests):
            break
        sent_when_left = len([r for r in slow.requests if r.method == "POST"])
        stored_when_left = len(slow.attachments)
        time.sleep(1.0)
        assert len([r for r in slow.requests if r.method == "POST"]) == sent_when_left

    # Everything that was sent had finished (and was stored) before the loop was left.
    assert stored_when_left == sent_when_left
    assert sent_when_left < len(files)


def test_requests_and_settings_from_scripts_are_checked(kombo: Kombo, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one of file and url"):
        AttachRequest.for_candidate(CANDIDATE_ID)
    with pytest.raises(ValueError, match="target_kind must be one of"):
        AttachRequest("candidates", CANDIDATE_ID, file="cv.pdf")
    assert AttachRequest.for_candidate(CANDIDATE_ID, file=tmp_path / "cv.pdf").file == str(
        tmp_path / "cv.pdf"
    )
    with pytest.raises(ValueError, match="retries"):
        Kombo(API_KEY, INTEGRATION_ID, retries=-1)
    with pytest.raises(ValueError, match="timeout_s"):
        Kombo(API_KEY, INTEGRATION_ID, timeout_s=0)
    cv = tmp_path / "cv.pdf"
    cv.write_bytes(make_pdf())
    with pytest.raises(KomboError, match="remote_fields must be a JSON object"):
        kombo.attach(CANDIDATE_ID, cv, remote_fields="oops")  # type: ignore[arg-type]
    with pytest.raises(KomboError, match="not standard JSON"):
        kombo.attach(CANDIDATE_ID, cv, remote_fields={"a": {1, 2}})


def test_from_env_passes_the_settings_warnings_to_the_observer(tmp_path: Path) -> None:
    from kombo_cli import RunObserver

    heard: list[str] = []

    class Listener(RunObserver):
        def warning(self, message: str) -> None:
            heard.append(message)

    environ = {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_CONFIG_DIR": str(tmp_path / "config"),
    }
    Kombo.from_env(profile="acme", environ=environ, cwd=tmp_path, observer=Listener())

    assert heard == [
        f"the profile 'acme' has no stored settings"
        f" ({tmp_path / 'config' / 'profiles' / 'acme.env'} is missing)"
    ]


def test_the_package_exports_the_error_classes() -> None:
    import kombo_cli
    from kombo_cli import errors

    for name in ("ConfigError", "UsageError", "ApiError", "NetworkError", "Interrupted"):
        assert getattr(kombo_cli, name) is getattr(errors, name)
    assert str(errors.UsageError("said once")) == "said once"
