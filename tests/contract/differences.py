"""Where the sandbox's replies knowingly differ from Kombo's document, and why.

Each entry allows one rule (a schema keyword) broken at one place of one operation's reply
with one status, and, where the message names what is wrong, only that message. A new
deviation, or the same rule broken anywhere else, still fails the test that caused it.
Requests are never allowed here: a request kombo sends that breaks the document is a bug
in kombo.

Each entry also says how to provoke it (`calls`, sent to a fresh sandbox in
test_differences.py), so an entry the sandbox no longer needs fails there: bring the
sandbox in line, then delete its entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.contract.verdict import Violation


@dataclass(frozen=True)
class Call:
    """A request to the sandbox, sent with the key and the integration ID."""

    method: str
    target: str
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Deviation:
    operation_id: str
    status: int
    # Where in the reply (`Violation.where`) and where inside its body (`rule_path`).
    where: str
    path: str
    rule: str
    # The validator's exact message, when it does not depend on the value at fault.
    message: str | None
    reason: str
    calls: tuple[Call, ...] = field(default=(), compare=False)

    def matches(self, violation: Violation) -> bool:
        return (
            violation.status is not None
            and violation.operation_id == self.operation_id
            and violation.status == self.status
            and violation.where == self.where
            and violation.rule_path == self.path
            and violation.rule == self.rule
            and (self.message is None or violation.message == self.message)
        )


_UPLOAD = {
    "attachment": {
        "name": "cv.pdf",
        "type": "CV",
        "content_type": "application/pdf",
        "data": "JVBERi0xLjQK",
    }
}


def _upload_then_list(candidate_id: str) -> tuple[Call, ...]:
    path = f"/v1/ats/candidates/{candidate_id}/attachments"
    return (Call("POST", path, _UPLOAD), Call("GET", path))


_ECHOED_ID = (
    "Without --strict-ids the sandbox accepts any candidate ID in the path and lists the"
    " files stored under it with that ID as `candidate_id`, which the document requires to"
    " be a Kombo ID (24 characters of base58); Kombo would answer 404 for such an ID."
)

KNOWN: tuple[Deviation, ...] = (
    Deviation(
        "GetCheckApiKey",
        200,
        "body",
        "data",
        "required",
        "'customer_id' is a required property",
        "The sandbox answers only `environment_id`, as Kombo's SDKs model it; the document"
        " still requires the deprecated `customer_id` (the same value under its old name).",
        (Call("GET", "/v1/check-api-key"),),
    ),
    Deviation(
        "GetAtsCandidates",
        200,
        "body",
        "data.results[*].email_addresses[*].email_address",
        "pattern",
        None,
        "A sample candidate's address has its domain in capitals (Maria.Garcia@Example.com,"
        " for clients to match addresses in any case); the document's pattern for listed"
        " addresses takes a lower-case domain only.",
        (Call("GET", "/v1/ats/candidates?email=maria.garcia%40example.com"),),
    ),
    Deviation(
        "GetAtsCandidatesCandidateIdAttachments",
        200,
        "body",
        "data.results[*].candidate_id",
        "pattern",
        None,
        _ECHOED_ID,
        _upload_then_list("Cand00xxxxxxxxxxxxxxxxxx"),
    ),
    Deviation(
        "GetAtsCandidatesCandidateIdAttachments",
        200,
        "body",
        "data.results[*].candidate_id",
        "minLength",
        None,
        _ECHOED_ID,
        _upload_then_list("C1"),
    ),
    Deviation(
        "GetAtsCandidatesCandidateIdAttachments",
        200,
        "body",
        "data.results[*].candidate_id",
        "maxLength",
        None,
        _ECHOED_ID,
        _upload_then_list("GRKdd9dibYKKCrmGRSMJf3wuGRKdd9dibYKKCrmGRSMJf3wu"),
    ),
)


def allowed(violation: Violation) -> bool:
    return any(deviation.matches(violation) for deviation in KNOWN)
