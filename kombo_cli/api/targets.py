"""What an attachment is added to: a candidate or an application, by Kombo ID."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from kombo_cli.errors import UsageError

CANDIDATE = "candidate"
APPLICATION = "application"

# Characters that could change which route a path reaches, or that are never part of an ID.
# Kombo IDs are base58; the 24-character shape is not enforced because sandboxes and
# other environments use other IDs.
_FORBIDDEN_IN_ID = re.compile(r"[\s\x00-\x1f\x7f/\\?#%]")


@dataclass(frozen=True)
class Target:
    kind: str
    id: str

    @classmethod
    def parse(cls, raw_id: str, *, application: bool) -> Target:
        kind = APPLICATION if application else CANDIDATE
        if not raw_id:
            raise UsageError(f"The {kind} ID is empty.")
        if _FORBIDDEN_IN_ID.search(raw_id) or raw_id in (".", ".."):
            raise UsageError(
                f"{raw_id!r} is not a valid {kind} ID.",
                hint="Kombo IDs look like GRKdd9dibYKKCrmGRSMJf3wu",
            )
        return cls(kind, raw_id)

    @property
    def attachments_path(self) -> str:
        return f"/ats/{self.kind}s/{quote(self.id, safe='')}/attachments"

    @property
    def shell_argument(self) -> str:
        """The target as kombo's command line takes it, e.g. for a hint."""
        return f"--application {self.id}" if self.kind == APPLICATION else self.id

    def to_json(self) -> dict[str, str]:
        """As results and journals write it: {"kind": ..., "id": ...}."""
        return {"kind": self.kind, "id": self.id}

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"
