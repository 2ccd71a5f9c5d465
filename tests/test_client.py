"""KomboClient against the loopback server: answers become results or KomboErrors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kombo_cli.api.client import KomboClient
from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.errors import ApiError, ExitCode, NetworkError
from kombo_cli.upload.plan import plan_attachment
from tests.helpers import API_KEY, CANDIDATE_ID, INTEGRATION_ID, make_pdf
from tests.recording_server import KomboServer, ScriptedResponse


@pytest.fixture
def pdf(tmp_path: Path) -> str:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    return str(path)


def client_for(server: KomboServer, **kwargs: float) -> KomboClient:
    return KomboClient(server.base_url, API_KEY, INTEGRATION_ID, **kwargs)  # type: ignore[arg-type]


def send(server: KomboServer, pdf: str, **kwargs: float):  # type: ignore[no-untyped-def]
    plan = plan_attachment(Target.parse(CANDIDATE_ID, application=False), pdf, attachment_type="CV")
    return client_for(server, **kwargs).add_attachment(plan.target, plan.body())


def test_netrc_credentials_never_replace_the_bearer_key(
    kombo_server: KomboServer, pdf: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))

    send(kombo_server, pdf)

    assert kombo_server.requests[0].header("Authorization") == f"Bearer {API_KEY}"


def test_redirects_are_not_followed(kombo_server: KomboServer, pdf: str) -> None:
    kombo_server.queue(
        ScriptedResponse(status=307, headers={"Location": "https://elsewhere.example/v1"})
    )
    with pytest.raises(ApiError) as caught:
        send(kombo_server, pdf)
    assert "redirect to https://elsewhere.example/v1" in caught.value.message
    assert len(kombo_server.requests) == 1


def test_success_without_json_is_still_a_success_with_a_warning(
    kombo_server: KomboServer, pdf: str
) -> None:
    kombo_server.queue(
        ScriptedResponse(status=200, body=b"OK", headers={"Content-Type": "text/plain"}, store=True)
    )
    outcome = send(kombo_server, pdf)
    assert outcome.http_status == 200
    assert "most likely stored" in outcome.notes[0]
    assert outcome.warnings == []


def test_error_envelope_without_code_falls_back_to_the_status(
    kombo_server: KomboServer, pdf: str
) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=403,
            body={
                "status": "error",
                "error": {"code": None, "title": None, "message": "Nope.", "log_url": None},
            },
        )
    )
    with pytest.raises(ApiError) as caught:
        send(kombo_server, pdf)
    assert (caught.value.exit_code, caught.value.message, caught.value.code) == (
        ExitCode.AUTH,
        "Nope.",
        None,
    )


def test_unknown_kombo_codes_use_the_status(kombo_server: KomboServer, pdf: str) -> None:
    kombo_server.queue(
        ScriptedResponse(
            status=422,
            body={
                "status": "error",
                "error": {
                    "code": "ATS.SOMETHING_NEW",
                    "title": "New",
                    "message": "New thing.",
                    "log_url": None,
                },
            },
        )
    )
    with pytest.raises(ApiError) as caught:
        send(kombo_server, pdf)
    assert caught.value.exit_code == ExitCode.REJECTED
    assert caught.value.code == "ATS.SOMETHING_NEW"


def test_slow_answer_times_out_as_a_network_error(kombo_server: KomboServer, pdf: str) -> None:
    kombo_server.queue(ScriptedResponse(delay_s=5, store=True))
    with pytest.raises(NetworkError) as caught:
        send(kombo_server, pdf, read_timeout_s=0.5)
    assert "did not answer within 0.5 s" in caught.value.message
    # The client states the fact; what to tell the user about storage is delivery's job.
    assert caught.value.may_have_arrived is True
    assert caught.value.timed_out is True


def test_repr_never_shows_the_key(kombo_server: KomboServer) -> None:
    assert API_KEY not in repr(client_for(kombo_server))


def test_ids_are_percent_encoded_in_the_path() -> None:
    assert Target.parse("a:b@c", application=True).attachments_path == (
        "/ats/applications/a%3Ab%40c/attachments"
    )


def test_a_hints_target_is_quoted_for_the_shell() -> None:
    # An integration ID may hold characters a shell would act on; a pasted hint must not.
    assert Target(CANDIDATE, "GRKdd9dibYKKCrmGRSMJf3wu", "acme:a$b;c").shell_argument == (
        "GRKdd9dibYKKCrmGRSMJf3wu --integration-id 'acme:a$b;c'"
    )
    plain = Target(APPLICATION, "TBJyJtUvqZU7Gbs75yAipLxD", "workday:HWUT")
    assert (
        plain.shell_argument
        == "--application TBJyJtUvqZU7Gbs75yAipLxD --integration-id workday:HWUT"
    )
