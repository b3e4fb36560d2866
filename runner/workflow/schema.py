"""The JSON Schema (2020-12) of workflow files, built from the action catalog.

``build_workflow_schema`` is what ``schemas/workflow.schema.json`` holds, for
editors. Validation uses ``core_schema`` for the file's structure and one small
validator per action for its ``with:`` (faster and with better messages than one
big discriminated schema).
"""

from __future__ import annotations

from typing import Any

from runner.workflow.model import ActionCatalog

SCHEMA_ID = "https://lightly-run.dev/schemas/workflow.schema.json"
DURATION = {
    "type": ["string", "number"],
    "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h|d)\s*)+$|^\d+(\.\d+)?$",
}
TEMPLATE = {"type": "string", "pattern": r"\{\{"}
RETRY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "attempts": {"type": "integer", "minimum": 1, "maximum": 100},
        "backoff": DURATION,
        "max_backoff": DURATION,
        "on": {
            "type": "array",
            "items": {
                "type": "string",
                # what the engine's _retryable tells apart: a case slip (5XX) matched nothing
                "pattern": r"^(any|http|timeout|connection|[1-5]xx|[1-5][0-9]{2})$",
                "description": "5xx, 429 (any status or class), timeout, connection, http, any",
                "x-expected": "a retry kind: a status class such as 5xx, a status such as 429, "
                "timeout, connection, http or any (lower case)",
            },
        },
    },
}
INPUT_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": ["string", "integer", "number", "boolean", "array", "object"]},
        "default": {},
        "description": {"type": "string"},
        "enum": {"type": "array", "minItems": 1},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "secret": {"type": "boolean"},
    },
}
STEP_KEYS = {
    "id": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_-]*$"},
    "name": {"type": "string"},
    "uses": {"type": "string"},
    "with": {"type": "object"},
    "if": {"type": ["string", "boolean"]},
    "for_each": {"type": ["string", "array"]},
    "retry": RETRY,
    "timeout": DURATION,
    "continue_on_error": {"type": "boolean"},
}


def core_schema() -> dict[str, Any]:
    """The file's structure, with ``with:`` left open."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "lightly-run workflow",
        "type": "object",
        "additionalProperties": False,
        "patternProperties": {
            "^x-": {
                "description": "Ignored by lightly-run: a place for YAML anchors (&name) that "
                "steps reuse with *name or <<: *name."
            }
        },
        "required": ["version", "name", "steps"],
        "properties": {
            "version": {"const": 1},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "inputs": {
                "type": "object",
                "propertyNames": {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": INPUT_SPEC,
            },
            "defaults": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"retry": RETRY, "timeout": DURATION},
            },
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "uses"],
                    "properties": STEP_KEYS,
                },
            },
        },
    }


#: what makes a string schema refuse some strings (and so a ``{{ template }}``)
_STRING_CONSTRAINTS = ("enum", "const", "pattern", "minLength", "maxLength")


def template_tolerant(schema: dict[str, Any]) -> dict[str, Any]:
    """Accept a ``{{ template }}`` string wherever ``schema`` constrains a value, at any
    depth (inside objects, arrays and alternatives too)."""
    inner = _children_tolerant(schema)
    if "anyOf" in inner:
        members = [_children_tolerant(member) for member in inner["anyOf"]]
        return {**inner, "anyOf": [*members, TEMPLATE]}
    types = inner.get("type")
    takes_strings = types in (None, "string") or (isinstance(types, list) and "string" in types)
    if takes_strings and not any(key in inner for key in _STRING_CONSTRAINTS):
        return inner
    return {
        "anyOf": [inner, TEMPLATE],
        **({"description": inner["description"]} if "description" in inner else {}),
    }


def _children_tolerant(schema: dict[str, Any]) -> dict[str, Any]:
    result = dict(schema)
    if isinstance(result.get("properties"), dict):
        result["properties"] = {
            name: template_tolerant(child) for name, child in result["properties"].items()
        }
    if isinstance(result.get("items"), dict):
        result["items"] = template_tolerant(result["items"])
    return result


def action_with_schema(spec: dict[str, Any] | Any) -> dict[str, Any]:
    """The schema of one action's ``with:`` mapping, templates allowed everywhere."""
    parameters = spec.get("parameters", {})
    properties = {
        name: template_tolerant(dict(p)) for name, p in parameters.get("properties", {}).items()
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": sorted(parameters.get("required", [])),
    }


def build_workflow_schema(catalog: ActionCatalog) -> dict[str, Any]:
    """The whole-file schema for editors: structure plus each action's arguments."""
    schema = core_schema()
    step = schema["properties"]["steps"]["items"]
    step["properties"] = {**step["properties"], "uses": {"enum": sorted(catalog)}}
    schema["$defs"] = {
        f"with_{name}": action_with_schema(catalog[name]) for name in sorted(catalog)
    }
    step["allOf"] = [
        {
            "if": {"properties": {"uses": {"const": name}}, "required": ["uses"]},
            "then": {
                "properties": {"with": {"$ref": f"#/$defs/with_{name}"}},
                "description": catalog[name].get("description", ""),
            },
        }
        for name in sorted(catalog)
    ]
    return schema
