"""Kombo's official Python SDK, pointed at the sandbox, is the judge of fidelity.

The SDK checks every response against Kombo's own models, so a missing field or a wrong
type in the sandbox fails here exactly as it would fail a team testing their code with it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
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
