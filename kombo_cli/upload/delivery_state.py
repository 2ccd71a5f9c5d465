"""Where one delivery stands, for what Ctrl-C should say about it and for the progress bar."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kombo_cli.upload.body import ProgressCallback


class Stage(Enum):
    """Where a delivery stands, for what Ctrl-C should say about it."""

    # Not a byte of the file sent yet (waiting for a slot, connecting): not stored.
    QUEUED = "queued"
    SENDING = "sending"
    # Refused before any work and waiting to retry: certainly not stored.
    WAITING = "waiting"
    # The reply was lost; waiting or listing to find out whether it was stored.
    CHECKING = "checking"
    # Stored; the result is on its way to being reported.
    DONE = "done"


@dataclass
class DeliveryState:
    stage: Stage = Stage.QUEUED


class RewindableProgress:
    """Forwards bytes sent to a progress display, winds it back when a retry starts, and
    notes when the first bytes of an attempt go out."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self._on_progress = on_progress
        self._sent = 0
        self._state: DeliveryState | None = None

    def start_attempt(self, state: DeliveryState) -> None:
        if self._on_progress is not None and self._sent:
            self._on_progress(-self._sent)
        self._sent = 0
        self._state = state

    def __call__(self, sent: int) -> None:
        if self._state is not None and self._state.stage is Stage.QUEUED:
            # The first piece of the file has gone out: from now on it may be stored.
            self._state.stage = Stage.SENDING
        self._sent += sent
        if self._on_progress is not None:
            self._on_progress(sent)
