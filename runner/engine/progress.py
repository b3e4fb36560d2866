"""Progress of long steps when stderr is not a terminal: a line now and then, for CI logs.

On a terminal the client's tqdm bars are used; in CI a bar would print nothing
useful (or thousands of carriage returns), and a step that runs for hours must
still show it is alive. ``PeriodicLines`` is a tqdm-like bar that prints a line
when its status changes and otherwise at most every ``interval`` seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL = 30.0


def interval_from_environment() -> float:
    """``LIGHTLY_RUN_PROGRESS_INTERVAL`` (seconds between lines), default 30."""
    try:
        return max(0.0, float(os.environ.get("LIGHTLY_RUN_PROGRESS_INTERVAL", DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


class PeriodicLines:
    """A tqdm-like bar for logs: ``upload: 500/2000 img (25%), 1m30s``."""

    def __init__(
        self,
        emit: Callable[[str], None],
        *,
        total: int | None,
        desc: str,
        unit: str,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit, self._clock = emit, clock
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.n: float = 0
        self.postfix = ""
        self._started = self._last = clock()
        self._closed = False
        self._shown: tuple[float, str] | None = None  # (n, postfix) of the last line
        self._lock = threading.Lock()

    def update(self, n: float = 1) -> None:
        with self._lock:
            self.n += n
            self._maybe_emit(force=False)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        with self._lock:
            changed, self.postfix = s != self.postfix, s
            self._maybe_emit(force=changed)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._shown != (self.n, self.postfix):  # not just said
                    self._emit(self._line(done=True))

    def __enter__(self) -> PeriodicLines:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _maybe_emit(self, *, force: bool) -> None:
        now = self._clock()
        if not self._closed and (force or now - self._last >= self.interval):
            self._last, self._shown = now, (self.n, self.postfix)
            self._emit(self._line(done=False))

    def _line(self, *, done: bool) -> str:
        parts = []
        if self.total:
            parts.append(f"{self.n:g}/{self.total} {self.unit} ({self.n / self.total:.0%})")
        elif self.n:
            parts.append(f"{self.n:g} {self.unit}")
        elapsed = _duration(self._clock() - self._started)
        parts.append(f"done in {elapsed}" if done else elapsed)
        line = f"  {self.desc}: {', '.join(parts)}"
        return f"{line} — {self.postfix}" if self.postfix else line


def periodic_lines(emit: Callable[[str], None], interval: float) -> Callable[..., Any]:
    """A ``progress`` factory for ``ApiWorkflowClient`` that prints through ``emit``."""

    def factory(*, total: int | None, desc: str, unit: str) -> PeriodicLines:
        return PeriodicLines(emit, total=total, desc=desc, unit=unit, interval=interval)

    return factory


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


class MaskedBar:
    """Another bar (tqdm on a terminal) whose texts pass through a masker first."""

    def __init__(self, bar: Any, mask: Callable[[str], str]) -> None:
        self._bar, self._mask = bar, mask

    def update(self, n: float = 1) -> Any:
        return self._bar.update(n)

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any:
        return self._bar.set_postfix_str(self._mask(s), refresh=refresh)

    def close(self) -> Any:
        return self._bar.close()

    def __enter__(self) -> MaskedBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def masked(factory: Callable[..., Any], mask: Callable[[str], str]) -> Callable[..., Any]:
    """``factory`` with every description and status text masked (run messages come from a server)."""

    def masked_factory(*, total: int | None, desc: str, unit: str) -> MaskedBar:
        return MaskedBar(factory(total=total, desc=mask(desc), unit=unit), mask)

    return masked_factory
