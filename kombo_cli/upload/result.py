"""What became of one request: the one result type of a run, real or dry.

`to_json()` is exactly the object `kombo attach --json` prints for it, so scripts that
import kombo and scripts that read its output see the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kombo_cli.api.targets import Target
from kombo_cli.errors import KomboError, error_json
from kombo_cli.upload.delivery import Delivered
from kombo_cli.upload.plan import AttachmentPlan
from kombo_cli.upload.request import EMAIL, AttachRequest, Entry

SUCCESS = "success"
SKIPPED = "skipped"
ERROR = "error"
# --dry-run: what would be attached, or skipped (with --resolve --skip-existing).
PLANNED = "dry_run"
PLANNED_SKIP = "dry_run_skip"

SKIP_REASON = "an attachment with this name exists"
# Why an item was skipped, when it is not SKIP_REASON.
JOURNAL = "stored by an earlier run, as the journal records"


@dataclass(frozen=True)
class AttachResult:
    status: str
    entry: Entry
    target: Target | None = None
    plan: AttachmentPlan | None = None
    delivered: Delivered | None = None
    error: KomboError | None = None
    # --dry-run of a single file: the request that would be sent (see AttachmentPlan.preview).
    preview: dict[str, Any] | None = None
    # Why it was skipped, when not for SKIP_REASON (JOURNAL).
    skip_reason: str | None = None
    # The integration (customer) the request went to, once a run has placed it.
    integration_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != ERROR

    @property
    def line(self) -> int | None:
        """The manifest line the request came from."""
        return self.entry.line

    @property
    def unresolved_email(self) -> str | None:
        """A dry run's email target left unresolved (no --resolve)."""
        entry = self.entry
        if self.target is None and isinstance(entry, AttachRequest) and entry.target_kind == EMAIL:
            return entry.target_value
        return None

    def to_json(self) -> dict[str, Any]:
        payload = self._payload()
        if self.integration_id is not None:
            payload["integration_id"] = self.integration_id
        if self.entry.line is not None and self.preview is None:
            # Items from a manifest carry their line, so a script can find the row again.
            payload["line"] = self.entry.line
        return payload

    def _payload(self) -> dict[str, Any]:
        if self.status == ERROR:
            assert self.error is not None
            return {"status": ERROR, **self._context(), "error": error_json(self.error)}
        plan = self.plan
        assert plan is not None
        common = {"status": self.status, **self._target_json(), **_source_json(plan)}
        if self.preview is not None:
            return {**common, "request": self.preview}
        if self.status in (SKIPPED, PLANNED_SKIP):
            return {**common, "name": plan.name, "reason": self.skip_reason or SKIP_REASON}
        content_type = plan.content_type.content_type if plan.content_type else None
        if self.status == PLANNED:
            if self.unresolved_email is not None:
                return {**common, "name": plan.name, "type": plan.type, "size": plan.size}
            return {
                **common,
                "name": plan.name,
                "type": plan.type,
                "content_type": content_type,
                "size": plan.size,
            }
        delivered = self.delivered
        assert delivered is not None
        verification = delivered.verification
        checked: dict[str, Any] = {}
        if verification is not None:
            # --verify: true, or null with the reason (a mismatch is an error instead).
            checked["verified"] = verification.verified
            if verification.verified is None:
                checked["unverified_because"] = verification.note
        return {
            **common,
            "name": plan.name,
            "type": plan.type,
            "content_type": content_type,
            "size": plan.size,
            "sha256": delivered.sha256,
            "warnings": delivered.warnings,
            "notes": delivered.notes,
            "elapsed_s": round(delivered.elapsed_s, 3),
            "attempts": delivered.attempts,
            # "reply", "id" or "content": what showed the upload was stored.
            "confirmed_by": delivered.confirmed_by,
            # Kept for scripts written before confirmed_by: true unless "reply".
            "confirmed_by_listing": delivered.confirmed_by_listing,
            **checked,
        }

    def _target_json(self) -> dict[str, Any]:
        if self.target is not None:
            return {"target": self.target.to_json()}
        assert isinstance(self.entry, AttachRequest)
        return {"target": self.entry.target_json()}

    def _context(self) -> dict[str, Any]:
        """What is known of a failed request: its target and its file or URL."""
        if not isinstance(self.entry, AttachRequest):
            return {}
        return {**self._target_json(), **self.entry.source_json()}


def _source_json(plan: AttachmentPlan) -> dict[str, str]:
    if plan.local_file is not None:
        return {"file": plan.local_file.display}
    return {"url": plan.source}
