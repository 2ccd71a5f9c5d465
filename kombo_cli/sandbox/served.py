"""The integrations a sandbox serves, each with its own candidates and concurrency limiter.

The first is the default one, `kombo sandbox`'s `--integration-id` (`sandbox:local`
unless changed): it serves the sample candidates, or those a candidates file gives it.
Each further one serves its own copies of the samples, under IDs of its own, or the file's
candidates that name it. Kombo's IDs name one object of one integration, so an ID one
integration serves names nothing in another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from kombo_cli.sandbox.concurrency import ConcurrencyLimiter, ConcurrencyLimits
from kombo_cli.sandbox.config import SandboxConfig
from kombo_cli.sandbox.sample_candidates import sample_candidates, sample_candidates_for

JSONObject = dict[str, Any]


@dataclass
class ServedIntegration:
    id: str
    candidates: list[JSONObject]
    limiter: ConcurrencyLimiter
    # The IDs of its candidates and applications, per kind: they exist as written, even
    # when they are not in Kombo's format (a candidates file may make its own).
    served_ids: dict[str, set[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.served_ids = served_ids(self.candidates)

    def serves(self, object_id: str) -> bool:
        return any(object_id in ids for ids in self.served_ids.values())


def served_ids(candidates: list[JSONObject]) -> dict[str, set[str]]:
    """The IDs of these candidates and of their applications, each as its kind."""
    return {
        "candidate": {candidate["id"] for candidate in candidates},
        "application": {
            application["id"]
            for candidate in candidates
            for application in candidate.get("applications") or []
        },
    }


class ServedIntegrations:
    """Every integration served, by ID, in the order given (the default first)."""

    def __init__(self, config: SandboxConfig, limits: ConcurrencyLimits) -> None:
        candidates = _candidates_by_integration(config)
        self.by_id = {
            integration_id: ServedIntegration(
                integration_id,
                candidates[integration_id],
                limits.by_integration[integration_id],
            )
            for integration_id in config.integration_ids
        }
        self.default = self.by_id[config.integration_id]

    def get(self, integration_id: str) -> ServedIntegration | None:
        return self.by_id.get(integration_id)

    def of_request(self, headers: Message) -> ServedIntegration | None:
        """The integration a request's one X-Integration-Id names; None for no such header,
        several, or one naming no integration served."""
        values = headers.get_all("X-Integration-Id") or []
        return self.by_id.get(values[0]) if len(values) == 1 else None

    def belongs_elsewhere(self, integration: ServedIntegration, object_id: str) -> bool:
        """Whether the ID is another integration's object, and none of this one's."""
        if integration.serves(object_id):
            return False
        return any(other.serves(object_id) for other in self.by_id.values())


def _candidates_by_integration(config: SandboxConfig) -> dict[str, list[JSONObject]]:
    if config.candidates_by_integration is not None:
        given = config.candidates_by_integration
        return {key: given.get(key, []) for key in config.integration_ids}
    if config.candidates is not None:
        # A candidates file for the default integration alone: the others serve none.
        return {
            key: config.candidates if key == config.integration_id else []
            for key in config.integration_ids
        }
    return {
        key: sample_candidates() if key == config.integration_id else sample_candidates_for(key)
        for key in config.integration_ids
    }
