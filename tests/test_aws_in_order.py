"""aws.in_order and in_rounds: independent S3 calls at once, answered as a sequential loop would answer."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.aws import in_order, in_rounds


@settings(max_examples=30, deadline=None)
@given(delays=st.lists(st.sampled_from([0.0, 0.001, 0.005]), max_size=12), workers=st.integers(1, 9))
def test_results_come_in_the_order_of_the_items(delays: list[float], workers: int) -> None:
    def call(index: int) -> int:
        time.sleep(delays[index])
        return index * 10

    assert in_order(call, range(len(delays)), workers) == [i * 10 for i in range(len(delays))]


def test_the_first_failure_in_order_is_raised_even_when_a_later_one_fails_first() -> None:
    later_failed = threading.Event()

    def call(index: int) -> int:
        if index == 0:
            later_failed.wait(5)
            raise ValueError("item 0")
        if index == 1:
            later_failed.set()
            raise KeyError("item 1")
        return index

    with pytest.raises(ValueError, match="item 0"):
        in_order(call, [0, 1, 2], 3)


def test_calls_not_started_after_a_failure_are_not_made() -> None:
    made: list[int] = []

    def call(index: int) -> int:
        made.append(index)
        if index == 0:
            raise ValueError("item 0")
        time.sleep(0.05)
        return index

    with pytest.raises(ValueError):
        in_order(call, range(40), 2)
    assert len(made) < 40


@settings(max_examples=40, deadline=None)
@given(count=st.integers(0, 300), workers=st.integers(1, 5))
def test_rounds_answer_in_order_and_pause_before_each_round(count: int, workers: int) -> None:
    pauses: list[int] = []
    made: list[int] = []

    def call(index: int) -> int:
        made.append(index)
        return index * 10

    def pause() -> None:
        pauses.append(len(made))  # how many calls were made before this round began

    assert in_rounds(call, list(range(count)), workers, pause) == [i * 10 for i in range(count)]
    size = 32 * workers
    assert pauses == list(range(0, count, size))  # one pause per round, each after the last round's calls


def test_a_refused_pause_stops_before_the_next_round() -> None:
    made: list[int] = []
    pauses = iter([None, RuntimeError("lease taken over")])

    def pause() -> None:
        outcome = next(pauses)
        if outcome:
            raise outcome

    with pytest.raises(RuntimeError, match="lease taken over"):
        in_rounds(made.append, list(range(100)), 1, pause)
    assert made == list(range(32))
