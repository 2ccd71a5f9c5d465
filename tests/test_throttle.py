"""AdaptiveLimit: additive increase, multiplicative decrease, Kombo's headers obeyed."""

from __future__ import annotations

import threading
import time

import pytest

from kombo_cli.api.throttle import AdaptiveLimit
from kombo_cli.upload.workers import Runner


def test_a_refusal_halves_the_limit_once_per_burst() -> None:
    limit = AdaptiveLimit(16)
    with limit.slot() as first, limit.slot() as second:
        limit.refused(first)
        # A refusal of a request sent before the cut says nothing new.
        limit.refused(second)
    assert limit.limit == 8
    assert limit.refusals == 2
    with limit.slot() as later:
        limit.refused(later)
    assert limit.limit == 4


def test_the_limit_never_drops_below_one() -> None:
    limit = AdaptiveLimit(2)
    for _ in range(5):
        with limit.slot() as generation:
            limit.refused(generation)
    assert limit.limit == 1


def test_successes_raise_the_limit_by_one_per_round_up_to_the_ceiling() -> None:
    limit = AdaptiveLimit(8)
    with limit.slot() as generation:
        limit.refused(generation)
    assert limit.limit == 4
    for _ in range(4):
        limit.succeeded({})
    assert limit.limit == 5
    for _ in range(100):
        limit.succeeded({})
    assert limit.limit == 8


def test_a_limit_with_a_start_grows_by_one_per_success_until_the_first_refusal() -> None:
    limit = AdaptiveLimit(300, start=4)
    assert limit.limit == 4
    for _ in range(4):  # one round trip of four answers: twice as many in flight
        limit.succeeded({"Concurrency-Limit": "30", "Concurrency-Remaining": "25"})
    assert limit.limit == 8
    for _ in range(100):
        limit.succeeded({"Concurrency-Limit": "30", "Concurrency-Remaining": "25"})
    # Never above what Kombo allows this integration.
    assert (limit.ceiling, limit.limit) == (30, 30)

    crowded = AdaptiveLimit(300, start=4)
    crowded.succeeded({})
    with crowded.slot() as generation:
        crowded.refused(generation)
    assert crowded.limit == 2
    for _ in range(2):
        crowded.succeeded({})
    # After a refusal, one more per round of successes, no longer one per success.
    assert crowded.limit == 3


def test_kombos_own_limit_caps_the_ceiling() -> None:
    limit = AdaptiveLimit(30)
    limit.succeeded({"Concurrency-Limit": "5", "Concurrency-Remaining": "4"})
    assert limit.ceiling == 5
    assert limit.limit == 5


def test_few_remaining_slots_taken_by_others_lower_the_limit_and_stop_growth() -> None:
    limit = AdaptiveLimit(10)
    with limit.slot():
        # 30 - 2 remaining - 1 of ours: 27 in flight belong to someone else.
        limit.succeeded({"Concurrency-Limit": "30", "Concurrency-Remaining": "2"})
    assert limit.limit == 9
    limit.succeeded({"concurrency-limit": "30", "concurrency-remaining": "junk"})
    assert limit.limit == 9


def test_answers_to_requests_sent_together_are_not_taken_for_other_clients() -> None:
    # Thirty of ours went out together and Kombo took the last in with all thirty in
    # flight (none remaining); by the time its answer is read, twenty of the others have
    # been answered already. The room they took was ours, not another client's.
    limit = AdaptiveLimit(30)
    slots = [limit.slot() for _ in range(30)]
    tickets = [slot.__enter__() for slot in slots]
    for slot in slots[:20]:
        slot.__exit__(None, None, None)
    limit.succeeded({"Concurrency-Limit": "30", "Concurrency-Remaining": "0"}, tickets[-1])
    assert limit.limit == 30
    # Without the ticket, the twenty gone would count as someone else's.
    limit.succeeded({"Concurrency-Limit": "30", "Concurrency-Remaining": "0"})
    assert limit.limit == 29
    for slot in slots[20:]:
        slot.__exit__(None, None, None)


def test_few_remaining_slots_all_taken_by_this_batch_do_not_lower_the_limit() -> None:
    limit = AdaptiveLimit(2)
    with limit.slot(), limit.slot():
        limit.succeeded({"Concurrency-Limit": "2", "Concurrency-Remaining": "0"})
    assert limit.limit == 2


def test_slots_block_beyond_the_limit() -> None:
    limit = AdaptiveLimit(2)
    peak = 0
    current = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal peak, current
        with limit.slot():
            with lock:
                current += 1
                peak = max(peak, current)
            time.sleep(0.02)
            with lock:
                current -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
    assert limit.peak_in_flight == 2


def test_runner_reports_every_item_and_keeps_memory_bounded() -> None:
    read = 0

    def items():  # type: ignore[no-untyped-def]
        nonlocal read
        for number in range(200):
            read += 1
            yield number

    runner: Runner[int, int] = Runner(lambda n: n * 2, workers=4)
    seen = []
    for finished in runner.run(items()):
        seen.append(finished.result)
        # Reading runs ahead of reporting by at most both queues and the items in hand.
        assert read - len(seen) <= 4 * 2 + 4 + 4 * 2 + 1
    assert sorted(seen) == [n * 2 for n in range(200)]


def test_runner_stop_leaves_later_items_unstarted() -> None:
    runner: Runner[int, int] = Runner(lambda n: n, workers=1)
    seen = []
    for finished in runner.run(range(100)):
        seen.append(finished.result)
        runner.stop()
    assert len(seen) < 100
    assert runner.stopped


def test_runner_reraises_an_error_reading_the_items() -> None:
    def broken():  # type: ignore[no-untyped-def]
        yield 1
        raise OSError("disk gone")

    runner: Runner[int, int] = Runner(lambda n: n, workers=2)
    with pytest.raises(OSError, match="disk gone"):
        list(runner.run(broken()))


def test_runner_reraises_a_bug_in_the_work_instead_of_hanging() -> None:
    def work(n: int) -> int:
        raise RuntimeError("bug")

    runner: Runner[int, int] = Runner(work, workers=2)
    with pytest.raises(RuntimeError, match="bug"):
        list(runner.run(range(5)))
