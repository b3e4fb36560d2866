"""JSON Schemas of the worker, Lightly and selection configs (from the client's field
tables) and of custom metadata's shape.

The client checks these configs before it sends them (``runner.client._configs``);
the same tables, as schemas, let ``lightly-run validate`` and editors catch a
mistyped key or strategy type without the network. Keys may be snake_case or
camelCase, as the client accepts both; values stay free but for nested sections
and ``type`` enums (the workflow layer accepts a ``{{ template }}`` at any depth).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runner.client._configs import (
    DOCKER_FIELDS,
    INPUT_FIELDS,
    INPUT_TYPES,
    LIGHTLY_FIELDS,
    SELECTION_FIELDS,
    STRATEGY_FIELDS,
    STRATEGY_TYPES,
)
from runner.client.models import to_snake


def config_schemas() -> dict[str, dict[str, Any]]:
    """Parameter name → schema, for the operations that take configs."""
    return {
        "worker_config": _nullable(_fields(DOCKER_FIELDS)),
        "lightly_config": _nullable(_fields(LIGHTLY_FIELDS)),
        "selection_config": _nullable(_selection()),
        "custom_metadata": _nullable(_custom_metadata()),
    }


def _custom_metadata() -> dict[str, Any]:
    """COCO-style custom metadata: what the client joins (``images[].id`` to
    ``metadata[].image_id``, by ``file_name``) must be there; anything else may."""

    def entries(*keys: str) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "object", "required": list(keys)}}

    return {
        "type": "object",
        "required": ["images", "metadata"],
        "properties": {"images": entries("id", "file_name"), "metadata": entries("image_id")},
    }


def _selection() -> dict[str, Any]:
    fields: dict[str, Any] = {name: {} for name in SELECTION_FIELDS}
    fields["strategies"] = {"type": "array", "minItems": 1, "items": _entry()}
    return _object(fields)


def _entry() -> dict[str, Any]:
    schema = _object(
        {
            "input": _section(INPUT_FIELDS, INPUT_TYPES),
            "strategy": _section(STRATEGY_FIELDS, STRATEGY_TYPES),
        }
    )
    return {**schema, "required": ["input", "strategy"]}


def _section(fields: Iterable[str], types: Iterable[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {} for name in fields}
    properties["type"] = {"enum": sorted(types)}
    return {**_object(properties), "required": ["type"]}


def _fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A worker or Lightly config table (nested dicts are sections) as a schema."""
    return _object(
        {
            name: _fields(nested) if isinstance(nested, dict) else {}
            for name, nested in fields.items()
        }
    )


def _object(properties: Mapping[str, Any]) -> dict[str, Any]:
    """An object of ``properties``, each under its wire name and its snake_case name."""
    spelled: dict[str, Any] = {}
    for name in sorted(properties):
        spelled[name] = properties[name]
        spelled.setdefault(to_snake(name), properties[name])
    return {"type": "object", "additionalProperties": False, "properties": spelled}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": ["object", "null"]}
