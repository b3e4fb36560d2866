"""Workflow inputs from ``-i NAME=VALUE`` and ``--inputs-file``, typed and checked."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from runner.errors import UsageError
from runner.workflow.model import InputSpec


def _coerce(spec: InputSpec, value: Any) -> Any:
    if not isinstance(value, str) or spec.type == "string":
        return value
    try:
        if spec.type == "integer":
            return int(value)
        if spec.type == "number":
            return float(value)
        if spec.type == "boolean":
            lowered = value.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
            raise ValueError(value)
        try:
            return json.loads(value)
        except ValueError:
            return yaml.safe_load(value)  # also [a, b] and {key: value} (flow style)
    except (ValueError, yaml.YAMLError):
        raise _wrong_type(spec, value) from None


def _wrong_type(spec: InputSpec, value: Any) -> UsageError:
    return UsageError(
        f"input '{spec.name}' must be {_a(spec.type)}, got {_shown(spec, value)}"
        f"{_HINTS.get(spec.type, '')}"
    )


def _shown(spec: InputSpec, value: Any) -> str:
    """``value`` for a message: a secret input's value is never shown."""
    return "a value not shown (the input is secret)" if spec.secret else repr(value)


#: how to write the structured types on the command line
_HINTS = {
    "array": " (write it as [a, b] or JSON)",
    "object": " (write it as {key: value} or JSON)",
}


def _a(type_name: str) -> str:
    """``an integer``, ``a string``: the type with its article, for messages."""
    return f"{'an' if type_name[0] in 'aeiou' else 'a'} {type_name}"


_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def resolve_inputs(
    specs: Mapping[str, InputSpec], given: Mapping[str, Any], *, complete: bool = True
) -> dict[str, Any]:
    """Typed input values: given ones coerced and checked, defaults for the rest.

    With ``complete=False`` a required input that is not given is left out (a
    resumed run supplies it from its record).

    Raises:
        UsageError: For unknown or missing inputs and values of the wrong type or range.
    """
    unknown = sorted(set(given) - set(specs))
    if unknown:
        known = ", ".join(sorted(specs)) or "none"
        raise UsageError(f"unknown input(s) {', '.join(unknown)}; this workflow takes: {known}")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given:
            value = _coerce(spec, given[name])
        elif spec.has_default:
            value = spec.default
        elif not complete:
            continue
        else:
            raise UsageError(f"input '{name}' is required: pass -i {name}=VALUE")
        expected = _TYPES[spec.type]
        if not isinstance(value, expected) or (
            isinstance(value, bool) and spec.type in ("integer", "number")
        ):
            raise _wrong_type(spec, value)
        shown = _shown(spec, value)
        if spec.enum is not None and value not in spec.enum:
            raise UsageError(f"input '{name}' must be one of {list(spec.enum)}, got {shown}")
        if spec.minimum is not None and value < spec.minimum:
            raise UsageError(f"input '{name}' must be at least {spec.minimum}, got {shown}")
        if spec.maximum is not None and value > spec.maximum:
            raise UsageError(f"input '{name}' must be at most {spec.maximum}, got {shown}")
        values[name] = value
    return values


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``."""
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"-i expects NAME=VALUE, got {pair!r}")
        result[name.strip()] = value
    return result
