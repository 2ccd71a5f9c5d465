"""--journal FILE: an append-only record of what became of each upload, for resuming a run.

One JSON object per line, written and fsynced before the step it records goes ahead:
"sending" before the first byte of an attempt leaves (with the file's size and SHA-256 and
the target's snapshot ids, if the run has them), then "stored" (with how it was
confirmed), "failed" (with the error code) or "unknown". Running the same command again
with the same journal:

- an item whose last record is "stored", for the same bytes, is skipped without any call;
- an item whose last record is "sending" or "unknown" is settled by the evidence ladder
  (it may have been stored) and only sent again when found absent;
- anything else runs as usual.

A kill -9 can leave a torn last line; it is ignored, and the next record starts on a line
of its own. One process at a time: the file is locked while a run holds it. No secret and
no file content is written; names and hashes are.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kombo_cli.api.targets import APPLICATION, CANDIDATE, Target
from kombo_cli.errors import UsageError

SENDING = "sending"
STORED = "stored"
FAILED = "failed"
UNKNOWN = "unknown"
_EVENTS = (SENDING, STORED, FAILED, UNKNOWN)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Record:
    """The last thing the journal says about one item."""

    event: str
    target: Target | None
    name: str | None
    size: int | None
    sha256: str | None
    started_at: datetime | None
    snapshot: frozenset[str] | None
    snapshot_at: datetime | None
    confirmed_by: str | None
    # Which Kombo API and integration the item was for (see `Journal.item`).
    scope: str | None = None
    # "unknown" after a timeout: Kombo may still have been storing it.
    pending: bool = False

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Record:
        target = data.get("target")
        snapshot = data.get("snapshot")
        return cls(
            event=data["event"],
            target=_target(target),
            name=_text(data.get("name")),
            size=data.get("size") if isinstance(data.get("size"), int) else None,
            sha256=_text(data.get("sha256")),
            started_at=_time(data.get("started_at")),
            snapshot=frozenset(str(i) for i in snapshot) if isinstance(snapshot, list) else None,
            snapshot_at=_time(data.get("snapshot_at")),
            confirmed_by=_text(data.get("confirmed_by")),
            scope=_text(data.get("scope")),
            pending=data.get("pending") is True,
        )


class Journal:
    """An open journal. Thread-safe: every worker of a run writes to the one object."""

    def __init__(self, path: Path, fd: int, records: dict[str, Record], damaged: int) -> None:
        self.path = path
        self._fd = fd
        self._records = records
        # What the journal said when opened, by scope (API and integration): the stored
        # records first, then those left open, as the ledger expects them. Grouped once, so
        # a run over many integrations does not read every record again for each.
        self._earlier: dict[str | None, list[Record]] = {}
        for events in ((STORED,), (SENDING, UNKNOWN)):
            for record in records.values():
                if record.event in events:
                    self._earlier.setdefault(record.scope, []).append(record)
        # Lines that could not be read (a torn last line after a kill): ignored.
        self.damaged_lines = damaged
        self._lock = threading.Lock()
        self._occurrences: Counter[str] = Counter()

    @classmethod
    def open(cls, path: Path) -> Journal:
        """Open (or create, 0600) and lock the journal; read what it already says.

        Raises UsageError when it cannot be used."""
        shown = str(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _NOFOLLOW, 0o600)
        except OSError as exc:
            raise UsageError(
                f"Cannot open the journal {shown}: {exc.strerror}.",
                hint="give --journal a path to a regular file in a folder you can write to",
            ) from None
        try:
            import stat

            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"The journal {shown} is not a regular file.")
            _lock(fd, shown)
            records, damaged, ends_cleanly, first_line = _read(fd)
            if first_line and not first_line.startswith(_RECORD_START):
                raise UsageError(
                    f"{shown} is not a kombo journal; nothing was written to it.",
                    hint="give --journal a new file, or one an earlier kombo run wrote",
                )
            if not ends_cleanly:
                # A torn last line: start the next record on a line of its own.
                os.write(fd, b"\n")
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, records, damaged)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def item(
        self,
        target_kind: str,
        target_value: str,
        source: str,
        scope: str = "",
        *details: str | None,
    ) -> str:
        """The key of the next item with this target and source in this `scope` (the API
        and integration: the same candidate ID in another integration is another item);
        the same request twice in one run is two items, the first and the second."""
        base = json.dumps([scope, target_kind, target_value, source, *details], ensure_ascii=False)
        with self._lock:
            self._occurrences[base] += 1
            occurrence = self._occurrences[base]
        return hashlib.sha256(f"{base}#{occurrence}".encode()).hexdigest()[:32]

    def last(self, item: str) -> Record | None:
        with self._lock:
            return self._records.get(item)

    def earlier_in(self, scope: str) -> list[Record]:
        """The stored and open records of one scope (API and integration), as the journal
        held them when it was opened (not this run's)."""
        return list(self._earlier.get(scope, ()))

    def write(self, item: str, event: str, **fields: Any) -> None:
        """Append one record and fsync it before returning."""
        assert event in _EVENTS
        record = {
            "v": FORMAT_VERSION,
            "at": _now(),
            "item": item,
            "event": event,
            **{key: value for key, value in fields.items() if value is not None},
        }
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._fd < 0:
                return
            try:
                os.write(self._fd, line)
                os.fsync(self._fd)
            except OSError as exc:
                raise UsageError(
                    f"Cannot write to the journal {self.path}: {exc.strerror}."
                ) from None
            previous = self._records.get(item)
            parsed = Record.parse(record)
            if previous is not None and event != SENDING:
                # Keep what the sending record said (snapshot, start) with the outcome.
                parsed = _merge(previous, parsed)
            self._records[item] = parsed


def time_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# How every record begins (compact JSON, "v" first): even a torn one, so a file whose first
# line does not is something else (a manifest, a CV) and is left alone.
_RECORD_START = b'{"v":'


def _lock(fd: int, shown: str) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows has no flock; one run at a time there
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise UsageError(
            f"The journal {shown} is in use by another kombo run.",
            hint="wait for that run to end, or give this one its own --journal",
        ) from None


def _read(fd: int) -> tuple[dict[str, Record], int, bool, bytes]:
    """(last record per item, damaged lines, whether the file ends with a newline, the
    first non-empty line)."""
    chunks = []
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    data = b"".join(chunks)
    records: dict[str, Record] = {}
    damaged = 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            parsed = json.loads(raw)
            item = parsed["item"]
            if not isinstance(item, str) or parsed.get("event") not in _EVENTS:
                raise ValueError
            record = Record.parse(parsed)
        except (ValueError, KeyError, TypeError, AttributeError):
            damaged += 1
            continue
        previous = records.get(item)
        records[item] = (
            _merge(previous, record) if previous is not None and record.event != SENDING else record
        )
    first = next((line.strip() for line in data.split(b"\n") if line.strip()), b"")
    return records, damaged, not data or data.endswith(b"\n"), first


def _merge(previous: Record, outcome: Record) -> Record:
    return Record(
        event=outcome.event,
        target=outcome.target or previous.target,
        name=outcome.name or previous.name,
        size=outcome.size if outcome.size is not None else previous.size,
        sha256=outcome.sha256 or previous.sha256,
        started_at=outcome.started_at or previous.started_at,
        snapshot=previous.snapshot if outcome.snapshot is None else outcome.snapshot,
        snapshot_at=outcome.snapshot_at or previous.snapshot_at,
        confirmed_by=outcome.confirmed_by,
        scope=outcome.scope or previous.scope,
        pending=outcome.pending,
    )


def _target(value: Any) -> Target | None:
    if not isinstance(value, dict):
        return None
    kind, identity = value.get("kind"), value.get("id")
    if kind not in (CANDIDATE, APPLICATION) or not isinstance(identity, str):
        return None
    try:
        return Target.parse(identity, application=kind == APPLICATION)
    except UsageError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    # A hand-edited date far in the past or future would overflow date arithmetic.
    return moment if 2000 <= moment.year <= 9000 else None


def _now() -> str:
    return time_text(datetime.now(timezone.utc))
