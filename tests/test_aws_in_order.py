"""aws.in_order: independent S3 calls at once, answered as a sequential loop would answer."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artifact_gc.aws import in_order


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
