"""Running one function over many items in threads, with bounded memory."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

Item = TypeVar("Item")

#: items queued per worker: enough to keep every worker busy
_QUEUED_PER_WORKER = 4


def for_each_parallel(
    function: Callable[[Item], Any],
    items: Iterable[Item],
    *,
    max_workers: int,
    done: Callable[[], Any] = lambda: None,
) -> None:
    """Call ``function`` on every item in up to ``max_workers`` threads.

    Unlike ``ThreadPoolExecutor.map``, which makes a future for every item at once
    (about 1.5 KB each: 1.5 GB for a million images), at most a few per worker
    exist at a time. ``done`` is called after each item. The first error raised
    by ``function`` stops the submission of further items and is raised once the
    running ones have finished.
    """
    workers = max(1, max_workers)
    pending: set[Future[Any]] = set()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for item in items:
                if len(pending) >= workers * _QUEUED_PER_WORKER:
                    pending = _settle(pending, done)
                # in the caller's context: a stop event set there (cancel.stop_when) holds
                pending.add(pool.submit(contextvars.copy_context().run, function, item))
            while pending:
                pending = _settle(pending, done)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _settle(pending: set[Future[Any]], done: Callable[[], Any]) -> set[Future[Any]]:
    """Wait for at least one of ``pending`` to finish; the ones still running."""
    finished, still_running = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        future.result()  # an item's error is raised here
        done()
    return still_running
