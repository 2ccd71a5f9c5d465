"""Workers shared between lanes (one per integration): fairly, each lane within its
capacity, with memory bounded however the items are ordered."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from kombo_cli.errors import ApiError, IntegrationStopped, NetworkError, WrongBaseUrl
from kombo_cli.upload.integrations import stops_integration, stops_run
from kombo_cli.upload.workers import Runner, Sharing


class Item:
    """An item of one lane; each is its own object, as the runner requires."""

    def __init__(self, lane: str, number: int) -> None:
        self.lane = lane
        self.number = number


def lane_of(item: Item) -> str:
    return item.lane


class InHand:
    """Counts the items of each lane being worked on, and the most ever at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def enter(self, lane: str) -> None:
        with self._lock:
            self.now[lane] += 1
            self.peak[lane] = max(self.peak[lane], self.now[lane])

    def leave(self, lane: str) -> None:
        with self._lock:
            self.now[lane] -= 1


def test_each_lane_stays_within_its_capacity_and_every_item_is_done_once() -> None:
    capacity = {"a": 1, "b": 3, "c": 5}
    in_hand = InHand()

    def work(item: Item) -> tuple[str, int]:
        in_hand.enter(item.lane)
        time.sleep(0.01)
        in_hand.leave(item.lane)
        return item.lane, item.number

    items = [Item(lane, n) for n in range(20) for lane in "abc"]
    runner: Runner[Item, tuple[str, int]] = Runner(
        work, workers=10, sharing=Sharing(lane_of, lambda lane: capacity[str(lane)])
    )
    done = [finished.result for finished in runner.run(items)]

    assert sorted(done) == sorted((item.lane, item.number) for item in items)
    assert in_hand.peak == {"a": 1, "b": 3, "c": 5}


def test_a_slow_lane_does_not_starve_the_others_even_when_it_comes_first() -> None:
    # Every item of the slow customer comes first in the file, and it could take every
    # worker; its capacity keeps it to two, and the fast lane's items are read ahead.
    finished_at: dict[tuple[str, int], float] = {}
    start = time.monotonic()

    def work(item: Item) -> None:
        time.sleep(0.3 if item.lane == "slow" else 0.001)
        finished_at[(item.lane, item.number)] = time.monotonic() - start

    items = [Item("slow", n) for n in range(30)] + [Item("fast", n) for n in range(40)]
    capacity = {"slow": 2, "fast": 30}
    runner: Runner[Item, None] = Runner(
        work, workers=6, sharing=Sharing(lane_of, lambda lane: capacity[str(lane)])
    )
    for _ in runner.run(items):
        pass

    last_fast = max(at for (lane, _), at in finished_at.items() if lane == "fast")
    # Every fast item is done while the slow lane is still on its first few items.
    assert last_fast < 0.3 * 3
    assert len(finished_at) == 70


def test_free_workers_go_to_the_lane_with_the_fewest_in_hand() -> None:
    in_hand = InHand()
    gate = threading.Event()

    def work(item: Item) -> None:
        in_hand.enter(item.lane)
        gate.wait(5)
        in_hand.leave(item.lane)

    # Plenty of room in both lanes, and twice as many items of one: six workers split
    # three and three rather than following the file's order.
    items = [Item("many", n) for n in range(20)] + [Item("few", n) for n in range(10)]
    runner: Runner[Item, None] = Runner(
        work, workers=6, sharing=Sharing(lane_of, lambda _lane: 100)
    )
    seen = threading.Thread(target=lambda: [None for _ in runner.run(items)])
    seen.start()
    deadline = time.monotonic() + 5
    while sum(in_hand.now.values()) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert in_hand.now == {"many": 3, "few": 3}
    gate.set()
    seen.join(10)
    assert not seen.is_alive()


