"""Checks of what callers pass, made before any request."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any


def string_list(value: Iterable[str] | None, name: str, *, optional: bool = False) -> list[str]:
    """``value`` as a list of strings; ``None`` is ``[]`` when ``optional``.

    A bare string is refused: iterated, it would become a list of its characters
    (``"a@b.com"`` sharing a dataset with ``a``, ``@``, ``b``, … and no one else).

    Raises:
        ValueError: If ``value`` is a string, not iterable, or holds a non-string.
    """
    if value is None and optional:
        return []
    if isinstance(value, str):
        raise ValueError(f"{name} must be a list of strings, not a string: use [{value!r}]")
    try:
        items: list[Any] = list(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{name} must be a list of strings, not {type(value).__name__}") from None
    wrong = next((item for item in items if not isinstance(item, str)), None)
    if wrong is not None:
        raise ValueError(f"{name} must hold only strings; got {wrong!r} ({type(wrong).__name__})")
    return items


def worker_count(value: Any, name: str = "max_workers") -> int:
    """``value`` as a number of threads: a whole number (``np.int64(4)`` and ``4.0`` too).

    Raises:
        ValueError: Naming ``name`` and what was passed instead.
    """
    whole = isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole:
        raise ValueError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def mapping(value: Any, name: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping.

    Raises:
        ValueError: Naming ``name`` and what was passed instead.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping (a dict), not {type(value).__name__}")
    return value
