"""Kombo's official Python SDK, pointed at the sandbox, is the judge of fidelity.

The SDK checks every response against Kombo's own models, so a missing field or a wrong
type in the sandbox fails here exactly as it would fail a team testing their code with it.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.sample_candidates import FRANK_DOE_APPLICATION_ID, FRANK_DOE_ID
from kombo_cli.sandbox.server import SandboxServer

kombo = pytest.importorskip("kombo", reason="the official SDK is a test extra for Python 3.10+")

PDF = b"%PDF-1.4\n%sample\n%%EOF\n"


@pytest.fixture
def sdk(tmp_path: Path) -> Iterator[tuple[object, SandboxServer]]:
    with SandboxServer(SandboxConfig(data_dir=tmp_path)) as server:
        client = kombo.Kombo(
            api_key="sandbox-key", integration_id="sandbox:local", server_url=server.base_url
        )
        yield client, server


def attachment(name: str) -> dict[str, str]:
    return {
        "name": name,
        "type": "CV",
        "content_type": "application/pdf",
        "data": base64.b64encode(PDF).decode(),
    }


def test_check_api_key(sdk) -> None:  # type: ignore[no-untyped-def]
    client, server = sdk
    # The reply also carries the deprecated `customer_id` Kombo's document requires, which
    # this SDK does not model; it must not mind.
    response = client.general.check_api_key()
    assert response.data.environment_id == server.environment_id


def test_get_integration_details_shows_the_attachment_actions(sdk) -> None:  # type: ignore[no-untyped-def]
    client, _server = sdk
    response = client.general.get_integration_details(integration_id="sandbox:local")
    actions = {action.id: action for action in response.data.write_actions}
    assert actions["ats_add_candidate_attachment"].is_available is True
    assert actions["ats_add_application_attachment"].is_available is True


def test_candidate_attachment_round_trip(sdk) -> None:  # type: ignore[no-untyped-def]
    client, server = sdk
    client.ats.add_candidate_attachment(candidate_id=FRANK_DOE_ID, attachment=attachment("cv.pdf"))
    listing = client.ats.get_candidate_attachments(candidate_id=FRANK_DOE_ID)

    [item] = listing.data.results
    assert (item.file_name, item.candidate_id, item.content_type) == (
        "cv.pdf",
        FRANK_DOE_ID,
        "application/pdf",
    )
    assert server.store.all()[0].data == PDF


def test_application_attachment_round_trip(sdk) -> None:  # type: ignore[no-untyped-def]
    client, server = sdk
    client.ats.add_application_attachment(
        application_id=FRANK_DOE_APPLICATION_ID,
        attachment=attachment("letter.pdf"),
        remote_fields={"greenhouse": {"post_headers": {"On-Behalf-Of": None}}},
    )
    listing = client.ats.get_application_attachments(application_id=FRANK_DOE_APPLICATION_ID)

    assert [item.file_name for item in listing.data.results] == ["letter.pdf"]
    assert server.store.all()[0].remote_fields == {
        "greenhouse": {"post_headers": {"On-Behalf-Of": None}}
    }


def test_get_candidates_by_email_is_case_insensitive(sdk) -> None:  # type: ignore[no-untyped-def]
    client, _server = sdk
    page = client.ats.get_candidates(email="FRANK.DOE@example.com")

    assert [candidate.id for candidate in page.result.data.results] == [FRANK_DOE_ID]
    assert page.result.data.next is None


def test_get_candidates_pages_with_the_cursor(sdk) -> None:  # type: ignore[no-untyped-def]
    client, server = sdk
    page = client.ats.get_candidates(page_size=1)
    seen = []
    while page is not None:
        seen += [candidate.id for candidate in page.result.data.results]
        page = page.next()
    assert seen == [candidate["id"] for candidate in server.candidates]


def test_updated_after_as_the_sdk_sends_a_naive_or_a_utc_datetime(sdk) -> None:  # type: ignore[no-untyped-def]
    client, server = sdk
    # The SDK sends a naive datetime without "Z" and a UTC one with it: the document's
    # pattern takes both.
    for moment in (datetime(2020, 1, 1), datetime(2020, 1, 1, tzinfo=timezone.utc)):
        page = client.ats.get_candidates(updated_after=moment)
        assert len(page.result.data.results) == len(server.candidates)


def test_refusals_reach_sdk_users_as_kombo_errors(sdk) -> None:  # type: ignore[no-untyped-def]
    client, _server = sdk
    # The pattern has no offset but Z; an ID of another shape than Kombo's names nothing.
    with pytest.raises(kombo.errors.KomboAtsError) as offset:
        client.ats.get_candidates(
            updated_after=datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=2)))
        )
    with pytest.raises(kombo.errors.KomboAtsError) as email:
        client.ats.get_candidates(email="notanemail")
    with pytest.raises(kombo.errors.KomboAtsError) as missing:
        client.ats.get_candidate_attachments(candidate_id="C1")

    assert (offset.value.status_code, offset.value.data.error.code) == (
        400,
        "PLATFORM.INPUT_INVALID",
    )
    assert (email.value.status_code, email.value.data.error.code) == (400, "PLATFORM.INPUT_INVALID")
    assert missing.value.status_code == 404


def test_an_upload_reply_naming_ignored_fields_is_accepted_by_the_sdk(sdk) -> None:  # type: ignore[no-untyped-def]
    from kombo import models
    from kombo.utils import unmarshal_json

    _client, server = sdk
    # The SDK itself drops fields it does not model, so the body is sent by hand; the reply
    # is then parsed as the SDK parses it.
    body = {"attachment": attachment("cv.pdf"), "candidate_id": FRANK_DOE_ID}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request(
        "POST",
        f"/v1/ats/candidates/{FRANK_DOE_ID}/attachments",
        body=json.dumps(body).encode(),
        headers={
            "Authorization": "Bearer sandbox-key",
            "X-Integration-Id": "sandbox:local",
            "Content-Type": "application/json",
        },
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()

    assert response.status == 200
    parsed = unmarshal_json(text, models.PostAtsCandidatesCandidateIDAttachmentsPositiveResponse)
    [warning] = parsed.warnings
    assert warning.message.startswith("Ignored 'candidate_id'")
