"""Cooperative cancellation of a step that outlived its timeout.

A Python thread cannot be killed, so the engine runs a step with a timeout in a
thread and, when time is up, sets that thread's cancel event. Long-running
actions wait on ``cancelled()`` instead of sleeping, and stop promptly; others
finish their current request and their result is discarded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from runner.errors import LightlyRunError

T = TypeVar("T")
_local = threading.local()
_NEVER = threading.Event()


class StepCancelled(LightlyRunError):
    """The step's time ran out while it was still working."""


def cancelled() -> threading.Event:
    """The cancel event of the step running in this thread (never set outside a timed step)."""
    event: threading.Event = getattr(_local, "event", None) or _NEVER
    return event


def run_cancellable(call: Callable[[], T], event: threading.Event) -> T:
    """Run ``call`` in this thread with ``event`` as its cancel event."""
    _local.event = event
    try:
        return call()
    finally:
        _local.event = None


def pause(seconds: float) -> None:
    """Sleep ``seconds``, or raise ``StepCancelled`` as soon as the step is cancelled."""
    if cancelled().wait(seconds):
        raise StepCancelled("the step was cancelled (its timeout passed)")
