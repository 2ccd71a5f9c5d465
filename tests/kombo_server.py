"""The loopback Kombo the tests talk to: `kombo sandbox`'s server, recording every request.

Tests get a fresh server with its own data directory, a key that looks like a real one
(so leak checks mean something), and hooks to script replies.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from kombo_cli.sandbox.contract import error_envelope, kombo_id, log_url
from kombo_cli.sandbox.server import (
    DEFAULT_CONCURRENCY_LIMIT,
    RecordedRequest,
    SandboxConfig,
    SandboxServer,
    ScriptedResponse,
    StoredAttachment,
)

DEFAULT_API_KEY = "ks_test_Zx9vQ2mN7pL4rT8wK3jH6fD1"
DEFAULT_INTEGRATION_ID = "test:integration"

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_INTEGRATION_ID",
    "KomboServer",
    "RecordedRequest",
    "ScriptedResponse",
    "StoredAttachment",
    "error_envelope",
    "kombo_id",
    "log_url",
]


class _AttachmentList(list):  # type: ignore[type-arg]
    """A snapshot of the stored attachments whose `append` stores for real."""

    def __init__(self, server: KomboServer) -> None:
        super().__init__(server.store.all())
        self._server = server

    def append(self, attachment: StoredAttachment) -> None:
        self._server.store.append(attachment)
        super().append(attachment)


class KomboServer(SandboxServer):
    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        integration_id: str = DEFAULT_INTEGRATION_ID,
        known_ids: set[str] | None = None,
        latency_s: float = 0.0,
        concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
        **config: Any,
    ) -> None:
        self._data_dir = tempfile.TemporaryDirectory(prefix="kombo-test-")
        super().__init__(
            SandboxConfig(
                data_dir=Path(self._data_dir.name),
                api_key=api_key,
                integration_id=integration_id,
                # Tests name ids without caring which kind they are.
                known_ids=None
                if known_ids is None
                else {"candidate": set(known_ids), "application": set(known_ids)},
                latency_s=latency_s,
                concurrency_limit=concurrency_limit,
                record_requests=True,
                **config,
            )
        )

    @property
    def attachments(self) -> list[StoredAttachment]:
        return _AttachmentList(self)

    def stop(self) -> None:
        super().stop()
        self._data_dir.cleanup()
