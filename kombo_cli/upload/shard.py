"""`--shard K/N`: which of a manifest's rows this run takes, when N runs share one manifest.

Each row goes to the shard its key's SHA-256 picks, so the N shards together take every row
exactly once, in every process and on every machine (Python's `hash()` is salted per
process, so it would not do). The key is the row's target, so all the rows of one target
fall in the same shard: its listing (--skip-existing, --list-first) and the duplicate
checks after a lost reply then see every upload to it, and no two jobs race on it.

When the manifest names at least N integrations, whole integrations are placed instead
(`plan_by_integration`): Kombo's limit is per integration, so two jobs sending to one
customer would only share its limit and crowd each other, while jobs with customers of
their own each get their customers' full limits. The plan follows from the manifest alone
(rows per integration, heaviest first to the lightest shard), so every job computes the
same one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kombo_cli.errors import UsageError
from kombo_cli.upload.request import EMAIL, AttachRequest, Entry

SHARD_HINT = "give --shard K/N with 1 <= K <= N, e.g. --shard 2/3"
_FORM = re.compile(r"\s*(\d{1,9})\s*/\s*(\d{1,9})\s*")
# Bumped only if the assignment ever has to change: a half-finished run split under one
# rule and resumed under another would send some rows twice and others never.
_VERSION = "kombo-shard-1"


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`. `own_integration` is the run's integration, the
    one rows that name none go to."""

    index: int
    count: int
    own_integration: str | None = None
    # Integration -> the shard that runs all its rows.
    by_integration: Mapping[str, int] | None = field(default=None, compare=False)

    @classmethod
    def option(
        cls, text: str | None, with_manifest: bool, own_integration: str | None = None
    ) -> Shard | None:
        """--shard as given, checked: it splits a manifest's rows, so it needs one."""
        if text is None:
            return None
        if not with_manifest:
            raise UsageError(
                "--shard only goes with --manifest.", hint="split the rows of a manifest"
            )
        try:
            parsed = cls.parse(text)
        except ValueError as exc:
            raise UsageError(f"--shard {exc}", hint=SHARD_HINT) from None
        return cls(parsed.index, parsed.count, own_integration)

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` as written on the command line; ValueError says what is wrong."""
        found = _FORM.fullmatch(text)
        if found is None:
            raise ValueError(f"{text!r} is not K/N (two whole numbers, e.g. 2/3).")
        index, count = int(found.group(1)), int(found.group(2))
        if count < 1:
            raise ValueError(f"{text!r}: N, the number of shards, must be at least 1.")
        if not 1 <= index <= count:
            raise ValueError(f"{text!r}: K must be between 1 and {count}.")
        return cls(index, count)

    def takes(self, entry: Entry) -> bool:
        """Whether this shard runs the row."""
        plan = self.by_integration
        if plan is not None and isinstance(entry, AttachRequest):
            placed = plan.get(self.integration_of(entry))
            if placed is not None:
                return placed == self.index
        digest = hashlib.sha256(shard_key(entry, self.own_integration)).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def integration_of(self, entry: AttachRequest) -> str:
        """The integration the row goes to. A row naming one is placed by it whatever the
        job's own integration is (jobs whose rows all name theirs need none, and may differ
        in it); a row naming none goes to the job's own, as it must in every job."""
        return entry.integration_id or self.own_integration or ""

    def planned(self, rows_by_integration: Mapping[str, int]) -> Shard:
        """This shard, placing whole integrations when there are enough of them."""
        return replace(self, by_integration=plan_by_integration(rows_by_integration, self.count))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_key(entry: Entry, own_integration: str | None = None) -> bytes:
    """What decides a row's shard: its target, or for a malformed row its line.

    The target is (integration, kind, value), the integration being the one the row goes
    to: its own `integration_id` (the same ID in two customers' ATSs is two targets), or for
    a row that names none the job's own (`own_integration`). A row naming the job's own
    integration and one naming none are then one target, and a row that names its
    integration is placed alike in every job, whatever integration a job is given.

    An email is case-folded, as addresses are matched without regard to case; an email row
    and an ID row for the same person cannot be matched without a lookup, so they may fall
    in different shards. A malformed row has no target to trust, so its line number places
    it, which reports each problem in exactly one shard.
    """
    if isinstance(entry, AttachRequest):
        value = entry.target_value
        if entry.target_kind == EMAIL:
            value = value.casefold()
        integration = entry.integration_id or own_integration or ""
        parts: list[object] = [_VERSION, "target", integration, entry.target_kind, value]
    else:
        parts = [_VERSION, "line", entry.line]
    # JSON keeps the parts apart whatever characters a value holds.
    return json.dumps(parts, ensure_ascii=False).encode("utf-8")


def plan_by_integration(
    rows_by_integration: Mapping[str, int], count: int
) -> dict[str, int] | None:
    """Integration -> shard (1-based) for `count` shards, or None when whole integrations
    cannot be spread evenly: fewer integrations than shards, or one with more rows than a
    shard's even share (one job would then do most of the work; its rows are placed by
    target instead). Heaviest integration first, each to the shard with the fewest rows so
    far (ties: the lower integration ID, the lower shard)."""
    total = sum(rows_by_integration.values())
    share = -(-total // count) if count else 0
    if count < 2 or len(rows_by_integration) < count:
        return None
    if max(rows_by_integration.values()) > share:
        return None
    load = [0] * count
    plan: dict[str, int] = {}
    for integration, rows in sorted(rows_by_integration.items(), key=lambda kv: (-kv[1], kv[0])):
        lightest = min(range(count), key=lambda shard: (load[shard], shard))
        load[lightest] += rows
        plan[integration] = lightest + 1
    return plan
