"""The allow-list of the sandbox's deviations stays narrow and current."""

from __future__ import annotations

import http.client
import json
from dataclasses import replace

import pytest

from tests.contract.differences import KNOWN, Call, Deviation, allowed
from tests.contract.verdict import Violation
from tests.recording_server import DEFAULT_API_KEY, DEFAULT_INTEGRATION_ID, KomboServer


def send(server: KomboServer, call: Call) -> int:
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}", "X-Integration-Id": ""}
    if call.target.startswith("/v1/ats/"):
        headers["X-Integration-Id"] = DEFAULT_INTEGRATION_ID
    else:
        del headers["X-Integration-Id"]
    body = None
    if call.body is not None:
        body = json.dumps(call.body).encode()
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(call.method, call.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@pytest.mark.parametrize("deviation", KNOWN, ids=lambda d: f"{d.operation_id}-{d.path}-{d.rule}")
def test_each_allowed_deviation_still_happens(deviation: Deviation) -> None:
    with KomboServer() as server:
        for call in deviation.calls:
            send(server, call)
        found = server.contract.violations(allowing=False)

    assert any(deviation.matches(violation) for violation in found), (
        "The sandbox keeps this rule now: delete its entry from tests/contract/differences.py"
        f" ({deviation.reason})"
    )


@pytest.mark.parametrize("deviation", KNOWN, ids=lambda d: f"{d.operation_id}-{d.path}-{d.rule}")
def test_each_entry_gives_its_reason_and_how_to_provoke_it(deviation: Deviation) -> None:
    assert deviation.reason.strip() and deviation.calls
    assert "*" not in deviation.path.replace("[*]", ""), "only array indexes may be wildcards"


def violation(**fields: object) -> Violation:
    base: dict[str, object] = {
        "operation": "GET /check-api-key (GetCheckApiKey)",
        "where": "body",
        "path": "data",
        "rule": "required",
        "message": "'customer_id' is a required property",
        "status": 200,
        "operation_id": "GetCheckApiKey",
    }
    base.update(fields)
    return Violation(**base)  # type: ignore[arg-type]


ENTRY = Deviation(
    "GetCheckApiKey",
    200,
    "body",
    "data",
    "required",
    "'customer_id' is a required property",
    "a reason",
    (Call("GET", "/v1/check-api-key"),),
)


def test_an_entry_allows_exactly_its_rule() -> None:
    assert ENTRY.matches(violation())


@pytest.mark.parametrize(
    "changed",
    [
        {"operation_id": "GetIntegrationsIntegrationId"},
        {"status": 500},
        {"where": "header Content-Type"},
        {"path": "data.tool"},
        {"rule": "type"},
        {"message": "'environment_id' is a required property"},
        # The same rule broken by a request is kombo's bug, never the sandbox's.
        {"status": None},
    ],
)
def test_an_entry_allows_nothing_else(changed: dict[str, object]) -> None:
    assert not ENTRY.matches(violation(**changed))


def test_an_entry_without_a_message_allows_the_rule_at_any_index() -> None:
    entry = replace(ENTRY, path="data.results[*].id", rule="pattern", message=None)

    assert entry.matches(violation(path="data.results[3].id", rule="pattern", message="x"))
    assert not entry.matches(violation(path="data.results[3].remote_id", rule="pattern"))


def test_a_request_violation_is_never_allowed() -> None:
    assert not any(allowed(violation(status=None, **{"rule": d.rule})) for d in KNOWN)
