"""Progress of long client operations (uploads, downloads, listings): tqdm-like bars.

The client asks its ``progress`` factory for a bar with ``total``, ``desc`` and
``unit`` and calls ``update``/``set_postfix_str`` on it; the default draws a tqdm
bar on a terminal and nothing elsewhere. Pass another factory to
``ApiWorkflowClient(progress=...)`` to report progress differently (the runner
prints periodic lines in CI).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, Protocol, cast

from tqdm import tqdm


class ProgressBar(Protocol):
    """The part of tqdm's interface the client uses."""

    def update(self, n: float = 1) -> Any: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...
    def close(self) -> Any: ...
    def __enter__(self) -> Any: ...
    def __exit__(self, *exc_info: object) -> Any: ...


#: ``factory(total=int | None, desc=str, unit=str) -> ProgressBar``
ProgressFactory = Callable[..., ProgressBar]


def terminal_progress(*, total: int | None, desc: str, unit: str) -> ProgressBar:
    """A tqdm bar on stderr when it is a terminal (and ``LIGHTLY_RUN_NO_PROGRESS`` is unset)."""
    shown = sys.stderr.isatty() and not os.environ.get("LIGHTLY_RUN_NO_PROGRESS")
    bar = tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not shown)
    return cast(ProgressBar, bar)


def no_progress(*, total: int | None, desc: str, unit: str) -> ProgressBar:
    """A bar that shows nothing."""
    return cast(ProgressBar, tqdm(total=total, disable=True))
