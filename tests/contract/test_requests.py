"""Every kind of request the installed `kombo` makes, held against Kombo's OpenAPI document;
and proof that the judge fails a request, or a reply, that breaks it.

Each test runs `kombo` as a subprocess with one option that shapes a request, against a
`KomboServer`, and asserts that the server's judge found nothing and that the operations
the option is about were really called (a run that called nothing would pass vacuously).
"""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox.sample_candidates import (
    FRANK_DOE_APPLICATION_ID,
    FRANK_DOE_EMAIL,
    FRANK_DOE_ID,
    MARIA_GARCIA_EMAIL,
    MARIA_GARCIA_ID,
    sample_candidates,
)
from tests.contract.judge import CLIENT_PRODUCT
from tests.contract.openapi import kombo_contract
from tests.helpers import API_KEY, INTEGRATION_ID, make_pdf, run_kombo_process
from tests.recording_server import KomboServer, ScriptedResponse, StoredAttachment
from tests.seeding import seed_file

POST_CANDIDATE = "PostAtsCandidatesCandidateIdAttachments"
POST_APPLICATION = "PostAtsApplicationsApplicationIdAttachments"
LIST_CANDIDATE = "GetAtsCandidatesCandidateIdAttachments"
LIST_APPLICATION = "GetAtsApplicationsApplicationIdAttachments"
SEARCH = "GetAtsCandidates"


def env_for(server: KomboServer) -> dict[str, str]:
    return {
        "KOMBO_API_KEY": API_KEY,
        "KOMBO_INTEGRATION_ID": INTEGRATION_ID,
        "KOMBO_BASE_URL": server.base_url,
    }


@pytest.fixture
def cv(tmp_path: Path) -> str:
    path = tmp_path / "cv.pdf"
    path.write_bytes(make_pdf())
    return str(path)


def called(server: KomboServer) -> list[str]:
    """The operation of each API request kombo sent, in order."""
    contract = kombo_contract()
    found = []
    for request in server.requests:
        operation = contract.find(request.method, request.path)
        if operation is not None and (request.header("User-Agent") or "").startswith(
            CLIENT_PRODUCT
        ):
            found.append(operation[0].operation_id)
    return found


def assert_kept(server: KomboServer, *operations: str) -> None:
    violations = server.contract.violations()
    assert violations == [], "\n".join(str(violation) for violation in violations)
    assert set(operations) <= set(called(server)), called(server)


def kombo(server: KomboServer, *args: str, exit_code: int | None = 0) -> str:
    ran = run_kombo_process(*args, env=env_for(server))
    if exit_code is not None:
        assert ran.returncode == exit_code, ran.stderr
    return ran.stdout


# -- attach --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "operations"),
    [
        ((), [POST_CANDIDATE]),
        (
            ("--type", "cv", "--name", "Frank Doe CV.pdf", "--content-type", "application/pdf"),
            [POST_CANDIDATE],
        ),
        (
            (
                "--remote-field",
                "greenhouse.post_headers.On-Behalf-Of=4711",
                "--remote-field",
                "workable.on_behalf_of_user_remote_id=42",
            ),
            [POST_CANDIDATE],
        ),
        (("--remote-field", "greenhouse.post_headers.On-Behalf-Of:=null"), [POST_CANDIDATE]),
        (("--skip-existing",), [LIST_CANDIDATE, POST_CANDIDATE]),
        (("--list-first", "--verify"), [LIST_CANDIDATE, POST_CANDIDATE]),
    ],
    ids=[
        "plain",
        "type-name-content-type",
        "remote-field",
        "remote-field-null",
        "skip-existing",
        "list-first-verify",
    ],
)
def test_attach_to_a_candidate(
    kombo_server: KomboServer, cv: str, options: tuple[str, ...], operations: list[str]
) -> None:
    kombo(kombo_server, "attach", FRANK_DOE_ID, cv, *options)

    assert_kept(kombo_server, *operations)


@pytest.mark.parametrize(
    "options",
    [
        (),
        (
            "--remote-fields",
            json.dumps(
                {
                    "oracle": {
                        "override_document_category": "MISC",
                        "multi_post_to_all_current_applications": True,
                    }
                }
            ),
        ),
        (
            "--remote-field",
            "oracle.multi_post_to_all_current_applications:=true",
            "--skip-existing",
        ),
    ],
    ids=["plain", "remote-fields", "remote-field-skip-existing"],
)
def test_attach_to_an_application(
    kombo_server: KomboServer, cv: str, options: tuple[str, ...]
) -> None:
    kombo(kombo_server, "attach", "--application", FRANK_DOE_APPLICATION_ID, cv, *options)

    assert_kept(kombo_server, POST_APPLICATION)


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example/cv.pdf",
        "https://files.example/path/Frank%20CV.pdf?sig=abc%2Fdef&expires=1",
        "https://files.example/download?id=42",
        # IRIs: kombo must send them as URIs (`format: uri`).
        "https://bücher.example/lebenslauf.pdf",
        "https://files.example/Lebenslauf Müller.pdf",
    ],
)
def test_attach_by_url(kombo_server: KomboServer, url: str) -> None:
    kombo(kombo_server, "attach", FRANK_DOE_ID, "--url", url, "--type", "CV")

    assert_kept(kombo_server, POST_CANDIDATE)


