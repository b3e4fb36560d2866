"""Semantic checks of a parsed workflow: actions, arguments, references, durations."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from runner.workflow import templates
from runner.workflow.calls import called_file, check_called_file, literal_call, step_ids
from runner.workflow.diagnostics import Diagnostic, did_you_mean
from runner.workflow.durations import parse_duration
from runner.workflow.inputs import TYPES, a
from runner.workflow.model import FOR_EACH_OUTPUTS, RUN_KEYS, ActionCatalog
from runner.workflow.schema import TEMPLATE, action_with_schema, core_schema
from runner.workflow.source import Path, Source

CONTEXT_ROOTS = ("inputs", "steps", "secrets", "env", "run", "item")


@functools.lru_cache(maxsize=1)
def _core_validator() -> Draft202012Validator:
    return Draft202012Validator(core_schema())


@functools.lru_cache(maxsize=64)
def _with_validator(catalog_key: str, spec_json: str) -> Draft202012Validator:
    return Draft202012Validator(action_with_schema(json.loads(spec_json)))


def _describe(path: Path, data: Any) -> str:
    """A human name for the node at ``path``: "step 'run'", "inputs.n", "defaults"…"""
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        steps = data.get("steps") if isinstance(data, dict) else None
        step = steps[path[1]] if isinstance(steps, list) and path[1] < len(steps) else None
        label = (
            f"step '{step['id']}'"
            if isinstance(step, dict) and "id" in step
            else f"step {path[1] + 1}"
        )
        rest = ".".join(str(p) for p in path[2:])
        return f"{label}{' ' + rest if rest else ''}"
    return ".".join(str(p) for p in path) or "the workflow"


def schema_diagnostics(
    source: Source, validator: Draft202012Validator, instance: Any, base: Path
) -> Iterator[Diagnostic]:
    """Turn jsonschema errors into located, readable diagnostics."""
    for error in validator.iter_errors(instance):
        yield from _error_diagnostics(source, error, base)


def _error_diagnostics(source: Source, error: ValidationError, base: Path) -> Iterator[Diagnostic]:
    path = (*base, *error.absolute_path)
    where = _describe(path, source.data)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema: Any = error.schema  # a mapping here: our schemas have no boolean subschemas
        allowed = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for key in error.instance:
            if key not in allowed and not any(re.search(p, str(key)) for p in patterns):
                yield source.at(
                    (*path, key),
                    f"unknown key '{key}' in {where}{did_you_mean(key, allowed)}",
                    key=True,
                )
    elif error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield source.at(path, f"{where}: missing required key '{missing}'")
    elif error.validator == "anyOf":
        # a value that is no template is not explained by "not a {{ template }}"; of the
        # other alternatives, the first one's problems are reported, all of them
        others = [e for e in error.context or [] if e.schema != TEMPLATE]
        if not others:
            yield source.at(path, f"{where}: {error.message}")
        else:
            first = min(e.relative_schema_path[0] for e in others)
            for sub in others:
                if sub.relative_schema_path[0] == first:
                    yield from _error_diagnostics(source, sub, base)
    elif isinstance(error.schema, dict) and "x-expected" in error.schema:
        # a schema that says in words what it expects (our extension keyword)
        yield source.at(path, f"{where}: {error.instance!r} is not {error.schema['x-expected']}")
    elif error.validator == "enum":
        values: Any = error.validator_value
        options = ", ".join(repr(v) for v in values)
        hint = did_you_mean(str(error.instance), [str(v) for v in values])
        yield source.at(path, f"{where}: {error.instance!r} is not one of {options}{hint}")
    elif error.validator == "type":
        yield source.at(
            path,
            f"{where}: expected {_type_names(error.validator_value)}, got {type(error.instance).__name__} {error.instance!r}",
        )
    elif error.validator == "const" and path == ("version",):
        yield source.at(
            path, f"unsupported workflow version {error.instance!r}: only version 1 exists"
        )
    elif error.validator == "pattern" and path and path[-1] == "id":
        yield source.at(
            path,
            f"invalid step id {error.instance!r}: use letters, digits, '_' and '-', starting with a letter",
        )
    elif (
        error.validator == "pattern" and path and path[-1] in ("timeout", "backoff", "max_backoff")
    ):
        yield source.at(
            path,
            f"{where}: invalid duration {error.instance!r}: write e.g. 30s, 10m, 6h, 1h30m or 500ms",
        )
    else:
        yield source.at(path, f"{where}: {error.message}")


def _type_names(value: Any) -> str:
    return " or ".join(value) if isinstance(value, list) else str(value)


def check_structure(source: Source) -> list[Diagnostic]:
    return list(schema_diagnostics(source, _core_validator(), source.data, ()))


def check_steps(source: Source, catalog: ActionCatalog) -> list[Diagnostic]:
    """Ids, actions, arguments, durations and template references of every step."""
    data = source.data
    declared = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
    inputs = {
        str(name): spec.get("type") if isinstance(spec, dict) else None
        for name, spec in declared.items()
    }
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    problems: list[Diagnostic] = []
    earlier = _Earlier()
    for index, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        path: Path = ("steps", index)
        step_id = step.get("id")
        if isinstance(step_id, str):
            if step_id in earlier.index:
                first = earlier.index[step_id] + 1
                problems.append(
                    source.at(
                        (*path, "id"), f"duplicate step id '{step_id}' (first used by step {first})"
                    )
                )
            earlier.index.setdefault(step_id, index)
        problems.extend(_check_action(source, catalog, step, path))
        problems.extend(_check_timing(source, step, path))
        problems.extend(_check_for_each(source, step, path, inputs))
        problems.extend(_check_references(source, catalog, step, path, inputs, earlier))
        if isinstance(step_id, str) and isinstance(step.get("uses"), str):
            earlier.add(step_id, step, source)
    for key in ("timeout",):
        if isinstance(data.get("defaults"), dict) and key in data["defaults"]:
            problems.extend(_duration(source, ("defaults", key), data["defaults"][key]))
    return problems


def _check_action(
    source: Source, catalog: ActionCatalog, step: dict[str, Any], path: Path
) -> list[Diagnostic]:
    uses = step.get("uses")
    if not isinstance(uses, str):
        return []
    if uses not in catalog:
        return [source.at((*path, "uses"), f"unknown action '{uses}'{did_you_mean(uses, catalog)}")]
    arguments = step.get("with", {})
    if not isinstance(arguments, dict):
        return []
    validator = _with_validator(uses, json.dumps(catalog[uses], sort_keys=True, default=str))
    problems = list(schema_diagnostics(source, validator, arguments, (*path, "with")))
    if uses == "run_workflow":
        problems.extend(check_called_file(source, arguments, (*path, "with", "path")))
    with_schema: Any = validator.schema
    if "with" not in step and with_schema.get("required"):
        missing = ", ".join(f"'{r}'" for r in with_schema["required"])
        problems = [
            source.at(
                (*path, "uses"),
                f"{_describe(path, source.data)}: action '{uses}' needs {missing} in 'with'",
            )
        ]
    return problems


def _duration(source: Source, path: Path, value: Any) -> list[Diagnostic]:
    try:
        duration = parse_duration(value)
    except ValueError as error:
        return [source.at(path, f"{_describe(path, source.data)}: {error}")]
    if path[-1] == "timeout" and duration.seconds <= 0:
        return [source.at(path, f"{_describe(path, source.data)}: timeout must be longer than 0")]
    return []


def _check_for_each(
    source: Source, step: dict[str, Any], path: Path, inputs: dict[str, Any]
) -> list[Diagnostic]:
    """``for_each`` has to give a list: a list, or one whole ``{{ expression }}``."""
    value = step.get("for_each")
    if not isinstance(value, str) or templates.syntax_error(value):
        return []  # a list, or what the schema or the syntax check reports
    path = (*path, "for_each")
    where = _describe(path, source.data)
    if not templates.is_template(value):
        return [
            source.at(
                path,
                f"{where}: {value!r} is not a list: write a list ([a, b]) "
                "or one {{ expression }} that gives a list",
            )
        ]
    if not templates.is_whole_expression(value):
        return [
            source.at(
                path,
                f"{where}: {value!r} renders to text, not a list: "
                "write one {{ expression }} that gives a list",
            )
        ]
    ref = templates.whole_reference(value)
    if ref is not None and len(ref) == 2 and ref[0] == "inputs":
        type_name = inputs.get(ref[1])
        if isinstance(type_name, str) and type_name in TYPES and type_name != "array":
            return [
                source.at(
                    path,
                    f"{where}: input '{ref[1]}' is {a(type_name)}, not a list "
                    "(for_each needs an input of type array)",
                )
            ]
    return []


def _check_timing(source: Source, step: dict[str, Any], path: Path) -> list[Diagnostic]:
    problems = []
    if "timeout" in step:
        problems.extend(_duration(source, (*path, "timeout"), step["timeout"]))
    retry = step.get("retry")
    if isinstance(retry, dict):
        for key in ("backoff", "max_backoff"):
            if key in retry:
                problems.extend(_duration(source, (*path, "retry", key), retry[key]))
    return problems


@dataclass
class _Earlier:
    """What later steps' templates may refer to: the steps so far."""

    index: dict[str, int] = field(default_factory=dict)  # step id → position
    uses: dict[str, str] = field(default_factory=dict)  # step id → action
    looped: set[str] = field(default_factory=set)  # for_each: outputs result and items
    called: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # run_workflow

    def add(self, step_id: str, step: dict[str, Any], source: Source) -> None:
        self.uses[step_id] = step["uses"]
        if "for_each" in step:
            self.looped.add(step_id)
        called = literal_call(step.get("with")) if step["uses"] == "run_workflow" else None
        if called is not None:
            ids = step_ids(called_file(source.file, called))
            if ids is not None:
                self.called[step_id] = (called, ids)


