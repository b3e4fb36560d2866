"""Workflow inputs from ``-i NAME=VALUE`` and ``--inputs-file``, typed and checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import UsageError
from runner.workflow.inputs import coerce, value_problem
from runner.workflow.model import InputSpec


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
            try:
                value = coerce(spec, given[name])
            except ValueError:
                value = given[name]  # text that is not of the type: value_problem says so
        elif spec.has_default:
            value = spec.default
        elif not complete:
            continue
        else:
            raise UsageError(f"input '{name}' is required: pass -i {name}=VALUE")
        problem = value_problem(spec, value)  # never shows a secret input's value
        if problem:
            raise UsageError(f"input '{name}' {problem}")
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
