"""The sandbox against Kombo's OpenAPI document: as strict as Kombo where the document or
the docs state a rule, and as docs/sandbox.md decides where they do not."""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kombo_cli.sandbox.candidate_shape import full_candidate
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.sample_candidates import FRANK_DOE_APPLICATION_ID, sample_candidates
from kombo_cli.sandbox.server import SandboxServer

KEY = "sandbox-key"
INTEGRATION = "sandbox:local"
# In Kombo's format, and no sample's: without --strict-ids such an ID exists, with no files.
CANDIDATE = "GRKdd9dibYKKCrmGRSMJf3wu"
DOCUMENT = Path(__file__).parent / "contract" / "kombo-openapi.json"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(data_dir=tmp_path / "data")) as server:
        yield server


def request(
    server: SandboxServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, http.client.HTTPResponse, Any]:
    sent = {"Authorization": f"Bearer {KEY}", "X-Integration-Id": INTEGRATION}
    raw = None
    if body is not None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, body=raw, headers=sent)
        response = connection.getresponse()
        text = response.read()
        return response.status, response, json.loads(text) if text else None
    finally:
        connection.close()


def attachment(**fields: Any) -> dict[str, Any]:
    body = {
        "name": "cv.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "data": base64.b64encode(b"%PDF-1.4").decode(),
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def document_schema(*pointer: str) -> Any:
    node = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    for key in pointer:
        node = node[key]
    return node


# -- ids --------------------------------------------------------------------------------------


# No 0, O, I or l in base58; 23 or 25 characters are the wrong length.
@pytest.mark.parametrize(
    "target", ["C1", "frank.doe%40example.com", "1001", "l" * 24, "0" * 24, "a" * 23, "a" * 25]
)
def test_an_id_kombo_could_not_have_given_out_is_404(sandbox: SandboxServer, target: str) -> None:
    status, _, payload = request(sandbox, "GET", f"/v1/ats/candidates/{target}/attachments")
    assert status == 404
    assert payload["error"]["message"].startswith("The candidate with ID")
    # Not the wording of a path that is no route: kombo would blame the base URL.
    assert "route" not in payload["error"]["message"]

    status, _, _ = request(
        sandbox, "POST", f"/v1/ats/candidates/{target}/attachments", {"attachment": attachment()}
    )
    assert status == 404
    assert sandbox.store.all() == []


def test_any_id_in_kombo_format_exists_without_strict_ids(sandbox: SandboxServer) -> None:
    path = f"/v1/ats/candidates/{CANDIDATE}/attachments"
    assert request(sandbox, "POST", path, {"attachment": attachment()})[0] == 200
    status, _, payload = request(sandbox, "GET", path)
    assert status == 200
    [item] = payload["data"]["results"]
    assert item["candidate_id"] == CANDIDATE


def test_a_candidates_file_id_exists_as_written(tmp_path: Path) -> None:
    candidates = [full_candidate({"id": "cand-ada-1", "applications": [{"id": "app-ada-1"}]})]
    with SandboxServer(SandboxConfig(data_dir=tmp_path, candidates=candidates)) as server:
        upload = {"attachment": attachment()}
        path = "/v1/ats/applications/app-ada-1/attachments"
        assert request(server, "POST", path, upload)[0] == 200
        status, _, payload = request(server, "GET", "/v1/ats/candidates/cand-ada-1/attachments")
    assert status == 200
    assert payload["data"]["results"][0]["application_id"] == "app-ada-1"


# -- the sample candidates ----------------------------------------------------------------------


def test_every_sample_email_matches_the_documents_pattern() -> None:
    item = document_schema(
        "components", "schemas", "GetAtsCandidatesPositiveResponse", "properties", "data"
    )["properties"]["results"]["items"]
    pattern = item["properties"]["email_addresses"]["items"]["properties"]["email_address"]
    # The document's pattern is ECMA-262; with ASCII classes Python reads it the same way.
    rule = re.compile(pattern["pattern"], re.ASCII)
    addresses = [
        entry["email_address"]
        for candidate in sample_candidates()
        for entry in candidate["email_addresses"]
    ]
    assert addresses and all(rule.search(address) for address in addresses), addresses


def test_the_mixed_case_sample_is_still_found_in_any_case(sandbox: SandboxServer) -> None:
    status, _, payload = request(
        sandbox, "GET", "/v1/ats/candidates?email=MARIA.GARCIA%40EXAMPLE.COM"
    )
    assert status == 200
    assert [c["first_name"] for c in payload["data"]["results"]] == ["Maria"]


# -- GET /ats/candidates --------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["", "notanemail", "a%40b", "%40example.com", "a%20b%40x.com"])
def test_an_email_filter_that_is_no_address_is_400(sandbox: SandboxServer, email: str) -> None:
    status, _, payload = request(sandbox, "GET", f"/v1/ats/candidates?email={email}")
    assert status == 400
    assert payload["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert "'email'" in payload["error"]["message"]


@pytest.mark.parametrize("email", ["a!b%40x.example", "o'neil%40x.io", "x%2By%40a-b.c.dev"])
def test_any_rfc_5322_address_is_a_valid_email_filter(sandbox: SandboxServer, email: str) -> None:
    status, _, payload = request(sandbox, "GET", f"/v1/ats/candidates?email={email}")
    assert (status, payload["data"]["results"]) == (200, [])


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-31T12:00:00.000Z",
        "2026-01-31T12:00:00Z",
        "2026-01-31T12:00:00.123456789Z",
        "2016-12-31T23:59:60Z",
        # The pattern takes these too, though `format: date-time` alone would not.
        "2026-01-31T12:00:00",
        "2026-01-31",
    ],
)
def test_updated_after_takes_what_the_documents_pattern_does(
    sandbox: SandboxServer, value: str
) -> None:
    status, _, _ = request(sandbox, "GET", f"/v1/ats/candidates?updated_after={value}")
    assert status == 200


