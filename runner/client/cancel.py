"""Stopping a long client operation (an upload, a download) from another thread.

Inside ``stop_when(event)``, and in the threads an operation starts for its items,
every request first checks ``event``: once it is set, the next request raises
``OperationCancelled`` instead of being sent, so the operation ends within a
request instead of running on for hours. A wait between retries ends at once too.
What must not be left half done (the images of a sample just created) is finished
first, inside ``unstoppable()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_stop_event: ContextVar[threading.Event | None] = ContextVar("lightly_stop_event", default=None)
#: inside ``unstoppable()``: requests are sent even once the event is set
_finishing: ContextVar[bool] = ContextVar("lightly_finishing", default=False)


class OperationCancelled(BaseException):
    """The operation's stop event was set.

    A BaseException, like ``asyncio.CancelledError``: handlers that turn one item's
    failure into a warning (``except Exception``) must not swallow it.
    """


@contextmanager
def stop_when(event: threading.Event) -> Iterator[None]:
    """Make every request of this context (and of the threads it starts) check ``event``."""
    token = _stop_event.set(event)
    try:
        yield
    finally:
        _stop_event.reset(token)


@contextmanager
def unstoppable() -> Iterator[None]:
    """Send the requests of this block even once the stop event is set: each once, as
    a wait for a retry still ends the operation (``pause``)."""
    token = _finishing.set(True)
    try:
        yield
    finally:
        _finishing.reset(token)


def pause(seconds: float, sleep: Callable[[float], None]) -> None:
    """Wait ``seconds`` with ``sleep``, or until this context's stop event is set.

    Raises:
        OperationCancelled: If the stop event is (or becomes) set.
    """
    event = _stop_event.get()
    if event is None:
        sleep(seconds)
        return
    if event.wait(seconds):
        raise OperationCancelled("the operation was cancelled")


def raise_if_stopped() -> None:
    """Raise ``OperationCancelled`` if this context's stop event is set (outside
    ``unstoppable()``)."""
    event = _stop_event.get()
    if event is not None and event.is_set() and not _finishing.get():
        raise OperationCancelled("the operation was cancelled")
