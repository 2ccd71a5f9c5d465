"""Tests of the strict fake Kombo server itself, using only http.client and sockets."""

# typing.Optional kept for Python 3.9 compatibility, as in recording_server.py.
# ruff: noqa: UP045

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Optional

import pytest

from kombo_cli.sandbox.candidate_shape import full_candidate
from tests.recording_server import (
    DEFAULT_API_KEY,
    DEFAULT_INTEGRATION_ID,
    KomboServer,
    RecordedRequest,
    ScriptedResponse,
    StoredAttachment,
    error_envelope,
)

CANDIDATE_ID = "GRKdd9dibYKKCrmGRSMJf3wu"
APPLICATION_ID = "8Xi6iZrwusZqJmDGXs49GBmJ"
FILE_BYTES = b"%PDF-1.7\n\x00\x01\xff\xfe binary \xe2\x82\xac"
KOMBO_ID = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Reply:
    def __init__(self, response: http.client.HTTPResponse, body: bytes) -> None:
        self.status = response.status
        self.headers = response.getheaders()
        self.body = body

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture
def server() -> Iterator[KomboServer]:
    with KomboServer() as running:
        yield running


def auth_headers(**extra: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {DEFAULT_API_KEY}",
        "X-Integration-Id": DEFAULT_INTEGRATION_ID,
        "Accept": "application/json",
    }
    headers.update(extra)
    return headers


def attachment_body(**attachment: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Frank Doe CV.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "data": base64.b64encode(FILE_BYTES).decode("ascii"),
    }
    fields.update(attachment)
    return {"attachment": {k: v for k, v in fields.items() if v is not _OMIT}}


_OMIT: Any = object()


def send(
    server: KomboServer,
    method: str,
    path: str,
    body: Any = None,
    headers: Optional[dict[str, str]] = None,
    timeout: float = 5.0,
) -> Reply:
    request_headers = auth_headers() if headers is None else headers
    raw: Optional[bytes]
    if body is None:
        raw = None
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = json.dumps(body).encode("utf-8")
        request_headers = {"Content-Type": "application/json", **request_headers}
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=raw, headers=request_headers)
        response = conn.getresponse()
        return Reply(response, response.read())
    finally:
        conn.close()


def post_candidate(server: KomboServer, body: Any, **headers: str) -> Reply:
    path = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    return send(server, "POST", path, body, auth_headers(**headers))


def raw_exchange(server: KomboServer, payload: bytes) -> bytes:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def assert_error(reply: Reply, status: int, code: Optional[str], message_part: str = "") -> None:
    assert reply.status == status, reply.body
    assert reply.header("Content-Type") == "application/json"
    payload = reply.json()
    assert payload["status"] == "error"
    assert set(payload["error"]) == {"code", "title", "message", "log_url"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["message"], str)
    assert message_part in payload["error"]["message"]
    # No link into a dashboard that has no page for a local sandbox's requests.
    assert payload["error"]["log_url"] is None


# -- successful uploads --------------------------------------------------------------------


def test_valid_candidate_post_is_stored_with_exact_bytes(server: KomboServer) -> None:
    body = attachment_body()
    raw = json.dumps(body).encode("utf-8")

    reply = post_candidate(server, raw, **{"Content-Type": "application/json; charset=utf-8"})

    assert reply.status == 200
    assert reply.json() == {"status": "success", "data": {}, "warnings": []}
    assert reply.header("Concurrency-Limit") == "30"
    assert reply.header("Concurrency-Remaining") == "29"
    assert [(a.target_kind, a.target_id, a.name, a.type) for a in server.attachments] == [
        ("candidate", CANDIDATE_ID, "Frank Doe CV.pdf", "CV")
    ]
    stored = server.attachments[0]
    assert stored.data == FILE_BYTES
    assert stored.content_type == "application/pdf"
    assert stored.data_url is None
    assert stored.remote_fields is None
    recorded = server.requests[0]
    assert recorded.method == "POST"
    assert recorded.path == f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    assert recorded.body == raw
    assert recorded.complete is True
    assert recorded.header("authorization") == f"Bearer {DEFAULT_API_KEY}"
    assert recorded.json() == body


