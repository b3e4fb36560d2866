"""``run_workflow`` steps: the file they call, its step ids and inputs, and calls that
come back to the calling file."""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
from typing import Any

from runner.workflow.diagnostics import Diagnostic, did_you_mean
from runner.workflow.inputs import coerce, input_spec, value_problem
from runner.workflow.model import InputSpec
from runner.workflow.source import Path, Source
from runner.workflow.templates import is_template


def called_file(calling: str | pathlib.Path, called: str) -> pathlib.Path:
    """The file a ``run_workflow`` step calls: relative to the calling file's folder
    (an absolute path stays as given)."""
    return (pathlib.Path(calling).resolve().parent / called).resolve()


def literal_call(arguments: Any) -> str | None:
    """The file a ``run_workflow`` step's arguments name, when written out (no template)."""
    called = arguments.get("path") if isinstance(arguments, dict) else None
    return called if isinstance(called, str) and "{" not in called else None


def files_called_from(file: pathlib.Path) -> list[pathlib.Path]:
    """``file`` and every file it calls by a written-out path, at any depth, each once."""
    found: list[pathlib.Path] = []
    pending = [file.resolve()]
    while pending:
        current = pending.pop()
        if current in found:
            continue  # a call cycle: refused when the run gets there
        found.append(current)
        pending.extend(_direct_calls(current))
    return found


def _direct_calls(file: pathlib.Path) -> list[pathlib.Path]:
    """The files ``file``'s steps call by a written-out path (none if unreadable)."""
    calls = []
    for step in _steps(file) or ():
        if step.get("uses") == "run_workflow":
            called = literal_call(step.get("with"))
            if called is not None:
                calls.append(called_file(file, called))
    return calls


def step_templates(file: pathlib.Path) -> list[Any] | None:
    """Where a workflow file's steps hold templates: the ``with``, ``if`` and ``for_each``
    of each (None if the file cannot be read)."""
    steps = _steps(file)
    if steps is None:
        return None
    return [step.get(key) for step in steps for key in ("with", "if", "for_each")]


def calls_by_template(file: pathlib.Path) -> bool:
    """Whether one of ``file``'s steps calls a file named by a template: which file that
    is, is known only when the step runs."""
    return any(
        step.get("uses") == "run_workflow" and literal_call(step.get("with")) is None
        for step in _steps(file) or ()
    )


def step_ids(file: pathlib.Path) -> list[str] | None:
    """The step ids of a workflow file (None if it cannot be read)."""
    steps = _steps(file)
    if steps is None:
        return None
    return [str(step["id"]) for step in steps if "id" in step]


def _steps(file: pathlib.Path) -> list[dict[str, Any]] | None:
    """The steps (mappings) of a workflow file, or None if it cannot be read."""
    data = _yaml_file(file)
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        return None
    return [step for step in steps if isinstance(step, dict)]


def _yaml_file(file: pathlib.Path) -> Any:
    """The data of a YAML file (not to be changed), or None if it cannot be read.

    A called file is read for its step ids, its inputs and its own calls: parsed once
    per version of it (path, modification time, size).
    """
    try:
        stat = file.stat()
    except OSError:
        return None
    return _parsed_yaml(str(file.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parsed_yaml(path: str, mtime_ns: int, size: int) -> Any:
    import yaml

    try:
        return yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def check_called_file(source: Source, arguments: dict[str, Any], path: Path) -> list[Diagnostic]:
    """``run_workflow``'s file must exist (relative to the calling file) unless templated,
    and the inputs passed must be ones it declares, its required ones among them, with
    values (those written out) that its declarations accept."""
    called = literal_call(arguments)
    if called is None:
        return []
    file = called_file(source.file, called)
    if not file.is_file():
        return [source.at(path, f"run_workflow: no workflow file '{called}' next to {source.file}")]
    if not source.file.startswith("<"):
        chain = _calls_back(file, pathlib.Path(source.file))
        if chain is not None:
            here = pathlib.Path(source.file).parent.resolve()
            shown = " → ".join([source.file, *(os.path.relpath(f, here) for f in chain)])
            return [source.at(path, f"run_workflow: the call comes back to this file ({shown})")]
    declared = _declared_inputs(file)
    given = arguments.get("inputs", {})
    if declared is None or not isinstance(given, dict):  # unreadable, or a template
        return []
    inputs_path = (*path[:-1], "inputs")
    problems = [
        source.at(
            (*inputs_path, name),
            f"run_workflow: {called} has no input '{name}'{did_you_mean(str(name), declared)}",
            key=True,
        )
        for name in given
        if name not in declared
    ]
    for name, value in given.items():
        spec = input_spec(str(name), declared.get(name))
        problem = None if spec is None else _given_value_problem(spec, value)
        if problem:
            message = f"run_workflow: input '{name}' of {called} {problem}"
            problems.append(source.at((*inputs_path, name), message))
    missing = [name for name, spec in declared.items() if _required(spec) and name not in given]
    if missing:
        where = inputs_path if "inputs" in arguments else path
        names = ", ".join(f"'{name}'" for name in missing)
        problems.append(source.at(where, f"run_workflow: {called} needs the input(s) {names}"))
    return problems


def _given_value_problem(spec: InputSpec, value: Any) -> str | None:
    """What the called run would refuse in a value written out (no template) for an input."""
    if _has_template(value):
        return None
    with contextlib.suppress(ValueError):  # then value_problem names the type it is not
        value = coerce(spec, value)
    return value_problem(spec, value)


def _has_template(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return is_template(value)


def _required(spec: Any) -> bool:
    return not (isinstance(spec, dict) and "default" in spec)


def _calls_back(start: pathlib.Path, caller: pathlib.Path) -> list[pathlib.Path] | None:
    """The files from ``start`` on whose written-out ``run_workflow`` calls reach
    ``caller`` again (None if none do): such a run would be refused when it got there."""
    target = caller.resolve()
    pending = [[start]]
    seen: set[pathlib.Path] = set()
    while pending:
        chain = pending.pop()
        file = chain[-1]
        if file == target:
            return chain
        if file in seen:
            continue
        seen.add(file)
        pending.extend([*chain, called] for called in _direct_calls(file))
    return None


def _declared_inputs(file: pathlib.Path) -> dict[str, Any] | None:
    """Input name → its declaration as written, of a workflow file (None if unreadable)."""
    data = _yaml_file(file)
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if not isinstance(inputs, dict):
        return {} if isinstance(data, dict) and "inputs" not in data else None
    return {str(name): spec for name, spec in inputs.items()}