def test_reading_ahead_is_bounded() -> None:
    read = 0

    def items():  # type: ignore[no-untyped-def]
        nonlocal read
        for number in range(400):
            read += 1
            yield Item("busy", number)
        read += 1
        yield Item("idle", 0)

    most_ahead = 0
    done = 0
    lock = threading.Lock()

    def work(item: Item) -> None:
        nonlocal most_ahead, done
        with lock:
            most_ahead = max(most_ahead, read - done)
        time.sleep(0.002)
        with lock:
            done += 1

    runner: Runner[Item, None] = Runner(
        work,
        workers=4,
        sharing=Sharing(lane_of, lambda lane: 1 if lane == "busy" else 4, read_ahead=50),
    )
    for _ in runner.run(items()):
        pass
    # Reading runs ahead of the work by at most the window, the results queue, the items
    # in the workers' hands and the one being put.
    assert most_ahead <= 50 + 4 * 2 + 4 + 1
    assert most_ahead >= 50


def test_capacity_is_asked_again_as_it_grows() -> None:
    capacity = {"a": 1}
    in_hand = InHand()

    def work(item: Item) -> None:
        in_hand.enter(item.lane)
        if item.number == 0:
            capacity["a"] = 4  # the throttle learned there is room
        time.sleep(0.05)
        in_hand.leave(item.lane)

    runner: Runner[Item, None] = Runner(
        work, workers=4, sharing=Sharing(lane_of, lambda lane: capacity[str(lane)])
    )
    for _ in runner.run([Item("a", n) for n in range(12)]):
        pass
    assert in_hand.peak["a"] == 4


def api_error(status: int, code: str | None) -> ApiError:
    return ApiError("refused", http_status=status, code=code)


@pytest.mark.parametrize(
    ("error", "stops"),
    [
        (api_error(401, "PLATFORM.AUTHENTICATION_INVALID"), True),
        (api_error(401, None), True),
        # A permission is one request's: reading attachments is not adding them.
        (api_error(403, "INTEGRATION.PERMISSION_MISSING"), False),
        (api_error(409, "INTEGRATION.SETUP_INCOMPLETE"), True),
        (api_error(409, "INTEGRATION.SETUP_SYNC_PENDING"), True),
        (api_error(409, "INTEGRATION.SOMETHING_NEW"), True),
        (api_error(404, "PLATFORM.INTEGRATION_NOT_FOUND"), True),
        (api_error(400, "INTEGRATION.INACTIVE"), True),
        # About one action or model, or one row: the integration's other rows may go.
        (api_error(403, "INTEGRATION.ACTION_DISABLED"), False),
        (api_error(409, "INTEGRATION.MODEL_NOT_AVAILABLE"), False),
        (api_error(404, "PLATFORM.INPUT_INVALID"), False),
        (api_error(400, "REMOTE.INPUT_INVALID"), False),
        (api_error(409, "ATS.APPLICATION_ALREADY_EXISTS"), False),
        (api_error(429, "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED"), False),
        (api_error(503, None), False),
        (WrongBaseUrl("No route.", http_status=404, hint="add /v1"), False),
        (NetworkError("Connection refused."), False),
        (None, False),
    ],
)
def test_which_answers_stop_an_integration(error: ApiError | None, stops: bool) -> None:
    assert stops_integration(error) is stops


@pytest.mark.parametrize(
    ("code", "stops"),
    [
        ("PLATFORM.AUTHENTICATION_INVALID", True),
        ("PLATFORM.IP_NOT_WHITELISTED", True),
        ("INTEGRATION.AUTHENTICATION_INVALID", False),
        ("PLATFORM.INTEGRATION_NOT_FOUND", False),
    ],
)
def test_only_a_refused_key_or_address_stops_the_whole_run(code: str, stops: bool) -> None:
    assert stops_run(api_error(401, code)) is stops


def test_rows_not_sent_say_why_with_the_first_refusal_and_its_exit_code() -> None:
    cause = ApiError(
        "The API key is invalid.",
        http_status=401,
        code="PLATFORM.AUTHENTICATION_INVALID",
        hint="check KOMBO_API_KEY",
    )
    stopped = IntegrationStopped("workday:acme", cause, "line 3 (cv.pdf)")
    assert stopped.message == (
        "Not sent: integration workday:acme answered line 3 (cv.pdf) with HTTP 401"
        " PLATFORM.AUTHENTICATION_INVALID, so its other rows were not sent."
    )
    assert stopped.hint == "check KOMBO_API_KEY"
    assert stopped.exit_code == cause.exit_code == 4
    assert stopped.local_code == "CLI.INTEGRATION_STOPPED"
