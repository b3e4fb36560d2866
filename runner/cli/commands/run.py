"""``run`` (the default command) and ``plan``."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from runner.cli.catalog import load_catalog
from runner.errors import EXIT_OK, UsageError, WorkflowInvalid


def _inputs(args: argparse.Namespace) -> dict[str, Any]:
    from runner.engine.inputs import parse_assignments

    given: dict[str, Any] = {}
    if args.inputs_file:
        try:
            loaded = yaml.safe_load(Path(args.inputs_file).read_text(encoding="utf-8")) or {}
        except yaml.MarkedYAMLError as error:  # FILE:LINE:COL, as validate says it
            mark = error.problem_mark
            where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
            raise UsageError(
                f"--inputs-file {args.inputs_file}:{where}not valid YAML or JSON: {error.problem}"
            ) from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise UsageError(f"cannot read --inputs-file {args.inputs_file}: {error}") from None
        if not isinstance(loaded, dict):
            raise UsageError(
                f"--inputs-file {args.inputs_file} must hold a mapping of input names to values"
            )
        given.update(loaded)
    given.update(parse_assignments(args.input or []))
    return given


def run(args: argparse.Namespace) -> int:
    """Run a workflow file."""
    from runner.actions.client_ops import client_state, restore_client_state
    from runner.actions.registry import registry
    from runner.client import ApiWorkflowClient
    from runner.engine.events import notices_as_lines, summary
    from runner.engine.executor import Engine, exit_code, secrets_read
    from runner.engine.inputs import resolve_inputs
    from runner.engine.secrets import Masker
    from runner.engine.state import StateStore
    from runner.workflow.loader import load

    catalog = load_catalog()
    store = StateStore(Path(args.state_dir))
    if args.workflow is None:  # `--resume RUN_ID` alone: the run's record names its file
        args.workflow = store.load(args.resume).workflow_path
    workflow = load(args.workflow, catalog)
    given = _inputs(args)
    # mistakes first, before any lock; a resumed run's record may supply the rest
    inputs = resolve_inputs(workflow.inputs, given, complete=args.resume is None)
    secrets_read(workflow)  # a secret not set: said before a server starts for nothing
    masker = Masker.from_environment()
    observer = _observer(masker, workflow)
    with ExitStack() as stack:
        stack.enter_context(notices_as_lines(observer, "runner.client"))
        store.lock()
        stack.callback(store.unlock)
        resume = None
        if args.resume is not None:  # before any server starts: a wrong id is cheap to report
            resume = (
                store.latest(args.workflow) if args.resume == "latest" else store.load(args.resume)
            )
            _check_same_workflow(resume, args.workflow)
            recorded = _recorded_inputs(resume, workflow)
            for note in _check_recorded(recorded, given, workflow, resume.run_id):
                observer.message(note)
            inputs = resolve_inputs(workflow.inputs, {**recorded, **given})
        client = None
        if args.local or _needs_client(workflow, registry(), catalog):
            server_location, token = _backend(args, stack)
            masker.add(token)
            try:
                client = ApiWorkflowClient(
                    token=token, server_location=server_location, progress=_progress(args, observer)
                )
            except ValueError as error:  # the environment's settings (LIGHTLY_CA_CERTS)
                raise UsageError(str(error)) from None
        engine = Engine(
            registry=registry(),
            client=client,
            store=store,
            masker=masker,
            observer=observer,
            client_state=client_state,
            restore_client_state=restore_client_state,
        )
        try:
            state = engine.run(workflow, inputs, resume=resume)
        except KeyboardInterrupt:  # the state is saved: --output json still describes it
            if args.output == "json" and engine.last_state is not None:
                print(json.dumps(summary(engine.last_state, masker), indent=2, default=str))
            raise
    result = summary(state, masker)
    _write_job_summary(state, masker)
    if args.output == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        failed = [step for step, record in state.steps.items() if record.status == "failed"]
        continued = (
            f", with failed step(s) continued past: {', '.join(failed)}"
            if state.status == "succeeded" and failed
            else ""
        )
        again = (
            f"; once fixed, go on with: {_resume_command(args)}" if state.status == "failed" else ""
        )
        print(
            masker.mask(
                f"run {state.run_id}: {state.status}{continued} "
                f"(state in {store.path(state.run_id)}){again}"
            ),
            file=sys.stderr,
        )
    return exit_code(state)


def _recorded_inputs(state: Any, workflow: Any) -> dict[str, Any]:
    """The inputs a run was started with, but secret ones (recorded masked): a resumed
    run goes on with them unless ``-i`` or ``--inputs-file`` sets them again."""
    from runner.engine.secrets import MASK

    return {
        name: value
        for name, value in state.inputs.items()
        if name in workflow.inputs
        and not workflow.inputs[name].secret
        and not (isinstance(value, str) and MASK in value)
    }


def _needs_client(
    workflow: Any, actions: Any, catalog: Any, calling: frozenset[Path] = frozenset()
) -> bool:
    """Whether a step of ``workflow`` (or of a file it calls) may reach the Lightly API.

    A called file named by a template, or one that cannot be loaded, counts as yes.
    """
    from runner.workflow import templates
    from runner.workflow.calls import called_file
    from runner.workflow.loader import load

    calling = calling | {Path(workflow.path).resolve()}
    for step in workflow.steps:
        action = actions[step.uses]
        if action.kind != "engine":
            if action.needs_client:
                return True
            continue
        called = step.with_.get("path")
        if not isinstance(called, str) or templates.is_template(called):
            return True
        file = called_file(workflow.path, called)
        if file in calling:
            continue  # a file calling itself is refused when it runs
        try:
            called_workflow = load(file, catalog)
        except (WorkflowInvalid, OSError):
            return True
        if _needs_client(called_workflow, actions, catalog, calling):
            return True
    return False


def _check_same_workflow(resume: Any, workflow_path: str) -> None:
    """``--resume RUN_ID`` of another file's run would reuse its steps of the same ids."""
    if os.path.abspath(resume.workflow_path) != os.path.abspath(workflow_path):
        recorded = _shown_path(resume.workflow_path)
        raise UsageError(
            f"run {resume.run_id} is a run of {recorded}, not of {workflow_path}: resume it "
            f"with `lightly-run {shlex.quote(recorded)} --resume {resume.run_id}`, or leave "
            f"out the run id to resume the latest run of {workflow_path}"
        )


