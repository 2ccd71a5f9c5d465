"""A sandbox's settings: where uploads go, what it accepts, which failures it rehearses.

The defaults are the key and integration ID that `kombo sandbox` prints for people to export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kombo_cli.sandbox.integration import INTEGRATION_ERRORS

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_INTEGRATION_ID = "sandbox:local"
# Kombo's own limit on actions in flight per integration.
DEFAULT_CONCURRENCY_LIMIT = 30
# What an integration can be set to answer every /ats/ request with, as Kombo answers
# when the integration cannot be used.
INTEGRATION_ERROR_STATUSES = tuple(sorted(INTEGRATION_ERRORS))


@dataclass
class SandboxConfig:
    """How one sandbox behaves.

    The routes and the rehearsals read their fields on every request, so a change to a
    running server's config applies at once (`kombo sandbox --strict-ids` sets `known_ids`
    after the server has loaded its candidates). `data_dir`, `integration_ids` and the
    candidates are read when the server is made, `host` and `port` when it starts.

    A sandbox serves one integration or several, each with its own candidates, uploads,
    concurrency limit and rehearsed error. `integration_id` is the default one, the first
    of `integration_ids`: give either or both (when both, `integration_id` is put first).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = DEFAULT_API_KEY
    # Empty: the first of `integration_ids`, or DEFAULT_INTEGRATION_ID without them.
    integration_id: str = ""
    # None: the seeded sample candidates (for each further integration, its own copies of
    # them, with IDs of their own). A list: the default integration's candidates, and the
    # others have none, unless `candidates_by_integration` gives every integration's.
    candidates: list[dict[str, Any]] | None = None
    # Only these ids exist, per kind ("candidate", "application"); None accepts any id.
    known_ids: dict[str, set[str]] | None = None
    # Rehearsals (see faults.py): a delay before every reply, and the shares of uploads
    # refused before storing or answered with a failure after storing.
    latency_s: float = 0.0
    fail_rate: float = 0.0
    ambiguous_rate: float = 0.0
    # Every integration's, unless `concurrency_limits` gives it one of its own.
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT
    # How the ATS behind it keeps files: listings give `remote_created_at` and
    # `remote_updated_at` as null (Kombo allows it), and give each file's name through this
    # template, where "{name}" is the name it was uploaded with ("Candidate - {name}").
    undated: bool = False
    rename_as: str | None = None
    # Makes the rehearsals' random draws repeatable.
    random_seed: int | None = None
    # Every integration served, the default first.
    integration_ids: list[str] = field(default_factory=list)
    # Limits of their own, by integration ID.
    concurrency_limits: dict[str, int] = field(default_factory=dict)
    # Integrations that answer every /ats/ request with this status, one of
    # INTEGRATION_ERROR_STATUSES.
    integration_errors: dict[str, int] = field(default_factory=dict)
    # Each integration's candidates, by integration ID (one left out has none); None: see
    # `candidates`.
    candidates_by_integration: dict[str, list[dict[str, Any]]] | None = None

    def __post_init__(self) -> None:
        """Raises ValueError for settings that name integrations it does not serve."""
        served = list(self.integration_ids)
        if not self.integration_id:
            self.integration_id = served[0] if served else DEFAULT_INTEGRATION_ID
        if self.integration_id in served:
            served.remove(self.integration_id)
        served.insert(0, self.integration_id)
        if len(set(served)) != len(served):
            raise ValueError(f"integration_ids names an integration twice: {served}")
        self.integration_ids = served
        if self.candidates is not None and self.candidates_by_integration is not None:
            raise ValueError("give candidates or candidates_by_integration, not both")
        for name, named in (
            ("concurrency_limits", self.concurrency_limits),
            ("integration_errors", self.integration_errors),
            ("candidates_by_integration", self.candidates_by_integration or {}),
        ):
            unknown = [key for key in named if key not in served]
            if unknown:
                raise ValueError(f"{name} names an integration not served: {unknown[0]!r}")
        wrong = [s for s in self.integration_errors.values() if s not in INTEGRATION_ERROR_STATUSES]
        if wrong:
            raise ValueError(f"integration_errors: {wrong[0]} is not one of 401, 403, 409")

    def limit_for(self, integration_id: str) -> int:
        """The integration's concurrency limit now: its own, or the one for all."""
        return self.concurrency_limits.get(integration_id, self.concurrency_limit)