@pytest.mark.parametrize(
    "value",
    [
        # Offsets other than Z, which the old check took: the pattern has none.
        "2026-01-31T12:00:00%2B02:00",
        "2026-01-31T12:00:00-05:00",
        "2026-01-31t12:00:00z",
        "2026-01-31T12:00Z",
        "2026-02-30T12:00:00Z",
        "2026-01-31T24:00:00Z",
        "yesterday",
    ],
)
def test_updated_after_refuses_what_the_documents_pattern_does(
    sandbox: SandboxServer, value: str
) -> None:
    status, _, payload = request(sandbox, "GET", f"/v1/ats/candidates?updated_after={value}")
    assert status == 400
    assert "'updated_after'" in payload["error"]["message"]


def test_updated_after_compares_times_not_text(tmp_path: Path) -> None:
    candidates = [
        full_candidate({"id": "early", "changed_at": "2026-01-01T00:00:00.100Z"}),
        full_candidate({"id": "late", "changed_at": "2026-01-01T00:00:00.900Z"}),
    ]
    with SandboxServer(SandboxConfig(data_dir=tmp_path, candidates=candidates)) as server:
        # As text, ".5Z" sorts after ".900Z"; as times it lies between the two.
        _, _, payload = request(
            server, "GET", "/v1/ats/candidates?updated_after=2026-01-01T00:00:00.5Z"
        )
        _, _, day = request(server, "GET", "/v1/ats/candidates?updated_after=2026-01-01")
    assert [c["id"] for c in payload["data"]["results"]] == ["late"]
    assert [c["id"] for c in day["data"]["results"]] == ["early", "late"]


def test_an_empty_cursor_is_the_first_page(sandbox: SandboxServer) -> None:
    status, _, first = request(sandbox, "GET", "/v1/ats/candidates?page_size=2&cursor=")
    _, _, plain = request(sandbox, "GET", "/v1/ats/candidates?page_size=2")
    assert status == 200
    assert first == plain


# -- headers and methods -----------------------------------------------------------------------


def test_a_missing_integration_id_is_an_input_error(sandbox: SandboxServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=30)
    connection.request("GET", "/v1/ats/candidates", headers={"Authorization": f"Bearer {KEY}"})
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    assert response.status == 400
    assert payload["error"]["code"] == "PLATFORM.INPUT_INVALID"


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "BREW", "PUT", "DELETE"])
@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/check-api-key", "GET"),
        ("/v1/integrations/sandbox:local", "GET"),
        ("/v1/ats/candidates", "GET"),
        (f"/v1/ats/candidates/{CANDIDATE}/attachments", "GET, POST"),
        (f"/v1/ats/applications/{FRANK_DOE_APPLICATION_ID}/attachments", "GET, POST"),
    ],
)
def test_another_method_on_a_known_path_is_405_with_allow(
    sandbox: SandboxServer, method: str, path: str, allow: str
) -> None:
    status, response, payload = request(sandbox, method, path)
    assert status == 405
    assert response.getheader("Allow") == allow
    assert payload["status"] == "error"
    assert set(payload["error"]) == {"code", "title", "message", "log_url"}


@pytest.mark.parametrize("method", ["GET", "TRACE", "QUERY"])
def test_any_method_on_an_unknown_path_is_404_in_kombos_envelope(
    sandbox: SandboxServer, method: str
) -> None:
    status, _, payload = request(sandbox, method, "/v1/ats/jobs")
    assert status == 404
    assert payload["status"] == "error"
    assert payload["error"]["message"] == f"No route matches {method} /v1/ats/jobs."


# -- POST .../attachments ------------------------------------------------------------------------