def _check_recorded(
    recorded: dict[str, Any], given: dict[str, Any], workflow: Any, run_id: str
) -> list[str]:
    """A recorded input the changed workflow no longer accepts is named as recorded; a
    required secret input (never recorded) must be given again. Returns warnings: a
    secret input with a default, not given again, takes the default."""
    from runner.engine.inputs import resolve_inputs

    notes = []
    for name, spec in workflow.inputs.items():
        if spec.secret and name not in given:
            if not spec.has_default:
                raise UsageError(
                    f"input '{name}' is secret, so run {run_id} did not record it: "
                    f"pass -i {name}=VALUE again"
                )
            notes.append(
                f"warning: input '{name}' is secret, so run {run_id} did not record it: this "
                f"resume uses its default; if the run started with another value, pass "
                f"-i {name}=VALUE again"
            )

    for name, value in recorded.items():
        if name in given:
            continue
        try:
            resolve_inputs({name: workflow.inputs[name]}, {name: value})
        except UsageError as error:
            raise UsageError(
                f"{error} (recorded by run {run_id}; the workflow changed since): "
                f"pass -i {name}=VALUE"
            ) from None
    return notes


def _resume_command(args: argparse.Namespace) -> str:
    """The command that resumes this run: the same file, backend and folders."""
    from runner.client import hidden_credentials

    words = ["lightly-run", args.workflow]
    if args.local:
        words.append("--local")
    server = hidden_credentials(args.server) if args.server else None
    for option, value, default in (
        ("--server", server, None),
        ("--data-dir", args.data_dir, None),
        ("--state-dir", args.state_dir, ".lightly-run"),
    ):
        if value not in (None, default):
            words += [option, value]
    return shlex.join([*words, "--resume"])


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _observer(masker: Any, workflow: Any) -> Any:
    """Step lines on stderr; in GitHub Actions folded per step, failures annotated."""
    from runner.engine.events import ConsoleObserver, GitHubActionsObserver

    if not _in_github_actions():
        return ConsoleObserver(masker)
    file = Path(workflow.path).resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    root = Path(workspace).resolve() if workspace else None
    if root is not None and file.is_relative_to(root):
        file = file.relative_to(root)  # annotations name repository paths
    step_lines = {
        step.id: (str(file), step.location.line)
        for step in workflow.steps
        if step.location is not None
    }
    return GitHubActionsObserver(masker, step_lines)


