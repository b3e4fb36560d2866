"""``validate``, ``schema`` and ``actions``: commands that never touch the network."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from runner.cli.catalog import load_catalog
from runner.errors import EXIT_INVALID, EXIT_OK, UsageError


def validate(args: argparse.Namespace) -> int:
    """Check workflow files; print every problem as FILE:LINE:COL: message."""
    from runner.engine.events import github_error
    from runner.workflow.loader import is_not_a_workflow
    from runner.workflow.loader import validate as validate_file

    catalog = load_catalog()
    files: list[str] = []
    problems = []
    for path, found_in_folder in _workflow_files(args.files):
        found = validate_file(path, catalog)
        if found_in_folder and is_not_a_workflow(found):
            # a folder may hold other YAML (an --inputs-file, CI files): not an error
            print(f"{path}: skipped, not a lightly-run workflow", file=sys.stderr)
            continue
        files.append(path)
        problems.extend(found)
    if not files:
        raise UsageError(f"no lightly-run workflow in {', '.join(args.files)}")
    annotate = os.environ.get("GITHUB_ACTIONS") == "true"
    for problem in problems:
        print(problem, file=sys.stderr)
        if annotate:
            print(github_error(problem.message, problem.file, problem.line, problem.col))
    if problems:
        broken = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {broken} file(s)", file=sys.stderr)
        return EXIT_INVALID
    print(f"{len(files)} workflow file(s) valid", file=sys.stderr)
    return EXIT_OK


def _workflow_files(arguments: list[str]) -> list[tuple[str, bool]]:
    """(file, found in a folder): the files given, and the *.yaml / *.yml under each folder."""
    files: list[tuple[str, bool]] = []
    for argument in arguments:
        folder = Path(argument)
        if not folder.is_dir():
            files.append((argument, False))
            continue
        found = sorted(
            str(path)
            for pattern in ("*.yaml", "*.yml")
            for path in folder.rglob(pattern)
            if not any(part.startswith(".") for part in path.relative_to(folder).parts)
        )
        if not found:
            raise UsageError(f"no workflow files (*.yaml, *.yml) in {argument}")
        files.extend((path, True) for path in found)
    return files


def schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of workflow files (or, with --catalog, the action catalog)."""
    from runner.actions.registry import catalog
    from runner.workflow.schema import build_workflow_schema

    data = catalog() if args.catalog else build_workflow_schema(catalog())
    print(json.dumps(data, indent=2, sort_keys=True))
    return EXIT_OK


def actions(args: argparse.Namespace) -> int:
    """List the actions, or describe one."""
    catalog = load_catalog()
    if not args.name:
        width = max(len(n) for n in catalog)
        for name, spec in catalog.items():
            print(f"{name:<{width}}  {spec.get('description', '')}")
        return EXIT_OK
    if args.name not in catalog:
        from runner.workflow.diagnostics import did_you_mean

        raise UsageError(f"unknown action '{args.name}'{did_you_mean(args.name, catalog)}")
    _describe(args.name, catalog[args.name])
    return EXIT_OK


def _describe(name: str, spec: dict[str, Any]) -> None:
    print(f"{name}: {spec.get('description', '')}\n")
    parameters = spec["parameters"]
    required = set(parameters.get("required", []))
    print("arguments (with:):")
    for arg, prop in parameters.get("properties", {}).items():
        kind = _type_text(prop)
        default = "required" if arg in required else f"default {json.dumps(prop.get('default'))}"
        print(f"  {arg} ({kind}; {default})")
        if prop.get("description"):
            print(f"      {prop['description']}")
    print("outputs: " + ", ".join(f"steps.<id>.outputs.{o}" for o in spec.get("outputs", [])))


def _type_text(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type_text(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)
