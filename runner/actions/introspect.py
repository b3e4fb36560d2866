"""A callable's signature, type hints and Google docstring → JSON Schema of its arguments.

This is the single source of truth for action arguments: the client's method
signatures define what a step's ``with:`` may hold.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

_SECTION = re.compile(r"^\s*(Args|Arguments|Returns|Raises|Examples?|Yields|Note):\s*$")


def docstring_parts(func: Callable[..., Any]) -> tuple[str, dict[str, str], str]:
    """(summary paragraph, {arg: description}, the Returns text) of a Google docstring."""
    doc = inspect.getdoc(func) or ""
    summary = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    args: dict[str, str] = {}
    returns: list[str] = []
    section, current = "", ""
    for line in doc.splitlines():
        header = _SECTION.match(line)
        if header:
            section = header.group(1)
            continue
        if section == "Args":
            match = re.match(r"^\s{0,8}(\w+)(?: \([^)]*\))?:\s*(.*)$", line)
            if match and not line.startswith(" " * 9):
                current = match.group(1)
                args[current] = match.group(2).strip()
            elif current and line.strip():
                args[current] += " " + line.strip()
        elif section == "Returns" and line.strip():
            returns.append(line.strip())
    return summary, args, " ".join(returns)


def type_schema(hint: Any) -> dict[str, Any]:
    """JSON Schema for a Python type hint (permissive where the type is open)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        inner = (
            type_schema(options[0])
            if len(options) == 1
            else {"anyOf": [type_schema(a) for a in options]}
        )
        if type(None) in args and inner:
            if isinstance(inner.get("type"), str) and "enum" not in inner:
                return {**inner, "type": [inner["type"], "null"]}
            return {"anyOf": [inner, {"type": "null"}]}
        return inner
    if origin is typing.Literal:
        return {"enum": list(args)}
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if origin in (list, tuple, Sequence, Iterable) or hint in (list, tuple):
        return {
            "type": "array",
            **({"items": type_schema(args[0])} if args and args[0] is not Ellipsis else {}),
        }
    if origin in (dict, Mapping) or hint is dict:
        return {"type": "object"}
    return {}


def parameters_schema(func: Callable[..., Any], *, skip: Iterable[str] = ()) -> dict[str, Any]:
    """JSON Schema object for the arguments of ``func`` (``self`` and ``skip`` left out)."""
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    _, descriptions, _ = docstring_parts(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, param in inspect.signature(func).parameters.items():
        if (
            name == "self"
            or name in skip
            or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        ):
            continue
        schema = type_schema(hints.get(name, Any))
        if name in descriptions:
            schema["description"] = descriptions[name]
        if param.default is inspect.Parameter.empty:
            required.append(name)
        elif isinstance(param.default, (str, int, float, bool)) or param.default is None:
            schema["default"] = param.default
        properties[name] = schema
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