def test_attach_by_url_to_an_application(kombo_server: KomboServer) -> None:
    kombo(
        kombo_server,
        "attach",
        "--application",
        FRANK_DOE_APPLICATION_ID,
        "--url",
        "https://files.example/cv.docx",
    )

    assert_kept(kombo_server, POST_APPLICATION)


@pytest.mark.parametrize(
    "email", [FRANK_DOE_EMAIL, MARIA_GARCIA_EMAIL.upper(), "frank.doe+cv@example.com"]
)
def test_attach_by_email(kombo_server: KomboServer, cv: str, email: str) -> None:
    exit_code = 5 if "+" in email else 0  # nobody has that address: a search, no upload

    kombo(kombo_server, "attach", "--email", email, cv, exit_code=exit_code)

    assert_kept(kombo_server, SEARCH)
    assert (POST_CANDIDATE in called(kombo_server)) is (exit_code == 0)


def test_attach_by_email_over_several_pages(kombo_server: KomboServer, cv: str) -> None:
    maria = next(c for c in sample_candidates() if c["id"] == MARIA_GARCIA_ID)
    # Scripted pages (the sandbox pages only past 50 matches); what kombo asks is judged.
    kombo_server.queue(
        ScriptedResponse(
            200, {"status": "success", "data": {"next": "eyJvIjo1MH0=", "results": []}}
        ),
        ScriptedResponse(200, {"status": "success", "data": {"next": None, "results": [maria]}}),
    )

    kombo(kombo_server, "attach", "--email", MARIA_GARCIA_EMAIL, cv)

    assert_kept(kombo_server, SEARCH, POST_CANDIDATE)
    assert called(kombo_server).count(SEARCH) == 2


def test_a_dry_run_that_resolves_only_reads(kombo_server: KomboServer, cv: str) -> None:
    kombo(
        kombo_server,
        "attach",
        "--email",
        FRANK_DOE_EMAIL,
        cv,
        "--dry-run",
        "--resolve",
        "--skip-existing",
    )

    assert_kept(kombo_server, SEARCH, LIST_CANDIDATE)
    assert POST_CANDIDATE not in called(kombo_server)


