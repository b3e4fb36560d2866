"""Input declarations and the values they accept.

The rules a run applies to every value an input gets (type, enum, minimum, maximum),
so that validate can apply them wherever a value is written in a file: an input's
``default`` and a literal that a ``run_workflow`` step passes to the file it calls.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import yaml

from runner.workflow.diagnostics import Diagnostic
from runner.workflow.model import InputSpec
from runner.workflow.source import Path, Source

#: input type → the Python types its values have (bool is no integer or number)
TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}
NUMERIC = ("integer", "number")


def input_spec(name: str, raw: Any) -> InputSpec | None:
    """The declaration ``raw`` (as written in a file) of input ``name``; None if it has no
    known type. Parts that are malformed (the schema reports them) are left out."""
    type_name = raw.get("type") if isinstance(raw, dict) else None
    if not isinstance(type_name, str) or type_name not in TYPES:
        return None
    enum = raw.get("enum")
    return InputSpec(
        name=name,
        type=type_name,
        default=raw.get("default"),
        has_default="default" in raw,
        description=raw["description"] if isinstance(raw.get("description"), str) else "",
        enum=tuple(enum) if isinstance(enum, list) else None,
        minimum=_number(raw.get("minimum")),
        maximum=_number(raw.get("maximum")),
        secret=raw.get("secret") is True,
    )


def _number(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def coerce(spec: InputSpec, value: Any) -> Any:
    """A value given as text (``-i n=5``) as the input's type, and a number as text for a
    string input (YAML reads ``tag: 2024`` of an inputs file as a number, while
    ``-i tag=2024`` is text); other values unchanged.

    Raises:
        ValueError: If the text is not of that type.
    """
    if spec.type == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
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
    except yaml.YAMLError:
        raise ValueError(value) from None


def has_type(type_name: str, value: Any) -> bool:
    """Whether ``value`` is of the input type ``type_name``."""
    wrong_bool = isinstance(value, bool) and type_name in NUMERIC
    return isinstance(value, TYPES[type_name]) and not wrong_bool


def value_problem(spec: InputSpec, value: Any) -> str | None:
    """What is wrong with ``value`` for ``spec`` ("must be at least 1, got 0"), or None.

    The value of a secret input is left out of the message.
    """
    got = "" if spec.secret else f", got {value!r}"
    if not has_type(spec.type, value):
        return f"must be {a(spec.type)}{got}{HINTS.get(spec.type, '')}"
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN, no infinity
        return f"must be a finite number{got}"
    if spec.enum is not None and value not in spec.enum:
        return f"must be one of {list(spec.enum)}{got}"
    if spec.type not in NUMERIC:  # a bound on another type is a mistake validate reports
        return None
    if spec.minimum is not None and value < spec.minimum:
        return f"must be at least {spec.minimum}{got}"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be at most {spec.maximum}{got}"
    return None


#: how to write the structured types as text
HINTS = {
    "array": " (write it as [a, b] or JSON)",
    "object": " (write it as {key: value} or JSON)",
}


def a(type_name: str) -> str:
    """``an integer``, ``a string``: the type with its article, for messages."""
    return f"{'an' if type_name[0] in 'aeiou' else 'a'} {type_name}"


def check_inputs(source: Source) -> list[Diagnostic]:
    """Every input declaration of the file: bounds only on numbers and not crossed, enum
    values of the input's type, and a default that the declaration itself accepts."""
    declared = source.data.get("inputs")
    problems: list[Diagnostic] = []
    for name, raw in declared.items() if isinstance(declared, dict) else ():
        spec = input_spec(str(name), raw)
        if spec is not None:
            problems.extend(_declaration_problems(source, spec, ("inputs", name)))
    return problems


def _declaration_problems(source: Source, spec: InputSpec, path: Path) -> Iterator[Diagnostic]:
    where = f"inputs.{spec.name}"
    if spec.type not in NUMERIC:
        for key in ("minimum", "maximum"):
            if getattr(spec, key) is not None:
                yield source.at(
                    (*path, key), f"{where}: only integer and number inputs have a {key}"
                )
    elif spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        yield source.at(
            (*path, "minimum"),
            f"{where}: minimum {spec.minimum} is above maximum {spec.maximum}, so no value fits",
        )
    for index, option in enumerate(spec.enum or ()):
        if not has_type(spec.type, option):
            yield source.at(
                (*path, "enum", index), f"{where}: enum value {option!r} is not {a(spec.type)}"
            )
    if not spec.has_default:
        return
    shown = "" if spec.secret else f": {spec.default!r}"
    if not has_type(spec.type, spec.default):
        message = f"default of input '{spec.name}' is not of type {spec.type}{shown}"
        yield source.at((*path, "default"), message)
    else:
        problem = value_problem(spec, spec.default)
        if problem:
            yield source.at((*path, "default"), f"default of input '{spec.name}' {problem}")
