"""Independent S3 calls made at once, answered as if made one after another."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def in_order(call: Callable[[Any], T], items: Sequence[Any], workers: int) -> list[T]:
    """``[call(item) for item in items]`` with up to ``workers`` calls at once: results in ``items``
    order, and the first failure in that order is raised (calls not started yet are cancelled), so a
    refusal names what a sequential loop would have named."""
    if len(items) < 2 or workers < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(call, item) for item in items]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()
