"""Items waiting for a worker, handed out fairly between lanes that each have a capacity.

A run across many customers has one lane per integration, each allowed only so many
items at once (Kombo's limit per integration, as the throttle has found it). Handing out
items in file order would let a slow or failing customer take every worker while its
items queue for its few slots; instead a free worker takes the next item of the lane
that has the fewest items in hand, among those with room, so every lane gets its share
and a lane's spare share goes to the others. Within a lane, items go in file order.

The queue holds a window of items read ahead of the workers (`window`), so that a free
worker sees the other lanes' items too, not only the next one in the file: memory stays
bounded however many lanes there are, and a manifest sorted by customer still keeps
every customer whose rows fall within the window busy. Nothing here knows about Kombo.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from typing import Callable, Generic, TypeVar

ItemT = TypeVar("ItemT")

# How often a waiting worker looks again: a lane's capacity can grow without any item
# finishing (the throttle learns from each answer), and a stop must be noticed soon.
_POLL_S = 0.05
# The capacity of a lane nothing limits.
UNLIMITED = 1 << 30
# `_next_lane` found none (a lane itself may be any hashable, None included).
_NO_LANE: Hashable = object()


class FairQueue(Generic[ItemT]):
    """Thread-safe. `lane_of(item)` names an item's lane; `capacity_of(lane)` says how
    many of its items may be in hand at once (read on every hand-out, so it may change)."""

    def __init__(
        self,
        window: int,
        lane_of: Callable[[ItemT], Hashable],
        capacity_of: Callable[[Hashable], int],
    ) -> None:
        self._window = max(1, window)
        self._lane_of = lane_of
        self._capacity_of = capacity_of
        self._changed = threading.Condition()
        self._waiting: dict[Hashable, deque[ItemT]] = {}
        self._pending = 0
        self._in_hand: dict[Hashable, int] = {}
        # When each lane was last served, to break ties between lanes in turn.
        self._served: dict[Hashable, int] = {}
        self._turn = 0
        self._closed = False

    def put(self, item: ItemT, stopped: Callable[[], bool]) -> bool:
        """Add an item, waiting while the window is full; False if `stopped()` first."""
        lane = self._lane_of(item)
        with self._changed:
            while self._pending >= self._window:
                if stopped():
                    return False
                self._changed.wait(_POLL_S)
            self._waiting.setdefault(lane, deque()).append(item)
            self._pending += 1
            self._changed.notify_all()
        return True

    def close(self) -> None:
        """No more items will be put."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def take(self, stopped: Callable[[], bool]) -> ItemT | None:
        """The next item for a worker; None once `stopped()`, or when every item is out."""
        with self._changed:
            while not stopped():
                lane = self._next_lane()
                if lane is not _NO_LANE:
                    return self._hand_out(lane)
                if self._closed and not self._pending:
                    return None
                self._changed.wait(_POLL_S)
            return None

    def done(self, item: ItemT) -> None:
        """A worker has finished with `item`: its lane has room again."""
        lane = self._lane_of(item)
        with self._changed:
            left = self._in_hand.get(lane, 0) - 1
            if left > 0:
                self._in_hand[lane] = left
            else:
                self._in_hand.pop(lane, None)
            self._changed.notify_all()

    def _next_lane(self) -> Hashable:
        """Of the lanes with items waiting and room, the one with the fewest in hand (then
        the one served longest ago); `_NO_LANE` if none has both."""
        best: Hashable = _NO_LANE
        best_rank: tuple[int, int] | None = None
        for lane in self._waiting:
            in_hand = self._in_hand.get(lane, 0)
            if in_hand >= self._capacity_of(lane):
                continue
            rank = (in_hand, self._served.get(lane, -1))
            if best_rank is None or rank < best_rank:
                best, best_rank = lane, rank
        return best

    def _hand_out(self, lane: Hashable) -> ItemT:
        waiting = self._waiting[lane]
        item = waiting.popleft()
        if not waiting:
            del self._waiting[lane]
        self._pending -= 1
        self._in_hand[lane] = self._in_hand.get(lane, 0) + 1
        self._turn += 1
        self._served[lane] = self._turn
        self._changed.notify_all()
        return item
