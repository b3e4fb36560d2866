"""Load a workflow file: every problem as a located diagnostic, or a frozen ``Workflow``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runner.errors import WorkflowInvalid
from runner.workflow.checks import check_steps, check_structure
from runner.workflow.diagnostics import Diagnostic, sort_unique
from runner.workflow.durations import parse_duration
from runner.workflow.inputs import check_inputs, input_spec
from runner.workflow.model import (
    ActionCatalog,
    Duration,
    Location,
    RetryPolicy,
    Step,
    Workflow,
)
from runner.workflow.source import NOT_A_WORKFLOW, Source, parse


def validate_text(
    text: str, catalog: ActionCatalog, filename: str = "<string>"
) -> list[Diagnostic]:
    """All problems of a workflow given as text, sorted by position."""
    return _analyse(text, catalog, filename)[1]


def _analyse(text: str, catalog: ActionCatalog, filename: str) -> tuple[Source, list[Diagnostic]]:
    source = parse(text, filename)
    problems = list(source.diagnostics)
    if source.data is not None and not isinstance(source.data, dict):
        # an Ansible playbook (a list), a scalar: another tool's YAML
        kind = "a list" if isinstance(source.data, list) else type(source.data).__name__
        message = (
            f"{NOT_A_WORKFLOW}: it is {kind}; a workflow is a mapping with version, name and steps"
        )
        problems.append(Diagnostic(filename, 1, 1, message))
    elif isinstance(source.data, dict) and not {"version", "steps"} & source.data.keys():
        # another tool's YAML (a GitHub Actions workflow, a compose file): one line, not
        # a diagnostic per key it does not share with a workflow
        keys = ", ".join(str(key) for key in list(source.data)[:5])
        problems.append(
            Diagnostic(
                filename,
                1,
                1,
                f"{NOT_A_WORKFLOW}: it has no 'version' and no 'steps' (its keys: {keys})",
            )
        )
    elif isinstance(source.data, dict):
        problems.extend(check_structure(source))
        problems.extend(check_inputs(source))
        problems.extend(check_steps(source, catalog))
    return source, sort_unique(problems)


def is_not_a_workflow(problems: list[Diagnostic]) -> bool:
    """Whether ``problems`` say the file is another tool's YAML, not a broken workflow."""
    return len(problems) == 1 and problems[0].message.startswith(NOT_A_WORKFLOW)


def _read(path: str | Path) -> tuple[str | None, list[Diagnostic]]:
    try:
        return Path(path).read_text(encoding="utf-8"), []
    except FileNotFoundError:
        return None, [Diagnostic(str(path), 1, 1, "no such file")]
    except (OSError, UnicodeDecodeError) as error:
        return None, [Diagnostic(str(path), 1, 1, f"cannot read the file: {error}")]


def validate(path: str | Path, catalog: ActionCatalog) -> list[Diagnostic]:
    """All problems of a workflow file; never raises for a user's mistake."""
    text, problems = _read(path)
    return problems if text is None else validate_text(text, catalog, str(path))


def load(path: str | Path, catalog: ActionCatalog) -> Workflow:
    """The validated workflow of a file.

    Raises:
        WorkflowInvalid: With every problem found.
    """
    text, problems = _read(path)
    if text is None:
        raise WorkflowInvalid(problems)
    source, problems = _analyse(text, catalog, str(path))
    if problems:
        raise WorkflowInvalid(problems)
    return _build(source, text)


def _retry(spec: Any, fallback: RetryPolicy) -> RetryPolicy:
    if not isinstance(spec, dict):
        return fallback
    return RetryPolicy(
        attempts=int(spec.get("attempts", fallback.attempts)),
        backoff=parse_duration(spec["backoff"]) if "backoff" in spec else fallback.backoff,
        max_backoff=parse_duration(spec["max_backoff"])
        if "max_backoff" in spec
        else fallback.max_backoff,
        on=tuple(spec.get("on", fallback.on)),
    )


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _build(source: Source, text: str) -> Workflow:
    data = source.data
    defaults = data.get("defaults") or {}
    default_retry = _retry(defaults.get("retry"), RetryPolicy())
    default_timeout: Duration | None = (
        parse_duration(defaults["timeout"]) if "timeout" in defaults else None
    )
    steps = []
    for index, raw in enumerate(data["steps"]):
        line, col = source.values.get(("steps", index), (1, 1))
        steps.append(
            Step(
                id=raw["id"],
                uses=raw["uses"],
                with_=raw.get("with") or {},
                name=raw.get("name"),
                if_=raw.get("if"),
                for_each=raw.get("for_each"),
                retry=_retry(raw.get("retry"), default_retry),
                timeout=parse_duration(raw["timeout"]) if "timeout" in raw else default_timeout,
                continue_on_error=bool(raw.get("continue_on_error", False)),
                location=Location(source.file, line, col),
            )
        )
    inputs = {  # every spec has a known type: the schema requires one
        name: spec
        for name, raw in (data.get("inputs") or {}).items()
        if (spec := input_spec(name, raw)) is not None
    }
    return Workflow(
        version=data["version"],
        name=data["name"],
        steps=tuple(steps),
        path=source.file,
        description=data.get("description", ""),
        inputs=inputs,
        defaults_retry=default_retry,
        defaults_timeout=default_timeout,
        source_digest=hashlib.sha256(text.encode()).hexdigest(),
        step_digests={raw["id"]: _digest(raw) for raw in data["steps"]},
    )
