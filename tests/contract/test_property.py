"""Kombo's OpenAPI document against a live sandbox, as a property.

Schemathesis reads the document (kombo-openapi.json, Kombo's own, cut to the paths kombo
calls) and generates requests for each operation: examples, valid requests, requests that
break one rule, other methods, missing headers. Each goes to a sandbox on 127.0.0.1, and
every check schemathesis has judges the reply: the status and body the document gives,
valid requests accepted, invalid ones refused, 405 with `Allow` for another method, 401
without the key, 400 without a required header.

Where the sandbox refuses on purpose what the document's schema alone would let through,
because Kombo's docs say so or because docs/sandbox.md decides so, `DIFFERENCES` names the
check, the operations and the sandbox's own words for the refusal, and says why. Only a
failure matching all three is excused, and each excused one is counted and printed;
anything else fails the test.

Bounded and repeatable: a fixed number of examples per operation, no deadline, and
derandomized, so every run sends the same requests.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Schemathesis needs Python 3.10+; on 3.9 the module is skipped, not failed.
schemathesis = pytest.importorskip("schemathesis", reason="schemathesis needs Python 3.10+")
hypothesis = pytest.importorskip("hypothesis")

from schemathesis.core.failures import Failure, FailureGroup  # noqa: E402

from kombo_cli.sandbox.config import SandboxConfig  # noqa: E402
from kombo_cli.sandbox.sample_candidates import (  # noqa: E402
    FRANK_DOE_APPLICATION_ID,
    FRANK_DOE_ID,
    MARIA_GARCIA_ID,
)
from kombo_cli.sandbox.server import SandboxServer  # noqa: E402

DOCUMENT = Path(__file__).with_name("kombo-openapi.json")
KEY = "sandbox-key"
INTEGRATION = "sandbox:local"
# Per operation, for the fuzzing phase; the examples and coverage phases add their own
# fixed sets. About 1,100 requests in all, a second or two per operation.
MAX_EXAMPLES = 100

POST_CANDIDATE = "POST /ats/candidates/{candidate_id}/attachments"
POST_APPLICATION = "POST /ats/applications/{application_id}/attachments"
POSTS = (POST_CANDIDATE, POST_APPLICATION)


@dataclass(frozen=True)
class Difference:
    """A refusal of the sandbox's that a schemathesis check counts as a failure."""

    # The schemathesis check that reports it, as named in its configuration.
    check: str
    operations: tuple[str, ...]
    # Words of the sandbox's error message that say which refusal it is.
    refusal: str
    reason: str

    def excuses(self, failure: Failure, operation: str, message: str) -> bool:
        return (
            self.check in type(failure).checks
            and operation in self.operations
            and self.refusal in message
        )


# Each row is in docs/sandbox.md's table of decisions, with the same reasoning.
DIFFERENCES = (
    Difference(
        "positive_data_acceptance",
        POSTS,
        "neither was given",
        "The schema makes `data` and `data_url` optional; Kombo's field descriptions say one "
        "of them must be given.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "not both",
        "The schema allows both; Kombo's guide says never to send both, and which one Kombo "
        "would store is unknown.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "'attachment.content_type' is required when 'attachment.data' is used",
        "Kombo's description of `content_type`: required when `data` is used.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "not valid base64",
        "`data` is any string to the schema; its description says base64 of the file.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "The attachment data is empty",
        "Kombo does not say whether it takes an empty file; no ATS shows one, so the sandbox "
        "refuses it.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "'attachment.name' is required and must be a non-empty string",
        "The schema takes an empty `name`; the ATS shows the file by it, so the sandbox "
        "refuses a blank one.",
    ),
    Difference(
        "positive_data_acceptance",
        POSTS,
        "The request has no body",
        "The document does not mark the request body required, but its schema requires "
        "`attachment`: without a body there is none.",
    ),
    Difference(
        "positive_data_acceptance",
        ("GET /ats/candidates",),
        "'cursor' is not a cursor this API returned",
        "Any string is a cursor to the schema; only one a page returned names a page.",
    ),
)

# What this worker's run sent and excused, printed when its sandbox stops.
SENT: Counter[str] = Counter()
EXCUSED: Counter[str] = Counter()


def _config() -> Any:
    return schemathesis.Config.from_dict(
        {
            "seed": 20261206,
            # The document's security scheme is bearer: schemathesis sends the key, and
            # leaves it out or spoils it where a check needs that.
            "auth": {"openapi": {"ApiKey": {"bearer": KEY}}},
            # IDs that exist half the time, generated ones the other half, so the checks
            # see listings and stored uploads as well as 404s.
            "dictionaries": {
                "candidates": {"values": [FRANK_DOE_ID, MARIA_GARCIA_ID]},
                "applications": {"values": [FRANK_DOE_APPLICATION_ID]},
                "integrations": {"values": [INTEGRATION]},
            },
            "parameters": {
                "path.candidate_id": {"dictionary": "candidates", "probability": 0.5},
                "path.application_id": {"dictionary": "applications", "probability": 0.5},
                "path.integration_id": {"dictionary": "integrations", "probability": 0.5},
                "header.X-Integration-Id": {"dictionary": "integrations", "probability": 0.9},
            },
        }
    )


schema = schemathesis.openapi.from_dict(
    json.loads(DOCUMENT.read_text(encoding="utf-8")), config=_config()
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with tempfile.TemporaryDirectory(prefix="kombo-property-") as data_dir:
        # No concurrency limit to meet: requests go one at a time, and a 429 would only
        # hide what the request was checked for.
        config = SandboxConfig(data_dir=Path(data_dir), concurrency_limit=1000)
        with SandboxServer(config) as server:
            yield server
        assert server.errors == [], server.errors
    for operation, count in sorted(SENT.items()):
        print(f"sent {count}: {operation}")
    for name, count in sorted(EXCUSED.items()):
        print(f"excused {count}x: {name}")


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
)
def test_the_sandbox_keeps_to_kombos_document(case: Any, sandbox: SandboxServer) -> None:
    SENT[case.operation.label] += 1
    response = case.call(base_url=sandbox.base_url, timeout=30)
    try:
        case.validate_response(response)
    except FailureGroup as group:
        message = _error_message(response.content)
        operation = case.operation.label
        unexcused = []
        for failure in group.exceptions:
            difference = next(
                (d for d in DIFFERENCES if d.excuses(failure, operation, message)), None
            )
            if difference is None:
                unexcused.append(failure)
            else:
                EXCUSED[f"{difference.check} on {operation}: {difference.refusal}"] += 1
        if unexcused:
            raise FailureGroup(unexcused, str(group)) from None


def test_each_difference_names_operations_of_the_document() -> None:
    operations = {
        f"{method.upper()} {path}"
        for path, item in json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"].items()
        for method in item
    }
    for difference in DIFFERENCES:
        assert set(difference.operations) <= operations, difference
        assert difference.reason and difference.refusal, difference
        print(f"{difference.check} on {', '.join(difference.operations)}: {difference.reason}")


def _error_message(body: bytes) -> str:
    try:
        payload = json.loads(body)
        return str(payload["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return ""
