"""What an attachment is added to: a candidate or an application, by Kombo ID."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace
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
    # The integration, when not the run's own: only for hints that name a command (the
    # same target either way, so not compared).
    integration: str | None = field(default=None, compare=False)

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
        """The target as kombo's command line takes it, e.g. for a hint (quoted for a shell:
        an integration ID may hold '$' or ';')."""
        shown = shlex.quote(self.id)
        argument = f"--application {shown}" if self.kind == APPLICATION else shown
        if self.integration is not None:
            argument += f" --integration-id {shlex.quote(self.integration)}"
        return argument

    def in_integration(self, integration: str | None) -> Target:
        """The same target, its hints naming `integration` (None: the run's own)."""
        return self if integration == self.integration else replace(self, integration=integration)

    def to_json(self) -> dict[str, str]:
        """As results and journals write it: {"kind": ..., "id": ...}."""
        return {"kind": self.kind, "id": self.id}

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"