def test_recorded_headers_keep_arrival_order(server: KomboServer) -> None:
    send(
        server,
        "GET",
        "/v1/check-api-key",
        headers={"X-First": "1", "Authorization": f"Bearer {DEFAULT_API_KEY}", "X-Last": "2"},
    )

    names = [name for name, _ in server.requests[0].headers]
    assert names.index("X-First") < names.index("Authorization") < names.index("X-Last")
    assert server.requests[0].header("x-last") == "2"
    assert server.requests[0].header("X-Missing") is None


def test_application_route_accepts_oracle_remote_fields(server: KomboServer) -> None:
    remote_fields = {
        "oracle": {
            "override_document_category": "IRC_CANDIDATE_RESUME",
            "multi_post_to_all_current_applications": True,
        },
        "greenhouse": {"post_headers": {"On-Behalf-Of": None}},
        "workable": {"on_behalf_of_user_remote_id": "u-1"},
    }
    body = {**attachment_body(type="COVER_LETTER"), "remote_fields": remote_fields}

    reply = send(server, "POST", f"/v1/ats/applications/{APPLICATION_ID}/attachments", body)

    assert reply.status == 200
    stored = server.attachments[0]
    assert (stored.target_kind, stored.target_id, stored.type) == (
        "application",
        APPLICATION_ID,
        "COVER_LETTER",
    )
    assert stored.remote_fields == remote_fields


def test_data_url_upload_is_stored_without_content_type(server: KomboServer) -> None:
    url = "https://storage.example.com/cv.pdf?X-Amz-Signature=abc"
    reply = post_candidate(server, attachment_body(data=_OMIT, content_type=_OMIT, data_url=url))

    assert reply.status == 200
    stored = server.attachments[0]
    assert (stored.data, stored.data_url, stored.content_type) == (None, url, None)


def test_encoded_id_is_matched_raw_and_stored_decoded() -> None:
    # A candidates file may name a candidate "a/b c"; the sandbox serves it as written.
    with KomboServer(candidates=[full_candidate({"id": "a/b c"})]) as server:
        reply = send(server, "POST", "/v1/ats/candidates/a%2Fb%20c/attachments", attachment_body())

        assert reply.status == 200
        assert server.requests[0].path == "/v1/ats/candidates/a%2Fb%20c/attachments"
        assert server.attachments[0].target_id == "a/b c"


def test_keep_alive_serves_several_requests_on_one_connection(server: KomboServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        statuses = []
        for _ in range(3):
            conn.request("GET", "/v1/check-api-key", headers=auth_headers())
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            assert response.getheader("Connection") != "close"
    finally:
        conn.close()
    assert statuses == [200, 200, 200]


# -- authentication and integration -------------------------------------------------------


def test_wrong_api_key_is_401_and_not_echoed(server: KomboServer) -> None:
    reply = post_candidate(server, attachment_body(), Authorization="Bearer ks_test_WRONGKEY123")

    assert_error(reply, 401, "PLATFORM.AUTHENTICATION_INVALID")
    assert reply.json()["error"]["title"] == "Authentication invalid"
    assert b"WRONGKEY" not in reply.body
    assert server.attachments == []


@pytest.mark.parametrize(
    "value",
    [DEFAULT_API_KEY, f"Bearer  {DEFAULT_API_KEY}", f"Basic {DEFAULT_API_KEY}", "Bearer"],
)
def test_authorization_must_be_exactly_bearer_key(server: KomboServer, value: str) -> None:
    reply = send(server, "GET", "/v1/check-api-key", headers={"Authorization": value})

    assert_error(reply, 401, "PLATFORM.AUTHENTICATION_INVALID")


def test_the_bearer_scheme_is_case_insensitive(server: KomboServer) -> None:
    # RFC 7235; the official SDK passes a key that starts with "bearer " through as it is.
    headers = {"Authorization": f"bearer {DEFAULT_API_KEY}"}
    assert send(server, "GET", "/v1/check-api-key", headers=headers).status == 200


def test_missing_authorization_is_401_even_on_unknown_route(server: KomboServer) -> None:
    reply = send(server, "GET", "/nowhere", headers={})

    assert_error(reply, 401, "PLATFORM.AUTHENTICATION_INVALID", "No API key")


def test_missing_integration_id_is_400_input_invalid(server: KomboServer) -> None:
    # A required parameter left out, as the document marks it: not an unknown integration.
    headers = auth_headers()
    del headers["X-Integration-Id"]
    reply = send(server, "GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments", headers=headers)

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", "X-Integration-Id")


def test_other_integration_id_is_404_integration_not_found(server: KomboServer) -> None:
    reply = post_candidate(server, attachment_body(), **{"X-Integration-Id": "greenhouse:other"})

    assert_error(reply, 404, "PLATFORM.INTEGRATION_NOT_FOUND", "greenhouse:other")
    assert server.attachments == []


def test_check_api_key_needs_no_integration(server: KomboServer) -> None:
    reply = send(
        server, "GET", "/v1/check-api-key", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    )

    assert reply.status == 200
    assert reply.json() == {
        "status": "success",
        "data": {"environment_id": server.environment_id, "customer_id": server.environment_id},
    }
    assert KOMBO_ID.fullmatch(server.environment_id)


def test_check_api_key_rejects_post_with_405(server: KomboServer) -> None:
    reply = send(server, "POST", "/v1/check-api-key", body={})

    assert_error(reply, 405, "PLATFORM.INPUT_INVALID")
    assert reply.header("Allow") == "GET"


# -- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/ats/candidates/../attachments",
        "/v1/ats/candidates/%2e%2e/attachments",
        f"/v1/ats/candidates/{CANDIDATE_ID}/attachments/",
        f"/v1/ats/candidates/{CANDIDATE_ID}/x/attachments",
        f"/ats/candidates/{CANDIDATE_ID}/attachments",
        "/v1/ats/jobs",
    ],
)
def test_paths_outside_the_routes_are_404(server: KomboServer, path: str) -> None:
    reply = send(server, "POST", path, attachment_body())

    assert_error(reply, 404, None, "No route matches")
    assert server.attachments == []