def test_a_manifest_of_every_kind_of_row(
    kombo_server: KomboServer, cv: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "rows.jsonl"
    rows: list[dict[str, Any]] = [
        {"candidate_id": FRANK_DOE_ID, "file": cv, "type": "CV"},
        {
            "application_id": FRANK_DOE_APPLICATION_ID,
            "file": cv,
            "name": "Anschreiben.pdf",
            "type": "COVER_LETTER",
        },
        {"email": FRANK_DOE_EMAIL, "url": "https://files.example/portfolio.pdf?sig=x"},
        {
            "candidate_id": FRANK_DOE_ID,
            "file": cv,
            "remote_fields": {"workable": {"on_behalf_of_user_remote_id": "7"}},
        },
    ]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")

    kombo(kombo_server, "attach", "--manifest", str(manifest))

    assert_kept(kombo_server, SEARCH, POST_CANDIDATE, POST_APPLICATION)


def test_a_lost_reply_is_settled_by_listing(kombo_server: KomboServer, cv: str) -> None:
    # Stored, then answered 500: kombo lists (and downloads) to find it before resending.
    kombo_server.queue(ScriptedResponse(500, store=True, method="POST"))

    kombo(kombo_server, "attach", FRANK_DOE_ID, cv, "--settle-delay", "0", exit_code=None)

    assert_kept(kombo_server, POST_CANDIDATE, LIST_CANDIDATE)


def test_a_lost_reply_to_an_application_upload_is_settled_by_listing(
    kombo_server: KomboServer, cv: str
) -> None:
    kombo_server.queue(ScriptedResponse(502, store=True, method="POST"))

    kombo(
        kombo_server,
        "attach",
        "--application",
        FRANK_DOE_APPLICATION_ID,
        cv,
        "--settle-delay",
        "0",
        exit_code=None,
    )

    assert_kept(kombo_server, POST_APPLICATION, LIST_APPLICATION)


# -- attachments list, doctor ----------------------------------------------------------


def test_attachments_list(kombo_server: KomboServer) -> None:
    seed_file(kombo_server, FRANK_DOE_ID, "cv.pdf", b"%PDF-1.4")

    kombo(kombo_server, "attachments", "list", FRANK_DOE_ID)
    kombo(kombo_server, "attachments", "list", FRANK_DOE_ID, "--json")
    kombo(kombo_server, "attachments", "list", "--application", FRANK_DOE_APPLICATION_ID)

    assert_kept(kombo_server, LIST_CANDIDATE, LIST_APPLICATION)


def test_doctor(kombo_server: KomboServer) -> None:
    kombo(kombo_server, "doctor")
    kombo(kombo_server, "doctor", "--json")

    assert_kept(kombo_server, "GetCheckApiKey", "GetIntegrationsIntegrationId")


# -- the judge can fail ----------------------------------------------------------------


def send(
    server: KomboServer,
    method: str,
    target: str,
    body: Any = None,
    user_agent: str = f"{CLIENT_PRODUCT}0.0.0 python-requests/2",
    drop: tuple[str, ...] = (),
) -> int:
    headers = {
        "Authorization": f"Bearer {API_KEY}",
        "X-Integration-Id": INTEGRATION_ID,
        "User-Agent": user_agent,
    }
    raw = None
    if body is not None:
        raw = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    for name in drop:
        del headers[name]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, target, body=raw, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def upload_body(**attachment: Any) -> dict[str, Any]:
    fields = {
        "name": "cv.svg",
        "type": "CV",
        "content_type": "image/svg+xml",
        "data": base64.b64encode(b"<svg/>").decode(),
    }
    fields.update(attachment)
    return {"attachment": fields}


UPLOAD = f"/v1/ats/candidates/{FRANK_DOE_ID}/attachments"


@pytest.mark.parametrize(
    ("method", "target", "body", "drop", "expected"),
    [
        (
            "POST",
            UPLOAD,
            upload_body(),
            (),
            "body at attachment.content_type: 'image/svg+xml' does not match",
        ),
        (
            "POST",
            UPLOAD,
            upload_body(
                content_type="text/plain", data=None, data_url="https://bücher.example/cv.pdf"
            ),
            (),
            "body at attachment.data_url: 'https://bücher.example/cv.pdf' is not a 'uri' [format]",
        ),
        ("GET", UPLOAD, None, ("X-Integration-Id",), "header X-Integration-Id: missing [required]"),
        (
            "GET",
            "/v1/ats/candidates?email=frank.doe%40example.com&page_size=500",
            None,
            (),
            "query page_size: 500 is greater than the maximum of 250 [maximum]",
        ),
    ],
    ids=["svg", "iri", "no-integration", "page-size"],
)
def test_a_wrong_request_from_kombo_fails_the_test(
    method: str, target: str, body: Any, drop: tuple[str, ...], expected: str
) -> None:
    server = KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID).start()
    send(server, method, target, body, drop=drop)

    with pytest.raises(AssertionError) as caught:
        server.stop()

    assert expected in str(caught.value)
    assert "violation(s) of Kombo's OpenAPI document" in str(caught.value)


def test_a_tests_own_wrong_request_is_not_judged() -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        assert send(server, "POST", UPLOAD, upload_body(), user_agent="Python-urllib/3") == 400
        assert server.contract.violations() == []


def test_a_server_made_with_contract_false_judges_no_request() -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID, contract=False) as server:
        assert send(server, "POST", UPLOAD, upload_body()) == 400
        assert server.contract.violations() == []


def test_a_wrong_reply_from_the_sandbox_fails_the_test() -> None:
    server = KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID).start()
    seed_file(server, FRANK_DOE_ID, "cv.pdf", b"%PDF", created_at="yesterday")
    send(server, "GET", UPLOAD, user_agent="Python-urllib/3")

    with pytest.raises(AssertionError) as caught:
        server.stop()

    assert "body at data.results[0].remote_created_at: 'yesterday' is not a 'date-time'" in str(
        caught.value
    )


def test_a_rule_a_test_breaks_on_purpose_can_be_tolerated() -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        seed_file(server, FRANK_DOE_ID, "cv.pdf", b"%PDF", created_at="yesterday")
        server.contract.tolerate(
            "format", "data.results[*].remote_created_at", "data.results[*].remote_updated_at"
        )
        send(server, "GET", UPLOAD)
        assert server.contract.violations() == []


def test_a_scripted_reply_is_not_judged() -> None:
    with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
        server.queue(ScriptedResponse(200, {"status": "fine"}))
        send(server, "GET", "/v1/check-api-key", drop=("X-Integration-Id",))
        assert server.contract.violations() == []


def test_a_failing_test_is_not_buried_under_violations() -> None:
    with pytest.raises(ZeroDivisionError):  # noqa: SIM117 - the order of exits is the point
        with KomboServer(api_key=API_KEY, integration_id=INTEGRATION_ID) as server:
            send(server, "POST", UPLOAD, upload_body())
            raise ZeroDivisionError


def test_downloads_and_other_bases_are_not_api_calls(kombo_server: KomboServer) -> None:
    stored = seed_file(kombo_server, FRANK_DOE_ID, "cv.pdf", b"%PDF")
    assert isinstance(stored, StoredAttachment)

    send(kombo_server, "GET", f"/files/{stored.id}")
    send(kombo_server, "GET", "/check-api-key", drop=("X-Integration-Id",))

    assert kombo_server.contract.violations() == []
