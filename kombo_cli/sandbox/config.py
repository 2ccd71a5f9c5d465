"""A sandbox's settings: where uploads go, what it accepts, which failures it rehearses.

The defaults are the key and integration ID that `kombo sandbox` prints for people to export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_INTEGRATION_ID = "sandbox:local"
# Kombo's own limit on actions in flight per integration.
DEFAULT_CONCURRENCY_LIMIT = 30


@dataclass
class SandboxConfig:
    """How one sandbox behaves.

    The routes and the rehearsals read their fields on every request, so a change to a
    running server's config applies at once (`kombo sandbox --strict-ids` sets `known_ids`
    after the server has loaded its candidates). `data_dir` and `candidates` are read when
    the server is made, `host` and `port` when it starts.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    api_key: str = DEFAULT_API_KEY
    integration_id: str = DEFAULT_INTEGRATION_ID
    # None: the seeded sample candidates.
    candidates: list[dict[str, Any]] | None = None
    # Only these ids exist, per kind ("candidate", "application"); None accepts any id.
    known_ids: dict[str, set[str]] | None = None
    # Rehearsals (see faults.py): a delay before every reply, and the shares of uploads
    # refused before storing or answered with a failure after storing.
    latency_s: float = 0.0
    fail_rate: float = 0.0
    ambiguous_rate: float = 0.0
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT
    # How the ATS behind it keeps files: listings give `remote_created_at` and
    # `remote_updated_at` as null (Kombo allows it), and give each file's name through this
    # template, where "{name}" is the name it was uploaded with ("Candidate - {name}").
    undated: bool = False
    rename_as: str | None = None
    # Makes the rehearsals' random draws repeatable.
    random_seed: int | None = None
