"""Durations written as ``30s``, ``10m``, ``6h``, ``1h30m``, ``500ms`` or plain seconds."""

from __future__ import annotations

import re

from runner.workflow.model import Duration

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> Duration:
    """Parse a duration; raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        return Duration(float(value), f"{value}s")
    text = str(value).replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return Duration(float(text), f"{text}s")
    if not text or _PART.sub("", text):
        raise ValueError(f"invalid duration {value!r}: write e.g. 30s, 10m, 6h, 1h30m or 500ms")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
    return Duration(seconds, text)