def test_put_on_attachment_route_is_405(server: KomboServer) -> None:
    reply = send(server, "PUT", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments", attachment_body())

    assert_error(reply, 405, "PLATFORM.INPUT_INVALID")
    assert reply.header("Allow") == "GET, POST"


@pytest.mark.parametrize("segment", ["a%zzb", "a%2", 'a"b', "a<b>"])
def test_badly_encoded_id_is_400(server: KomboServer, segment: str) -> None:
    reply = send(server, "POST", f"/v1/ats/candidates/{segment}/attachments", attachment_body())

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", "percent-encoded")
    assert server.attachments == []


def test_raw_non_ascii_id_is_400(server: KomboServer) -> None:
    request = (
        "GET /v1/ats/candidates/caf\u00e9/attachments HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {DEFAULT_API_KEY}\r\n"
        f"X-Integration-Id: {DEFAULT_INTEGRATION_ID}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    response = raw_exchange(server, request)

    assert response.startswith(b"HTTP/1.1 400 ")
    assert b"percent-encoded" in response


def test_query_string_on_attachment_route_is_400(server: KomboServer) -> None:
    reply = send(server, "GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments?page_size=5")

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", "query")


def test_unknown_id_is_404_with_kombo_message() -> None:
    with KomboServer(known_ids={CANDIDATE_ID}) as server:
        ok = post_candidate(server, attachment_body())
        missing = send(
            server, "POST", "/v1/ats/applications/UNKNOWN123/attachments", attachment_body()
        )

    assert ok.status == 200
    assert_error(missing, 404, None)
    assert missing.json()["error"]["title"] == "Not found"
    assert missing.json()["error"]["message"] == (
        "The application with ID 'UNKNOWN123' could not be found."
    )
    assert len(server.attachments) == 1


# -- POST validation -----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonx"])
def test_non_json_content_type_is_415(server: KomboServer, content_type: Optional[str]) -> None:
    headers = auth_headers()
    if content_type is not None:
        headers["Content-Type"] = content_type
    raw = json.dumps(attachment_body()).encode()
    reply = send(
        server, "POST", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments", raw, headers=headers
    )

    assert_error(reply, 415, "PLATFORM.INPUT_INVALID", "application/json")
    assert server.attachments == []


def test_chunked_body_is_411_recorded_and_not_stored(server: KomboServer) -> None:
    raw = json.dumps(attachment_body()).encode()
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            "POST",
            f"/v1/ats/candidates/{CANDIDATE_ID}/attachments",
            body=iter([raw[:10], raw[10:]]),
            headers=auth_headers(**{"Content-Type": "application/json"}),
            encode_chunked=True,
        )
        response = conn.getresponse()
        reply = Reply(response, response.read())
    finally:
        conn.close()

    assert_error(reply, 411, "PLATFORM.INPUT_INVALID", "Content-Length")
    assert reply.header("Connection") == "close"
    assert server.requests[0].header("Transfer-Encoding") == "chunked"
    assert server.requests[0].body == raw
    assert server.attachments == []


def test_post_without_content_length_is_411(server: KomboServer) -> None:
    request = (
        f"POST /v1/ats/candidates/{CANDIDATE_ID}/attachments HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {DEFAULT_API_KEY}\r\n"
        f"X-Integration-Id: {DEFAULT_INTEGRATION_ID}\r\n"
        "Content-Type: application/json\r\n"
        "Connection: close\r\n\r\n"
    ).encode()

    response = raw_exchange(server, request)

    assert response.startswith(b"HTTP/1.1 411 ")
    assert b'"code":"PLATFORM.INPUT_INVALID"' in response


def with_remote_fields(**remote_fields: Any) -> dict[str, Any]:
    return {**attachment_body(), "remote_fields": remote_fields}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"remote_fields": {}}, "Missing required field 'attachment'"),
        ({"attachment": "cv.pdf"}, "'attachment' must be an object"),
        ([attachment_body()], "must be a JSON object"),
        (attachment_body(name=""), "attachment.name"),
        (attachment_body(name=_OMIT), "attachment.name"),
        (attachment_body(type="cv"), "attachment.type"),
        (attachment_body(type="RESUME"), "attachment.type"),
        (attachment_body(data_url="https://x.example/cv.pdf"), "not both"),
        (attachment_body(data=_OMIT), "neither"),
        (attachment_body(data=None), "'attachment.data' must be a string"),
        (attachment_body(content_type=_OMIT), "'attachment.content_type' is required"),
        (attachment_body(content_type="pdf"), "must match"),
        (attachment_body(content_type="image/svg+xml"), "must match"),
        (attachment_body(content_type="application/pdf; charset=x"), "must match"),
        (attachment_body(content_type="application/pdf\n"), "must match"),
        (attachment_body(content_type="application/octet-stream"), "octet-stream"),
        (attachment_body(data="@@@@"), "not valid base64 (the character '@' at offset 0)"),
        (attachment_body(data=_b64(b"ab").rstrip("=")), "is not a multiple of 4"),
        (attachment_body(data=_b64(b"x" * 60)[:40] + "\n" + _b64(b"x" * 60)[40:]), "base64"),
        (attachment_body(data=base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode()), "base64"),
        (attachment_body(data="QR=="), "non-zero padding bits"),
        (attachment_body(data=""), "The attachment data is empty."),
        (
            attachment_body(data=_OMIT, content_type=_OMIT, data_url="ftp://x.example/cv.pdf"),
            "http(s) URL",
        ),
        (
            attachment_body(data=_OMIT, content_type="bad", data_url="https://x.example/cv"),
            "must match",
        ),
        (
            with_remote_fields(greenhouse={"post_headers": {"On-Behalf-Of": 42}}),
            "must be a string or null",
        ),
        (with_remote_fields(greenhouse={"post_headers": None}), "must be an object"),
        (
            with_remote_fields(workable={"on_behalf_of_user_remote_id": 5}),
            "on_behalf_of_user_remote_id",
        ),
        ({**attachment_body(), "remote_fields": None}, "'remote_fields' must be an object"),
    ],
)
def test_invalid_candidate_body_is_400_input_invalid(
    server: KomboServer, body: Any, message_part: str
) -> None:
    reply = post_candidate(server, body)

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", message_part)
    assert server.attachments == []