def test_a_post_without_a_body_is_400_not_415(sandbox: SandboxServer) -> None:
    path = f"/v1/ats/candidates/{CANDIDATE}/attachments"
    status, _, payload = request(sandbox, "POST", path, headers={"Content-Length": "0"})
    assert status == 400
    assert payload["error"]["code"] == "PLATFORM.INPUT_INVALID"
    assert "no body" in payload["error"]["message"]


@pytest.mark.parametrize(
    ("body", "kind", "ignored"),
    [
        # Kombo's own docs example sends the target's ID in the body too.
        ({"candidate_id": CANDIDATE}, "candidates", "candidate_id"),
        ({"attachment": attachment(size=3)}, "candidates", "attachment.size"),
        ({"remote_fields": {"lever": {"x": 1}}}, "candidates", "remote_fields.lever"),
        (
            {"remote_fields": {"oracle": {"override_document_category": "MISC"}}},
            "candidates",
            "remote_fields.oracle",
        ),
        (
            {"remote_fields": {"greenhouse": {"post_headers": {"on_behalf_of": None}}}},
            "candidates",
            "remote_fields.greenhouse.post_headers.on_behalf_of",
        ),
        (
            {"remote_fields": {"oracle": {"extra": True}}},
            "applications",
            "remote_fields.oracle.extra",
        ),
    ],
)
def test_fields_kombo_does_not_document_are_accepted_and_named_in_warnings(
    sandbox: SandboxServer, body: dict[str, Any], kind: str, ignored: str
) -> None:
    target = CANDIDATE if kind == "candidates" else FRANK_DOE_APPLICATION_ID
    full = {"attachment": attachment(), **body}
    status, _, payload = request(sandbox, "POST", f"/v1/ats/{kind}/{target}/attachments", full)
    assert status == 200
    [warning] = payload["warnings"]
    assert warning["message"].startswith(f"Ignored '{ignored}':")
    assert len(sandbox.store.all()) == 1


def test_a_body_of_many_stray_fields_gets_a_few_warnings(sandbox: SandboxServer) -> None:
    body = {"attachment": attachment(), **{f"extra{n}": n for n in range(25)}}
    path = f"/v1/ats/candidates/{CANDIDATE}/attachments"
    status, _, payload = request(sandbox, "POST", path, body)
    assert status == 200
    assert len(payload["warnings"]) == 11
    assert payload["warnings"][-1]["message"] == "15 more fields were ignored."


def test_a_documented_field_of_the_wrong_type_is_still_refused(sandbox: SandboxServer) -> None:
    body = {"attachment": attachment(), "remote_fields": {"workable": {"extra": 1}}}
    body["remote_fields"]["greenhouse"] = {"post_headers": {"On-Behalf-Of": 5}}
    path = f"/v1/ats/candidates/{CANDIDATE}/attachments"
    status, _, payload = request(sandbox, "POST", path, body)
    assert status == 400
    assert "On-Behalf-Of" in payload["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/a b.pdf",
        "https://x.example/cv\u00e9.pdf",
        "https://x.example/%zz",
        "https://x.example/a#b#c",
        "https://x.example:99999/cv.pdf",
        "https://[::1/cv.pdf",
        "https:///cv.pdf",
        "https://x.example/<cv>.pdf",
        "//x.example/cv.pdf",
        "ftp://x.example/cv.pdf",
    ],
)
def test_a_data_url_that_is_no_uri_is_400(sandbox: SandboxServer, url: str) -> None:
    body = {"attachment": attachment(data=None, content_type=None, data_url=url)}
    status, _, payload = request(
        sandbox, "POST", f"/v1/ats/candidates/{CANDIDATE}/attachments", body
    )
    assert status == 400
    assert "'attachment.data_url'" in payload["error"]["message"]


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.example.com/cv.pdf?X-Amz-Signature=a%2Fb&x=1",
        "HTTP://user:pw@[::1]:8080/a/b;c=d/cv%20final.pdf#page=2",
        "https://0.com",
    ],
)
def test_a_data_url_that_is_an_http_uri_is_stored(sandbox: SandboxServer, url: str) -> None:
    body = {"attachment": attachment(data=None, content_type=None, data_url=url)}
    status, _, _ = request(sandbox, "POST", f"/v1/ats/candidates/{CANDIDATE}/attachments", body)
    assert status == 200
    assert [a.data_url for a in sandbox.store.all()] == [url]


# -- GET /check-api-key --------------------------------------------------------------------------


def test_check_api_key_gives_the_deprecated_customer_id_the_document_requires(
    sandbox: SandboxServer,
) -> None:
    schema = document_schema("components", "schemas", "GetCheckApiKeyPositiveResponse")
    status, _, payload = request(sandbox, "GET", "/v1/check-api-key")
    assert status == 200
    assert set(schema["properties"]["data"]["required"]) <= set(payload["data"])
    assert payload["data"]["customer_id"] == payload["data"]["environment_id"]