def _write_job_summary(state: Any, masker: Any) -> None:
    """Append the run's table to GitHub Actions' job summary, when there is one."""
    from runner.engine.events import markdown_summary

    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not (_in_github_actions() and path):
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown_summary(state, masker) + "\n")
    except OSError as error:  # the run's outcome does not depend on it
        print(f"warning: cannot write the job summary {path}: {error.strerror}", file=sys.stderr)


def _progress(args: argparse.Namespace, observer: Any) -> Any:
    """tqdm bars on a terminal, a masked line now and then elsewhere, nothing with --no-progress."""
    from runner.client.progress import no_progress, terminal_progress
    from runner.engine.progress import interval_from_environment, masked, periodic_lines

    if args.no_progress:
        return no_progress
    if sys.stderr.isatty():
        return masked(terminal_progress, observer.masker.mask)
    return periodic_lines(observer.message, interval_from_environment())


def _backend(args: argparse.Namespace, stack: ExitStack) -> tuple[str | None, str | None]:
    """(server location, token): the embedded server for --local, else flags and environment."""
    if args.local:
        from runner.local.server import start_in_thread

        server = start_in_thread(
            data_dir=Path(args.data_dir or Path(args.state_dir) / "local"), workers=1
        )
        stack.callback(server.stop)
        print(f"local Lightly server on {server.url} (data in {server.data_dir})", file=sys.stderr)
        return server.url, server.token
    token = os.environ.get("LIGHTLY_TOKEN")
    if not token:
        raise UsageError(
            "no Lightly token: export LIGHTLY_TOKEN=<your token>, or use --local for the embedded server"
        )
    from runner.client import check_server_url

    location, origin = args.server, "--server"
    if not location and os.environ.get("LIGHTLY_SERVER_LOCATION"):
        location, origin = os.environ["LIGHTLY_SERVER_LOCATION"], "LIGHTLY_SERVER_LOCATION"
    if location:
        try:
            check_server_url(location)
        except ValueError as error:
            raise UsageError(f"{origin}: {error}") from None
    return location, token


def plan(args: argparse.Namespace) -> int:
    """Show every call the workflow would make, with known values rendered; no request."""
    from runner.client import hidden_credentials
    from runner.engine.inputs import resolve_inputs
    from runner.engine.secrets import is_secret_variable
    from runner.workflow import templates
    from runner.workflow.loader import load

    workflow = load(args.workflow, load_catalog())
    # a plan needs no value: a required input not given is shown by name, as written
    inputs = resolve_inputs(workflow.inputs, _inputs(args), complete=False)
    missing = [name for name in workflow.inputs if name not in inputs]
    for name, spec in workflow.inputs.items():
        if spec.secret or name in missing:  # secret ones never shown: known only at run time
            inputs[name] = _Unknown(f"inputs.{name}")
    if missing:
        given = " ".join(f"-i {name}=VALUE" for name in missing)
        print(f"# required inputs not given, shown as <inputs.NAME>: {given}")
    context = {
        "inputs": inputs,
        "env": _PlanEnvironment(
            {
                # a password in a URL (DATABASE_URL=postgres://user:pw@…) is not shown either
                name: _Unknown(f"env.{name}")
                if is_secret_variable(name, value)
                else hidden_credentials(value)
                for name, value in os.environ.items()
            }
        ),
        "secrets": _Unknown("secrets"),
        "steps": {},
        "run": {
            "id": _Unknown("run.id"),
            "workflow": workflow.name,
            "started_at": _Unknown("run.started_at"),
            "workflow_dir": str(Path(workflow.path).resolve().parent),
        },
    }
    for number, step in enumerate(workflow.steps, 1):
        context["steps"][step.id] = _Unknown(f"steps.{step.id}")
        print(f"{number}. {step.id}: {step.uses}" + (f"  # {step.name}" if step.name else ""))
        if step.if_ is not None:
            print(f"     if: {_show(_render(step.if_, context, templates))}")
        if step.for_each is not None:
            print(f"     for_each: {_show(_render(step.for_each, context, templates))}")
        for key, value in step.with_.items():
            print(f"     {key}: {_show(_render(value, context, templates))}")
    return EXIT_OK