@pytest.mark.parametrize(
    ("oracle", "message_part"),
    [
        ({"override_document_category": "RESUME"}, "override_document_category"),
        ({"multi_post_to_all_current_applications": 1}, "must be a boolean"),
    ],
)
def test_invalid_oracle_fields_are_400(
    server: KomboServer, oracle: dict[str, Any], message_part: str
) -> None:
    body = with_remote_fields(oracle=oracle)
    reply = send(server, "POST", f"/v1/ats/applications/{APPLICATION_ID}/attachments", body)

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", message_part)


@pytest.mark.parametrize(
    ("raw", "message_part"),
    [
        (b'{"a": "\xff"}', "UTF-8"),
        (b"{not json", "not valid JSON"),
        (b'{"attachment": {}, "attachment": {}}', "duplicate key"),
        (b'{"attachment": NaN}', "not valid JSON"),
        (b"", "The request has no body"),
        (b"  ", "The request body is empty."),
    ],
)
def test_malformed_json_is_400(server: KomboServer, raw: bytes, message_part: str) -> None:
    reply = post_candidate(server, raw, **{"Content-Type": "application/json"})

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", message_part)


# -- listing -------------------------------------------------------------------------------


def test_get_lists_stored_attachments_in_kombo_shape(server: KomboServer) -> None:
    post_candidate(server, attachment_body())
    send(
        server,
        "POST",
        f"/v1/ats/applications/{APPLICATION_ID}/attachments",
        attachment_body(
            name="Letter.docx",
            type="COVER_LETTER",
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    )

    candidate = send(server, "GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments")
    application = send(server, "GET", f"/v1/ats/applications/{APPLICATION_ID}/attachments")
    again = send(server, "GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments")

    assert candidate.status == 200
    assert candidate.header("Concurrency-Limit") == "30"
    payload = candidate.json()
    assert payload["status"] == "success"
    assert payload["warnings"] == []
    [item] = payload["data"]["results"]
    assert list(item) == [
        "id",
        "application_id",
        "candidate_id",
        "type",
        "remote_id",
        "data_url",
        "file_name",
        "content_type",
        "remote_created_at",
        "remote_updated_at",
    ]
    assert KOMBO_ID.fullmatch(item["id"])
    assert item["application_id"] is None
    assert item["candidate_id"] == CANDIDATE_ID
    assert (item["type"], item["file_name"], item["content_type"]) == (
        "CV",
        "Frank Doe CV.pdf",
        "application/pdf",
    )
    # Served by the sandbox itself, under the origin the request reached it at.
    assert item["data_url"] == f"{server.url}/files/{item['id']}"
    assert ISO_Z.fullmatch(item["remote_created_at"])
    assert ISO_Z.fullmatch(item["remote_updated_at"])
    assert again.json() == payload

    [app_item] = application.json()["data"]["results"]
    assert "application_id" not in app_item
    assert "candidate_id" not in app_item
    assert app_item["file_name"] == "Letter.docx"
    assert app_item["type"] == "COVER_LETTER"


def test_get_lists_attachments_seeded_by_a_test(server: KomboServer) -> None:
    server.attachments.append(
        StoredAttachment(
            target_kind="candidate", target_id=CANDIDATE_ID, name="old.pdf", type="OTHER"
        )
    )

    reply = send(server, "GET", f"/v1/ats/candidates/{CANDIDATE_ID}/attachments")
    empty = send(server, "GET", f"/v1/ats/candidates/{APPLICATION_ID}/attachments")

    assert [r["file_name"] for r in reply.json()["data"]["results"]] == ["old.pdf"]
    assert empty.json()["data"]["results"] == []


def test_get_with_a_body_is_400(server: KomboServer) -> None:
    path = f"/v1/ats/candidates/{CANDIDATE_ID}/attachments"
    reply = send(server, "GET", path, b"{}", auth_headers(**{"Content-Type": "application/json"}))

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", "must not have a body")


# -- scripted responses --------------------------------------------------------------------


def test_queued_html_503_is_returned_verbatim_then_normal_handling(server: KomboServer) -> None:
    html = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n"
    server.queue(ScriptedResponse(status=503, body=html, headers={"Content-Type": "text/html"}))

    first = post_candidate(server, attachment_body())
    second = post_candidate(server, attachment_body())

    assert (first.status, first.body, first.header("Content-Type")) == (503, html, "text/html")
    assert first.header("Content-Length") == str(len(html))
    assert second.status == 200
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body
    assert len(server.attachments) == 1


def test_queued_dict_body_is_sent_as_json(server: KomboServer) -> None:
    envelope = error_envelope(
        "Too many requests",
        "PLATFORM.RATE_LIMIT_EXCEEDED",
        "Rate limit exceeded",
        log_url_value=None,
    )
    server.queue(ScriptedResponse(status=429, body=envelope, headers={"Retry-After": "2"}))

    reply = send(server, "GET", "/v1/check-api-key")

    assert_error(reply, 429, "PLATFORM.RATE_LIMIT_EXCEEDED", "Too many requests")
    assert reply.header("Retry-After") == "2"
    assert reply.json() == envelope


def test_store_true_stores_then_answers_500(server: KomboServer) -> None:
    server.queue(ScriptedResponse(status=500, body=b"upstream failed", store=True))

    reply = post_candidate(server, attachment_body())

    assert (reply.status, reply.body) == (500, b"upstream failed")
    assert [a.data for a in server.attachments] == [FILE_BYTES]


def test_store_true_with_invalid_body_answers_the_validation_error(server: KomboServer) -> None:
    server.queue(ScriptedResponse(status=500, store=True))

    reply = post_candidate(server, attachment_body(type="PHOTO"))
    after = post_candidate(server, attachment_body())

    assert_error(reply, 400, "PLATFORM.INPUT_INVALID", "attachment.type")
    assert after.status == 200  # the script was used up by the failed request
    assert len(server.attachments) == 1


def test_drop_connection_gives_client_a_connection_error(server: KomboServer) -> None:
    server.queue(ScriptedResponse(drop_connection=True, store=True))

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        post_candidate(server, attachment_body())

    assert len(server.requests) == 1
    assert len(server.attachments) == 1
    assert send(server, "GET", "/v1/check-api-key").status == 200


def test_delay_makes_client_time_out_and_stop_is_prompt() -> None:
    server = KomboServer().start()
    server.queue(ScriptedResponse(delay_s=30, store=True))
    try:
        with pytest.raises(socket.timeout):
            send(
                server,
                "POST",
                f"/v1/ats/candidates/{CANDIDATE_ID}/attachments",
                attachment_body(),
                timeout=0.2,
            )
        assert len(server.attachments) == 1
    finally:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.5


def test_latency_delays_every_reply() -> None:
    with KomboServer(latency_s=0.2) as server:
        started = time.monotonic()
        reply = send(server, "GET", "/v1/check-api-key")
        elapsed = time.monotonic() - started

    assert reply.status == 200
    assert elapsed >= 0.2


def test_concurrency_remaining_counts_requests_in_flight() -> None:
    with KomboServer(latency_s=0.3, concurrency_limit=2) as server:
        replies: list[Reply] = []
        lock = threading.Lock()

        def upload() -> None:
            reply = post_candidate(server, attachment_body())
            with lock:
                replies.append(reply)

        threads = [threading.Thread(target=upload) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)

    assert sorted(r.status for r in replies) == [200, 200, 429]
    [rejected] = [r for r in replies if r.status == 429]
    assert rejected.json()["error"]["code"] == "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"
    # Whichever accepted upload answers first does so while the other is still in flight.
    remaining = sorted(r.header("Concurrency-Remaining") or "" for r in replies if r.status == 200)
    assert remaining[0] == "0"
    assert set(remaining) <= {"0", "1"}
    assert len(server.attachments) == 2


# -- framing and bookkeeping ---------------------------------------------------------------


def test_client_closing_mid_body_is_recorded_partial_and_not_stored(server: KomboServer) -> None:
    raw = json.dumps(attachment_body()).encode()
    head = (
        f"POST /v1/ats/candidates/{CANDIDATE_ID}/attachments HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {DEFAULT_API_KEY}\r\n"
        f"X-Integration-Id: {DEFAULT_INTEGRATION_ID}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(raw)}\r\n\r\n"
    ).encode()

    response = raw_exchange_half(server, head + raw[:20])
    server.wait_for_requests(1)

    assert response == b""
    recorded: RecordedRequest = server.requests[0]
    assert (recorded.body, recorded.complete) == (raw[:20], False)
    assert server.attachments == []


def raw_exchange_half(server: KomboServer, payload: bytes) -> bytes:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        return sock.recv(65536)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [(b"GARBAGE", b"400"), (b"BR\x01EW /v1/check-api-key HTTP/1.1", b"400")],
)
def test_malformed_requests_get_the_error_envelope(
    server: KomboServer, request_line: bytes, status: bytes
) -> None:
    response = raw_exchange(server, request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")

    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 " + status + b" ")
    assert json.loads(body)["status"] == "error"


def test_wait_for_requests_raises_assertion_error_on_timeout(server: KomboServer) -> None:
    send(server, "GET", "/v1/check-api-key")

    server.wait_for_requests(1, timeout=0.1)
    with pytest.raises(AssertionError, match="expected at least 2 request"):
        server.wait_for_requests(2, timeout=0.05)


def test_urls_point_at_the_running_server(server: KomboServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert server.base_url == server.url + "/v1"
    assert server.errors == []
