"""The judge itself: it passes what Kombo's document allows and names what it does not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.contract.ecma_regex import ecma_regex
from tests.contract.openapi import Contract, kombo_contract
from tests.contract.verdict import Violation

CANDIDATE = "GRKdd9dibYKKCrmGRSMJf3wu"
UPLOAD = f"/v1/ats/candidates/{CANDIDATE}/attachments"
APPLICATION_UPLOAD = "/v1/ats/applications/8Xi6iZrwusZqJmDGXs49GBmJ/attachments"
SEARCH = "/v1/ats/candidates"
JSON = ("Content-Type", "application/json")
AUTH = ("Authorization", "Bearer ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1")
INTEGRATION = ("X-Integration-Id", "test:integration")
SCOPED = [AUTH, INTEGRATION]


def body(**attachment: Any) -> bytes:
    fields: dict[str, Any] = {
        "name": "cv.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "data": "JVBERi0xLjQK",
    }
    fields.update(attachment)
    return json.dumps({"attachment": {k: v for k, v in fields.items() if v is not None}}).encode()


def request(
    method: str,
    target: str,
    headers: list[tuple[str, str]] | None = None,
    payload: bytes = b"",
) -> list[Violation]:
    return kombo_contract().check_request(
        method, target, SCOPED if headers is None else headers, payload
    )


def upload(payload: bytes, target: str = UPLOAD) -> list[Violation]:
    return request("POST", target, [*SCOPED, JSON], payload)


def rules(violations: list[Violation]) -> list[tuple[str, str, str]]:
    return [(v.where, v.path, v.rule) for v in violations]


# -- requests kombo makes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "headers", "payload"),
    [
        ("POST", UPLOAD, [*SCOPED, JSON], body()),
        ("POST", APPLICATION_UPLOAD, [*SCOPED, JSON], body()),
        (
            "POST",
            UPLOAD,
            [*SCOPED, JSON],
            body(data=None, content_type=None, data_url="https://files.example/cv.pdf"),
        ),
        ("GET", UPLOAD, SCOPED, b""),
        ("GET", APPLICATION_UPLOAD, SCOPED, b""),
        (
            "GET",
            f"{SEARCH}?email=frank.doe%40example.com&page_size=50&ignore_unsupported_filters=false",
            SCOPED,
            b"",
        ),
        (
            "GET",
            f"{SEARCH}?email=frank.doe%40example.com&page_size=50&cursor=eyJvIjo1MH0%3D",
            SCOPED,
            b"",
        ),
        (
            "GET",
            f"{SEARCH}?ids=a%2Cb&include_deleted=true&updated_after=2026-01-31T12%3A00%3A00.000Z",
            SCOPED,
            b"",
        ),
        ("GET", "/v1/check-api-key", [AUTH], b""),
        ("GET", "/v1/integrations/test:integration", [AUTH], b""),
        ("GET", "/v1/integrations/test%3Aintegration", [AUTH], b""),
        # Percent-encoded IDs are one path segment, decoded before they are judged.
        ("GET", "/v1/ats/candidates/a%2Fb%20c/attachments", SCOPED, b""),
        # The scheme is case-insensitive; header names too.
        ("GET", UPLOAD, [("authorization", "bearer abc"), ("x-integration-id", "x:y")], b""),
    ],
)
def test_requests_that_keep_to_the_document_pass(
    method: str, target: str, headers: list[tuple[str, str]], payload: bytes
) -> None:
    assert request(method, target, headers, payload) == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (body(content_type="image/svg+xml"), ("body", "attachment.content_type", "pattern")),
        (
            body(content_type="application/pdf; charset=binary"),
            ("body", "attachment.content_type", "pattern"),
        ),
        # ECMA-262's \w is ASCII and its $ is the very end, unlike Python's.
        (body(content_type="application/pdfé"), ("body", "attachment.content_type", "pattern")),
        (body(content_type="application/pdf\n"), ("body", "attachment.content_type", "pattern")),
        (
            body(data=None, content_type=None, data_url="https://bücher.example/cv.pdf"),
            ("body", "attachment.data_url", "format"),
        ),
        (
            body(
                data=None, content_type=None, data_url="https://files.example/Lebenslauf Müller.pdf"
            ),
            ("body", "attachment.data_url", "format"),
        ),
        (
            body(data=None, content_type=None, data_url="files.example/cv.pdf"),
            ("body", "attachment.data_url", "format"),
        ),
        (body(type="RESUME"), ("body", "attachment.type", "enum")),
        (body(name=None), ("body", "attachment", "required")),
        (body(data=12), ("body", "attachment.data", "type")),
        (json.dumps({"remote_fields": {}}).encode(), ("body", "", "required")),
        (
            json.dumps(
                {
                    "attachment": {"name": "a", "type": "CV"},
                    "remote_fields": {"oracle": {"multi_post_to_all_current_applications": "yes"}},
                }
            ).encode(),
            ("body", "remote_fields.oracle.multi_post_to_all_current_applications", "type"),
        ),
        (b'{"attachment": {"name": "a", "type": "CV", "type": "OTHER"}}', ("body", "", "json")),
        (b'{"attachment": {"name": "a", "type": "CV", "data": NaN}}', ("body", "", "json")),
        (b'{"attachment": {"name": "\xff", "type": "CV"}}', ("body", "", "json")),
    ],
)
def test_a_wrong_upload_body_is_named(payload: bytes, expected: tuple[str, str, str]) -> None:
    found = upload(payload, APPLICATION_UPLOAD)

    assert expected in rules(found)


def test_oracle_remote_fields_are_only_the_applications() -> None:
    remote = {"oracle": {"override_document_category": "NOPE"}}
    payload = json.dumps(
        {"attachment": {"name": "a", "type": "CV"}, "remote_fields": remote}
    ).encode()

    # The candidate route's remote_fields has no `oracle`; unknown keys are allowed there.
    assert upload(payload) == []
    assert rules(upload(payload, APPLICATION_UPLOAD)) == [
        ("body", "remote_fields.oracle.override_document_category", "enum")
    ]


@pytest.mark.parametrize(
    ("headers", "payload", "expected"),
    [
        ([AUTH, JSON], body(), ("header X-Integration-Id", "", "required")),
        ([INTEGRATION, JSON], body(), ("header Authorization", "", "security")),
        (
            [("Authorization", "Basic abc"), INTEGRATION, JSON],
            body(),
            ("header Authorization", "", "security"),
        ),
        (
            [("Authorization", "Bearer "), INTEGRATION, JSON],
            body(),
            ("header Authorization", "", "security"),
        ),
        ([AUTH, AUTH, INTEGRATION, JSON], body(), ("header Authorization", "", "security")),
        ([*SCOPED, INTEGRATION, JSON], body(), ("header X-Integration-Id", "", "header")),
        ([*SCOPED, ("Content-Type", "text/plain")], body(), ("header Content-Type", "", "content")),
        (
            [*SCOPED, ("Content-Type", "application/json; charset=latin-1")],
            body(),
            ("header Content-Type", "", "content"),
        ),
        ([*SCOPED], body(), ("header Content-Type", "", "content")),
        ([*SCOPED, JSON], b"{}", ("body", "", "required")),
    ],
)
def test_wrong_headers_are_named(
    headers: list[tuple[str, str]], payload: bytes, expected: tuple[str, str, str]
) -> None:
    assert expected in rules(request("POST", UPLOAD, headers, payload))


@pytest.mark.parametrize(
    ("target", "headers", "expected"),
    [
        (f"{SEARCH}?email=frank.doe@example.com", SCOPED, ("query email", "", "encoding")),
        (f"{SEARCH}?email=frank.doe", SCOPED, ("query email", "", "format")),
        (f"{SEARCH}?email=", SCOPED, ("query email", "", "allowEmptyValue")),
        (f"{SEARCH}?email=a%40b.com&email=c%40d.com", SCOPED, ("query email", "", "query")),
        (f"{SEARCH}?page_size=500", SCOPED, ("query page_size", "", "maximum")),
        (f"{SEARCH}?page_size=0", SCOPED, ("query page_size", "", "minimum")),
        (f"{SEARCH}?page_size=ten", SCOPED, ("query page_size", "", "type")),
        (f"{SEARCH}?include_deleted=True", SCOPED, ("query include_deleted", "", "enum")),
        (
            f"{SEARCH}?ignore_unsupported_filters=1",
            SCOPED,
            ("query ignore_unsupported_filters", "", "enum"),
        ),
        (f"{SEARCH}?updated_after=2026-01-31", SCOPED, ("query updated_after", "", "format")),
        (
            f"{SEARCH}?updated_after=2026-01-31T12%3A00%3A00%2B01%3A00",
            SCOPED,
            ("query updated_after", "", "pattern"),
        ),
        (f"{SEARCH}?mail=a%40b.com", SCOPED, ("query mail", "", "parameter")),
        (f"{SEARCH}?email=a%40b.com&", SCOPED, ("query", "", "query")),
        (f"{SEARCH}?", SCOPED, ("query", "", "query")),
        (f"{SEARCH}?email=a b", SCOPED, ("query", "", "encoding")),
        (f"{SEARCH}?email=%ff%40b.com", SCOPED, ("query email", "", "encoding")),
        (f"{UPLOAD}?x=1", SCOPED, ("query x", "", "parameter")),
        ("/v1/check-api-key", SCOPED, ("header X-Integration-Id", "", "header")),
        ("/v1/check-api-key?verbose=1", [AUTH], ("query verbose", "", "parameter")),
        (
            "/v1/ats/candidates/kandidat-ü/attachments",
            SCOPED,
            ("path parameter candidate_id", "", "encoding"),
        ),
        (
            "/v1/ats/candidates/%C3%28/attachments",
            SCOPED,
            ("path parameter candidate_id", "", "encoding"),
        ),
        ("/v1/ats/candidate/abc/attachments", SCOPED, ("operation", "", "operation")),
        ("/v1/ats/applications", SCOPED, ("operation", "", "operation")),
    ],
)
def test_wrong_queries_paths_and_operations_are_named(
    target: str, headers: list[tuple[str, str]], expected: tuple[str, str, str]
) -> None:
    assert expected in rules(request("GET", target, headers))


def test_a_get_with_a_body_is_named() -> None:
    assert ("body", "", "requestBody") in rules(request("GET", UPLOAD, SCOPED, b"{}"))


def test_a_method_the_path_does_not_take_is_no_operation() -> None:
    assert rules(request("DELETE", UPLOAD)) == [("operation", "", "operation")]


def test_a_violation_reads_as_operation_place_message_and_rule() -> None:
    (found,) = upload(body(content_type="image/svg+xml"))

    assert str(found) == (
        "POST /ats/candidates/{candidate_id}/attachments (PostAtsCandidatesCandidateIdAttachments):"
        " body at attachment.content_type: 'image/svg+xml' does not match"
        " '^[\\\\w.-]+\\\\/[\\\\w.-]+$' [pattern]"
    )


def test_a_huge_value_is_shortened_in_the_message() -> None:
    (found,) = upload(body(data=None, data_url="x" * 100_000))

    assert len(found.message) < 300


# -- replies -----------------------------------------------------------------------------


def response(
    method: str, target: str, status: int, payload: Any, content_type: str = "application/json"
) -> list[Violation]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return kombo_contract().check_response(
        method, target, status, [("Content-Type", content_type)], raw
    )


def error(code: str | None = "PLATFORM.INPUT_INVALID", log_url: str | None = None) -> Any:
    return {
        "status": "error",
        "error": {"code": code, "title": None, "message": "m", "log_url": log_url},
    }


def listed(**item: Any) -> Any:
    fields: dict[str, Any] = {
        "id": "EYJjhMQT3LtVKXnTbnRT8s6U",
        "application_id": None,
        "candidate_id": CANDIDATE,
        "type": "CV",
        "remote_id": "1",
        "data_url": "http://127.0.0.1:1/files/x",
        "file_name": "cv.pdf",
        "content_type": "application/pdf",
        "remote_created_at": "2026-01-31T12:00:00.000Z",
        "remote_updated_at": None,
    }
    fields.update(item)
    return {"status": "success", "data": {"results": [fields]}, "warnings": []}


@pytest.mark.parametrize(
    ("method", "target", "status", "payload"),
    [
        ("POST", UPLOAD, 200, {"status": "success", "data": {}, "warnings": [{"message": "m"}]}),
        ("GET", UPLOAD, 200, listed()),
        (
            "GET",
            "/v1/check-api-key",
            200,
            {"status": "success", "data": {"environment_id": "e", "customer_id": "e"}},
        ),
        # Every status is covered by the operations' `default` error response.
        ("POST", UPLOAD, 429, error("PLATFORM.CONCURRENCY_LIMIT_EXCEEDED")),
        ("POST", UPLOAD, 400, error(log_url="https://app.kombo.dev/x/logs?interactionId=1")),
        # The document's own "Minimal Error Response": a null code in a nullable enum.
        ("GET", "/v1/check-api-key", 404, error(code=None)),
        # No operation, nothing to judge.
        ("GET", "/files/abc", 200, b"%PDF"),
    ],
)
def test_replies_that_keep_to_the_document_pass(
    method: str, target: str, status: int, payload: Any
) -> None:
    assert response(method, target, status, payload) == []


@pytest.mark.parametrize(
    ("method", "target", "status", "payload", "expected"),
    [
        (
            "GET",
            "/v1/check-api-key",
            200,
            {"status": "success", "data": {"environment_id": "e"}},
            ("body", "data", "required"),
        ),
        ("POST", UPLOAD, 200, {"status": "success", "data": {}}, ("body", "", "required")),
        (
            "GET",
            UPLOAD,
            200,
            listed(candidate_id="C1"),
            ("body", "data.results[0].candidate_id", "minLength"),
        ),
        (
            "GET",
            UPLOAD,
            200,
            listed(remote_created_at="2026-01-31T12:00:00"),
            ("body", "data.results[0].remote_created_at", "format"),
        ),
        ("GET", UPLOAD, 200, listed(type="RESUME"), ("body", "data.results[0].type", "enum")),
        # The ATS set's code is not a general endpoint's.
        (
            "GET",
            "/v1/check-api-key",
            409,
            error("INTEGRATION.SETUP_INCOMPLETE"),
            ("body", "error.code", "enum"),
        ),
        ("POST", UPLOAD, 500, error(log_url="not a link"), ("body", "error.log_url", "format")),
        ("POST", UPLOAD, 503, b"<html>busy</html>", ("header Content-Type", "", "content")),
        ("POST", UPLOAD, 503, b"busy", ("body", "", "json")),
    ],
)
def test_wrong_replies_are_named(
    method: str, target: str, status: int, payload: Any, expected: tuple[str, str, str]
) -> None:
    content_type = "text/html" if payload == b"<html>busy</html>" else "application/json"
    found = response(method, target, status, payload, content_type)

    assert expected in rules(found)
    assert all(violation.status == status for violation in found)


def test_a_status_the_operation_does_not_document_is_named() -> None:
    document = copy.deepcopy(kombo_contract().document)
    del document["paths"]["/check-api-key"]["get"]["responses"]["default"]
    raw = json.dumps(error()).encode()

    found = Contract(document).check_response(
        "GET", "/v1/check-api-key", 404, [("Content-Type", "application/json")], raw
    )

    assert rules(found) == [("status", "", "status")]


def test_the_documents_own_examples_pass() -> None:
    """The readings above (ECMA patterns, nullable enums) agree with Kombo's examples."""
    contract = kombo_contract()
    checked = 0
    for operation in contract.operations:
        for status, described in operation.spec["responses"].items():
            media = contract.resolve(described).get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                code = example["value"].get("error", {}).get("code")
                if code == "INTEGRATION.MODEL_NOT_AVAILABLE" and operation.template in (
                    "/check-api-key",
                    "/integrations/{integration_id}",
                ):
                    # The shared example carries an ATS code, which the general set lacks.
                    continue
                target = "/v1" + operation.template.replace("{", "").replace("}", "")
                http_status = 200 if status == "200" else 400
                found = response(operation.method, target, http_status, example["value"])
                assert found == [], (operation.name, name)
                checked += 1
    assert checked >= 10


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("^[\\w.-]+\\/[\\w.-]+$", "application/pdf", True),
        ("^[\\w.-]+\\/[\\w.-]+$", "application/pdf\n", False),
        ("^[\\w.-]+\\/[\\w.-]+$", "anwendung/pdfä", False),
        ("^\\d{4}$", "\uff12\uff10\uff12\uff16", False),
        ("^a.b$", "a\rb", False),
        ("^a.b$", "a-b", True),
        ("^a\\sb$", "a\u00a0b", True),
        ("^(?<year>\\d{4})$", "2026", True),
        (
            "^(?!\\.)(?!.*\\.\\.)([\\w'+-.]*)[\\w+-]@([\\da-z][\\da-z-]*\\.)+[a-z]{2,}$",
            "Maria.Garcia@example.com",
            True,
        ),
        (
            "^(?!\\.)(?!.*\\.\\.)([\\w'+-.]*)[\\w+-]@([\\da-z][\\da-z-]*\\.)+[a-z]{2,}$",
            "Maria.Garcia@Example.com",
            False,
        ),
    ],
)
def test_patterns_are_read_as_ecma_262(pattern: str, text: str, matches: bool) -> None:
    assert (ecma_regex(pattern).search(text) is not None) is matches
