"""Run one piece of work per item on a few threads, reporting each result as it finishes.

Items are read lazily through a bounded queue, so a manifest of a million rows costs no
more memory than one of ten. Items may belong to lanes, each with its own capacity (one
per integration); a free worker then takes work fairly between them (see `fair_queue`).
The caller consumes the results on its own thread, so that terminal output comes from one
thread only. Nothing here knows about Kombo.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from kombo_cli.upload.fair_queue import UNLIMITED, FairQueue

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# How long the consumer waits on the result queue before looking again; short, so Ctrl-C
# is noticed at once.
_POLL_S = 0.1


@dataclass(frozen=True)
class Finished(Generic[ItemT, ResultT]):
    item: ItemT
    result: ResultT


@dataclass(frozen=True)
class Sharing(Generic[ItemT]):
    """How items share the workers: each item's lane, and how many of a lane's items may
    be worked on at once (asked again on every hand-out)."""

    lane_of: Callable[[ItemT], Hashable]
    capacity_of: Callable[[Hashable], int]
    # How far ahead of the workers items are read, so that every lane's next items are
    # in sight (some MiB at most).
    read_ahead: int = 10_000


def _one_lane(_item: object) -> Hashable:
    return None


def _no_cap(_lane: Hashable) -> int:
    return UNLIMITED


class _ItemsFailed:
    """Reading the items failed (the manifest became unreadable), or `work` itself raised:
    either way the consumer re-raises it on its own thread rather than waiting forever."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class Runner(Generic[ItemT, ResultT]):
    """Calls `work(item)` for every item on `workers` threads.

    `work` must not raise: it returns a result describing success or failure. `stop()`
    stops handing out new items; the ones already started finish normally. A consumer that
    leaves `run()` early (a `break`, an exception in its loop) starts nothing more and
    waits for what is in flight, whose results nobody reads any more. Each item must be its
    own object: items in flight are told apart by identity.

    An item counts as in flight from when a worker takes it until the consumer `release`s
    it, so an item whose result waits in the queue, or in a worker's hand, is never lost
    from sight. `halt()` (Ctrl-C) stops handing out items and ends `run()` at once without
    waiting for anyone; the results still coming are read with `next_finished()`. `stop()`
    and `halt()` only set flags, so a signal handler may call them.
    """

    def __init__(
        self,
        work: Callable[[ItemT], ResultT],
        workers: int,
        stop_after: Callable[[ResultT], bool] | None = None,
        sharing: Sharing[ItemT] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._work = work
        self._sharing = sharing or Sharing(_one_lane, _no_cap, read_ahead=0)
        # Checked on the worker, before its next item: --fail-fast must not start one more.
        self._stop_after = stop_after
        self._workers = workers
        # Plain flags, not Events: set from a signal handler, they must take no lock.
        self._stop_requested = False
        self._halted = False
        # Set when nobody will read the results again: workers then drop them, not wait.
        self._abandoned = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[int, ItemT] = {}
        self._results: queue.Queue[object] = queue.Queue()

    def stop(self) -> None:
        self._stop_requested = True

    def halt(self) -> None:
        """Start nothing more, and end `run()` at its next look at the queue, unwaited."""
        self._stop_requested = True
        self._halted = True

    def abandon(self) -> None:
        """Nobody reads results any more: workers drop them instead of waiting."""
        self._stop_requested = True
        self._abandoned.set()

    @property
    def stopped(self) -> bool:
        return self._stop_requested

    def next_finished(self, timeout: float) -> Finished[ItemT, ResultT] | None:
        """After `halt()`: the next result, waiting at most `timeout` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._results.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if isinstance(message, Finished):
                return message

    def in_flight(self) -> list[ItemT]:
        """Items taken by a worker and not yet released by the consumer."""
        with self._lock:
            return list(self._in_flight.values())

    def release(self, item: ItemT) -> None:
        """The consumer has the item's result: it is no longer in flight."""
        with self._lock:
            self._in_flight.pop(id(item), None)

    def run(self, items: Iterable[ItemT]) -> Iterator[Finished[ItemT, ResultT]]:
        """Yield each item's result as it finishes. Re-raises an error from reading `items`."""
        lanes = self._sharing
        window = max(self._workers * 2, lanes.read_ahead)
        todo: FairQueue[ItemT] = FairQueue(window, lanes.lane_of, lanes.capacity_of)
        # Bounded too: if reporting falls behind, the workers wait instead of piling up
        # results in memory.
        results: queue.Queue[object] = queue.Queue(maxsize=self._workers * 2)
        self._results = results
        # Daemon threads: after Ctrl-C the process must be able to exit while a request
        # is still waiting on the network.
        feeder = threading.Thread(target=self._feed, args=(items, todo, results), daemon=True)
        feeder.start()
        workers = [
            threading.Thread(target=self._serve, args=(todo, results), daemon=True)
            for _ in range(self._workers)
        ]
        for worker in workers:
            worker.start()
        running = self._workers
        try:
            while running and not self._halted:
                try:
                    message = results.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if message is _DONE:
                    running -= 1
                elif isinstance(message, _ItemsFailed):
                    self.stop()
                    self._abandoned.set()
                    raise message.error
                else:
                    assert isinstance(message, Finished)
                    yield message
                    self.release(message.item)
        except GeneratorExit:
            if self._halted:
                # Ctrl-C: whoever halted the run collects what is still coming.
                raise
            # The consumer left early. Uploads in flight are not cut off half-way (their
            # fate would be unknown); none starts any more.
            self.stop()
            self._abandoned.set()
            for worker in workers:
                worker.join()
            raise

    def _feed(
        self, items: Iterable[ItemT], todo: FairQueue[ItemT], results: queue.Queue[object]
    ) -> None:
        try:
            for item in items:
                if not todo.put(item, self._is_stopped):
                    break
        except Exception as error:  # reported on the consumer's thread, not lost here
            self._put(results, _ItemsFailed(error))
        finally:
            todo.close()

    def _is_stopped(self) -> bool:
        return self._stop_requested

    def _serve(self, todo: FairQueue[ItemT], results: queue.Queue[object]) -> None:
        while True:
            job = todo.take(self._is_stopped)
            if job is None:
                # Stopped (the rest of the queue is left undone), or no item is left.
                self._put(results, _DONE)
                return
            with self._lock:
                # Checked under the lock: once `in_flight()` has been read after a stop,
                # no item joins it any more.
                stopped = self._stop_requested
                if not stopped:
                    self._in_flight[id(job)] = job
            if stopped:
                todo.done(job)
                continue
            try:
                result = self._work(job)
            except BaseException as error:
                self.stop()
                self.release(job)
                todo.done(job)
                self._put(results, _ItemsFailed(error))
                continue
            # Stopped before the lane has room again: no worker waiting for that room may
            # start one more item after a --fail-fast failure.
            if self._stop_after is not None and self._stop_after(result):
                self.stop()
            todo.done(job)
            self._put(results, Finished(job, result))

    def _put(self, results: queue.Queue[object], message: object) -> None:
        """Hand a message to the consumer, waiting while the queue is full, unless the
        consumer has gone."""
        while not self._abandoned.is_set():
            try:
                results.put(message, timeout=_POLL_S)
                return
            except queue.Full:
                continue
