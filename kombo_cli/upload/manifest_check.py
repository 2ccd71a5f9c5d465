"""A whole manifest read once without attaching anything: its rows and problems counted.

The pre-flight pass of `kombo attach --manifest` (and `kombo doctor --manifest`): how many
rows there are for the progress display, the problems that `--fail-fast` refuses to start
with, the targets several rows name, the integrations the rows go to, and with `--shard`
the plan every job computes alike from the whole manifest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kombo_cli.upload.manifest import open_manifest
from kombo_cli.upload.request import AttachRequest, RowProblem, TargetCounter
from kombo_cli.upload.shard import Shard

# How many problems validate_manifest keeps (it counts them all).
MAX_KEPT_PROBLEMS = 20


@dataclass(frozen=True)
class ManifestCheck:
    """The result of reading a whole manifest without attaching anything."""

    # How many rows are usable.
    rows: int
    # The first MAX_KEPT_PROBLEMS problems, in file order.
    problems: tuple[RowProblem, ...]
    # How many rows have a problem, including those not kept.
    problem_count: int
    # Targets (kind, value as written) that more than one row names.
    repeated_targets: frozenset[tuple[str, str]] = frozenset()
    # With a shard, the counts above are its rows'; this is every row's, usable or not.
    manifest_rows: int = 0
    # The integrations rows name (in order of first mention), and the first line of a
    # row that names none (it goes to the run's own integration).
    integrations: tuple[str, ...] = ()
    first_line_without_integration: int | None = None
    # With a shard: the shard as planned for this manifest (it may place whole
    # integrations); the run must take its rows with this one.
    shard: Shard | None = None

    def integrations_for(self, own: str | None) -> tuple[str | None, ...]:
        """The integrations the rows go to: the run's own (`own`, None when it is not set)
        first when some row names none, then the named ones in order of first mention."""
        if self.first_line_without_integration is None:
            return self.integrations
        return (own, *(name for name in self.integrations if name != own))

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def validate_manifest(
    path: Path | str, *, max_problems: int = MAX_KEPT_PROBLEMS, shard: Shard | None = None
) -> ManifestCheck:
    """Read the whole manifest and count its usable rows and its problems.

    For a pre-flight pass (nothing is attached if any row has a problem). Keeps the first
    `max_problems` problems and counts the rest. With `shard`, only that shard's rows are
    counted, checked and searched for repeated targets, and the check's `shard` is the
    one planned for this manifest. Raises UsageError as open_manifest
    does.
    """
    if shard is not None and shard.count > 1:
        shard = shard.planned(rows_by_integration(path, shard))
    rows = 0
    problems: list[RowProblem] = []
    problem_count = 0
    manifest_rows = 0
    targets = TargetCounter()
    integrations: dict[str, None] = {}
    without_integration: int | None = None
    with open_manifest(path) as manifest:
        for entry in manifest:
            manifest_rows += 1
            if shard is not None and not shard.takes(entry):
                continue
            targets.add(entry)
            if entry.integration_id is not None:
                integrations.setdefault(entry.integration_id)
            elif isinstance(entry, AttachRequest) and without_integration is None:
                # A malformed row is reported as such; it needs no integration to be.
                without_integration = entry.line
            if isinstance(entry, RowProblem):
                problem_count += 1
                if len(problems) < max_problems:
                    problems.append(entry)
            else:
                rows += 1
        return ManifestCheck(
            rows=rows,
            problems=tuple(problems),
            problem_count=problem_count,
            repeated_targets=frozenset(targets.repeated),
            manifest_rows=manifest_rows,
            integrations=tuple(integrations),
            first_line_without_integration=without_integration,
            shard=shard,
        )


def rows_by_integration(path: Path | str, shard: Shard) -> dict[str, int]:
    """How many usable rows go to each integration ("" for the run's own): what a shard
    plan is made from. One more reading of the manifest, only when it is split."""
    counts: dict[str, int] = {}
    with open_manifest(path) as manifest:
        for entry in manifest:
            if isinstance(entry, AttachRequest):
                integration = shard.integration_of(entry)
                counts[integration] = counts.get(integration, 0) + 1
    return counts
