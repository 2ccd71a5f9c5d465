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


# Empty: the sandbox keeps to the document in every reply the tests provoke. An entry
# names one deviation, with its reason and the calls that provoke it.
KNOWN: tuple[Deviation, ...] = ()


def allowed(violation: Violation) -> bool:
    return any(deviation.matches(violation) for deviation in KNOWN)