def _show(value: Any) -> str:
    """A rendered value for display: run-time unknowns as ``<path>``, data as JSON."""

    def plain(v: Any) -> Any:
        if isinstance(v, _Unknown):
            return str(v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    shown = plain(value)
    text = shown if isinstance(shown, str) else json.dumps(shown, default=str)
    return text.rstrip("\n").replace("\n", "\n       ")  # lines under the value, indented


def _render(value: Any, context: dict[str, Any], templates: Any) -> Any:
    try:
        return templates.render(value, {**context, "item": _Unknown("item")})
    except templates.TemplateError:
        return value


class _PlanEnvironment(dict):  # type: ignore[type-arg]
    """The environment as a plan shows it: a variable not set here may be at run time."""

    def __missing__(self, name: str) -> _Unknown:
        return _Unknown(f"env.{name}")


class _Unknown(dict):  # type: ignore[type-arg]
    """A value only known at run time; renders as ``<path>``."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def __getattr__(self, name: str) -> _Unknown:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Unknown(f"{self._path}.{name}")

    def __getitem__(self, key: Any) -> _Unknown:
        return _Unknown(
            f"{self._path}[{key!r}]" if not isinstance(key, str) else f"{self._path}.{key}"
        )

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> _Unknown:
        return self[key]

    def __str__(self) -> str:
        return f"<{self._path}>"

    __repr__ = __str__

    # counting, iterating, testing or comparing it cannot be known now: the plan then
    # shows the template as written (not "0 items" or "false")
    def _unknowable(self, *_: Any) -> Any:
        raise TypeError(f"{self} is known only at run time")

    __len__ = __iter__ = __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = (
        _unknowable
    )


def runs(args: argparse.Namespace) -> int:
    """List the recorded runs (of one workflow file), newest first."""
    import time

    from runner.engine.state import StateStore

    store = StateStore(Path(args.state_dir))
    recorded, unreadable = store.runs()
    if args.workflow:
        wanted = os.path.abspath(args.workflow)
        recorded = [r for r in recorded if os.path.abspath(r.workflow_path) == wanted]
    if args.output == "json":
        rows = [
            {
                "run_id": r.run_id,
                "status": r.status,
                "workflow": r.workflow,
                "workflow_path": r.workflow_path,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "failed_steps": [i for i, s in r.steps.items() if s.status == "failed"],
            }
            for r in recorded
        ]
        print(json.dumps({"runs": rows, "unreadable": unreadable}, indent=2))
        return EXIT_OK
    if not recorded:
        where = f" of {args.workflow}" if args.workflow else ""
        print(f"no runs{where} in {store.root / 'runs'}", file=sys.stderr)
    for r in recorded:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.started_at))
        failed = [i for i, s in r.steps.items() if s.status in ("failed", "interrupted")]
        detail = f"  (at step {failed[0]})" if failed and r.status != "succeeded" else ""
        print(f"{r.run_id}  {r.status:<11}  {started}  {_shown_path(r.workflow_path)}{detail}")
    for run_id in unreadable:
        print(f"{run_id}  unreadable: {store.path(run_id)}", file=sys.stderr)
    return EXIT_OK


def _shown_path(path: str) -> str:
    """``path`` relative to the current folder when it is under it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative
