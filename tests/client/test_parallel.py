"""for_each_parallel: every item once, a bounded number queued, the first error raised."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from runner.client._parallel import for_each_parallel


def test_every_item_is_done_once_with_few_queued_at_a_time() -> None:
    lock = threading.Lock()
    pulled, finished, most_waiting = 0, 0, 0
    seen: list[int] = []

    def items() -> Iterator[int]:
        nonlocal pulled, most_waiting
        for item in range(2000):
            with lock:
                pulled += 1
                most_waiting = max(most_waiting, pulled - finished)
            yield item

    def work(item: int) -> None:
        nonlocal finished
        time.sleep(0.0001)
        with lock:
            seen.append(item)
            finished += 1

    calls: list[int] = []
    for_each_parallel(work, items(), max_workers=3, done=lambda: calls.append(1))
    assert sorted(seen) == list(range(2000)) and len(calls) == 2000
    assert most_waiting <= 3 * 4 + 1  # not 2000 futures at once, as ThreadPoolExecutor.map


def test_the_first_error_stops_further_items_and_is_raised() -> None:
    pulled: list[int] = []

    def items() -> Iterator[int]:
        for item in range(10_000):
            pulled.append(item)
            yield item

    def work(item: int) -> None:
        if item == 5:
            raise ValueError("item 5 is broken")

    with pytest.raises(ValueError, match="item 5 is broken"):
        for_each_parallel(work, items(), max_workers=2)
    assert len(pulled) < 100