def _check_references(
    source: Source,
    catalog: ActionCatalog,
    step: dict[str, Any],
    path: Path,
    inputs: dict[str, Any],
    earlier: _Earlier,
) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    own_id = step.get("id")
    for key in ("with", "if", "for_each"):
        if key not in step:
            continue
        problems.extend(_template_problems(source, step[key], (*path, key)))
        for ref in templates.references(step[key]):
            message = _reference_problem(
                ref, catalog, inputs, earlier, own_id, _item_problem(step, key)
            )
            if message:
                problems.append(
                    source.at(_first_path_with(source, step[key], (*path, key), ref), message)
                )
    return problems


def _item_problem(step: dict[str, Any], key: str) -> str | None:
    """Why ``item`` is not defined in the step's ``key`` (None where it is)."""
    if "for_each" not in step:
        return "'item' is only defined inside a step with for_each"
    if key == "if":
        return "'if' is evaluated once for the step, before for_each: 'item' is not defined there"
    if key == "for_each":
        return "'item' is not defined in for_each itself: it is each of its items, in 'with'"
    return None


def _template_problems(source: Source, value: Any, path: Path) -> Iterator[Diagnostic]:
    """Syntax errors, and what the runner's sandbox does not have (unknown filters…)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _template_problems(source, v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _template_problems(source, v, (*path, i))
    elif templates.is_template(value):
        error = templates.syntax_error(value)
        if error:
            yield source.at(path, f"template syntax error: {error[0]}")
        for problem in templates.sandbox_problems(value):
            yield source.at(path, problem)


def _first_path_with(source: Source, value: Any, path: Path, ref: tuple[str, ...]) -> Path:
    """The path of the first string inside ``value`` that contains ``ref``."""
    if isinstance(value, dict):
        for k, v in value.items():
            if ref in templates.references(v):
                return _first_path_with(source, v, (*path, k), ref)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if ref in templates.references(v):
                return _first_path_with(source, v, (*path, i), ref)
    return path


def _reference_problem(
    ref: tuple[str, ...],
    catalog: ActionCatalog,
    inputs: dict[str, Any],
    earlier: _Earlier,
    own_id: Any,
    item_problem: str | None,
) -> str | None:
    root = ref[0]
    if root not in CONTEXT_ROOTS:
        return f"unknown name '{root}' in template{did_you_mean(root, CONTEXT_ROOTS)}"
    if root == "item":
        return item_problem
    if root == "inputs" and len(ref) > 1 and ref[1] not in inputs:
        return f"unknown input '{ref[1]}'{did_you_mean(ref[1], inputs)}"
    if root == "run" and len(ref) > 1 and ref[1] not in RUN_KEYS:
        keys = ", ".join(f"'{key}'" for key in RUN_KEYS)
        return f"unknown run attribute '{ref[1]}'{did_you_mean(ref[1], RUN_KEYS)}; run has {keys}"
    if root != "steps" or len(ref) < 2:
        return None
    target = ref[1]
    if target == own_id:
        return f"step '{target}' refers to its own outputs"
    if target not in earlier.index:
        return f"reference to step '{target}', which does not exist or comes later{did_you_mean(target, earlier.index)}"
    if len(ref) >= 3 and ref[2] not in ("outputs", "status"):
        return f"steps.{target}.{ref[2]}: a step has 'outputs' and 'status'"
    uses_of = earlier.uses
    if len(ref) >= 5 and ref[2:4] == ("outputs", "steps") and target in earlier.called:
        called, ids = earlier.called[target]
        if target not in earlier.looped and ref[4] not in ids:
            return f"step '{target}' calls {called}, which has no step '{ref[4]}'{did_you_mean(ref[4], ids)}"
    if len(ref) >= 4 and ref[2] == "outputs" and target in earlier.looped:
        if ref[3] not in FOR_EACH_OUTPUTS:
            return (
                f"step '{target}' runs for_each: its outputs are 'result' (the list of "
                f"results) and 'items' (each item's outputs: "
                f"steps.{target}.outputs.items[0].{ref[3]})"
            )
    elif len(ref) >= 4 and ref[2] == "outputs" and target in uses_of:
        declared = [*catalog.get(uses_of[target], {}).get("outputs", []), "result"]
        if ref[3] not in declared:
            return f"step '{target}' ({uses_of[target]}) has no output '{ref[3]}'{did_you_mean(ref[3], declared)}"
    return None
