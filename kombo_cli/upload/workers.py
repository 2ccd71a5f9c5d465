"""Run one piece of work per item on a few threads, reporting each result as it finishes.

Items are read lazily through a bounded queue, so a manifest of a million rows costs no
more memory than one of ten. The caller consumes the results on its own thread, so that
terminal output comes from one thread only. Nothing here knows about Kombo.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar, cast

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# How long the consumer waits on the result queue before looking again; short, so Ctrl-C
# is noticed at once.
_POLL_S = 0.1


@dataclass(frozen=True)
class Finished(Generic[ItemT, ResultT]):
    item: ItemT
    result: ResultT


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
    """

    def __init__(
        self,
        work: Callable[[ItemT], ResultT],
        workers: int,
        stop_after: Callable[[ResultT], bool] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._work = work
        # Checked on the worker, before its next item: --fail-fast must not start one more.
        self._stop_after = stop_after
        self._workers = workers
        self._stopped = threading.Event()
        # Set when nobody will read the results again: workers then drop them, not wait.
        self._abandoned = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: dict[int, ItemT] = {}
        self._results: queue.Queue[object] = queue.Queue()

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def drain(self) -> list[Finished[ItemT, ResultT]]:
        """Results that finished but were not handed out yet (after Ctrl-C), without waiting."""
        drained: list[Finished[ItemT, ResultT]] = []
        while True:
            try:
                message = self._results.get_nowait()
            except queue.Empty:
                return drained
            if isinstance(message, Finished):
                drained.append(message)

    def in_flight(self) -> list[ItemT]:
        with self._lock:
            return list(self._in_flight.values())

    def run(self, items: Iterable[ItemT]) -> Iterator[Finished[ItemT, ResultT]]:
        """Yield each item's result as it finishes. Re-raises an error from reading `items`."""
        todo: queue.Queue[object] = queue.Queue(maxsize=self._workers * 2)
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
            while running:
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
        except GeneratorExit:
            # The consumer left early. Uploads in flight are not cut off half-way (their
            # fate would be unknown); none starts any more.
            self.stop()
            self._abandoned.set()
            for worker in workers:
                worker.join()
            raise

    def _feed(
        self, items: Iterable[ItemT], todo: queue.Queue[object], results: queue.Queue[object]
    ) -> None:
        try:
            for item in items:
                while not self._stopped.is_set():
                    try:
                        todo.put(item, timeout=_POLL_S)
                        break
                    except queue.Full:
                        continue
                if self._stopped.is_set():
                    break
        except Exception as error:  # reported on the consumer's thread, not lost here
            self._put(results, _ItemsFailed(error))
        finally:
            for _ in range(self._workers):
                todo.put(_DONE)

    def _serve(self, todo: queue.Queue[object], results: queue.Queue[object]) -> None:
        while True:
            item = todo.get()
            if item is _DONE:
                self._put(results, _DONE)
                return
            if self._stopped.is_set():
                continue  # stopped: the rest of the queue is left undone
            job = cast(ItemT, item)
            key = id(job)
            with self._lock:
                self._in_flight[key] = job
            try:
                result = self._work(job)
            except BaseException as error:
                self.stop()
                self._put(results, _ItemsFailed(error))
                continue
            finally:
                with self._lock:
                    self._in_flight.pop(key, None)
            if self._stop_after is not None and self._stop_after(result):
                self.stop()
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
