"""Running a workflow: if / for_each / render / dispatch / retry / timeout / record / resume."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner.actions.registry import catalog_of, is_true, run_cancellable
from runner.engine.events import IndentedObserver, RunObserver
from runner.engine.secrets import MASK, MIN_SECRET_LENGTH, Masker, is_secret_variable
from runner.engine.state import RunState, StateStore, StepRecord, new_run_id
from runner.errors import (
    EXIT_OK,
    EXIT_STEP_FAILED,
    LightlyRunError,
    OutputClosed,
    Terminated,
    UsageError,
)
from runner.workflow import templates
from runner.workflow.model import FOR_EACH_OUTPUTS, RUN_KEYS, Step, Workflow

#: errors that retrying cannot fix
_NOT_RETRIED = (templates.TemplateError, UsageError)
#: how long a timed-out step's thread may take to stop before the run goes on
_STOP_GRACE_SECONDS = 30.0


class StepTimeout(LightlyRunError):
    """A step did not finish within its timeout."""


class ForEachItemFailed(LightlyRunError):
    """One item of a ``for_each`` step failed (after its retries)."""


class CalledWorkflowFailed(LightlyRunError):
    """A workflow run by ``run_workflow`` did not succeed."""

    transient = False  # its steps had their own retries; again, they would run twice
    spends_inputs = False  # set when a step in it used up what it was given


#: the longest text made of a secret that is masked (a megabyte took seconds to add)
MAX_DERIVED_CHARS = 65_536
#: texts of truth values: a test's answer, never masked (they would mask every "true")
_TRUTH_TEXTS = frozenset({"true", "false", "none", ""})


def _texts(value: Any) -> list[str]:
    """The texts in ``value`` (strings in lists and mappings too); numbers are not."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    return []


#: run_workflow's answer whether a step it called used up what it was given; returned
#: with the call (not kept on the engine: with a timeout, the call runs in a thread)
_USED_UP = "_steps_used_up"


@dataclass
class Engine:
    """Runs workflows against one client through the action registry."""

    registry: Mapping[str, Any]
    client: Any
    store: StateStore
    masker: Masker
    observer: RunObserver
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    client_state: Callable[[Any], dict[str, Any]] = field(default=lambda client: {})
    restore_client_state: Callable[[Any, dict[str, Any]], None] = field(
        default=lambda client, state: None
    )
    #: resolved files of the workflows running, outermost first (run_workflow cycles)
    calling: tuple[Path, ...] = ()
    _workflow_file: Path = field(init=False, default_factory=Path, repr=False)
    #: the state of the run going on or last run (an interrupted run's, for its summary)
    last_state: RunState | None = field(init=False, default=None, repr=False)
    _secret_inputs: frozenset[str] = field(init=False, default=frozenset(), repr=False)

    def run(
        self, workflow: Workflow, inputs: dict[str, Any], *, resume: RunState | None = None
    ) -> RunState:
        """Run (or resume) ``workflow``; returns the final, saved state. Ctrl-C saves and re-raises."""
        return self._run(workflow, inputs, resume)[0]

    def _run(
        self, workflow: Workflow, inputs: dict[str, Any], resume: RunState | None
    ) -> tuple[RunState, dict[str, Any]]:
        """The final state, and the template context with the steps' unmasked outputs."""
        secrets = self._secrets(workflow, inputs)  # first: the state below masks with them
        state = self._start_state(workflow, inputs, resume)
        self.last_state = state
        self._workflow_file = Path(workflow.path).resolve()
        declared = {name for name, spec in workflow.inputs.items() if spec.secret}
        # and those given a secret (by the file that calls this one: inputs.tok | reverse)
        given = {name for name, value in inputs.items() if self.masker.hides(value)}
        self._secret_inputs = frozenset(declared | given)
        context = self._context(workflow, inputs, secrets, state)
        reusing = resume is not None
        spent = _spent_steps(workflow, state) if reusing else set()
        self.store.save(state)
        try:
            for step in workflow.steps:
                previous = state.steps.get(step.id)
                if (
                    reusing
                    and previous
                    and previous.status in ("succeeded", "skipped")
                    and previous.digest == self._digest(step, workflow, context)
                ):
                    if previous.masked:  # later steps need what the state does not keep
                        self.observer.message(
                            f"  {step.id}: runs again: its outputs held secrets, which the "
                            "run's state does not keep"
                        )
                    elif step.id in spent:
                        whose = (
                            "a step it called" if step.uses == "run_workflow" else "a later step"
                        )
                        self.observer.message(
                            f"  {step.id}: runs again: {whose} used up what it gave "
                            "(a worker run that ended)"
                        )
                    else:
                        previous.reused = True
                        self._expose(context, step.id, previous)
                        # as after this step, not as where the last run stopped
                        self.restore_client_state(
                            self.client, previous.client_state or state.client_state
                        )
                        self.observer.step_finished(step.id, "reused", 0.0, None)
                        continue
                reusing = False
                record = self._run_step(step, workflow, context, state)
                if record.status == "failed" and not step.continue_on_error:
                    state.status = "failed"
                    break
            else:
                state.status = "succeeded"
        except KeyboardInterrupt as interrupt:
            state.status = "interrupted"
            cause = (
                "SIGTERM"
                if isinstance(interrupt, Terminated)
                else "the output's reader went away"
                if isinstance(interrupt, OutputClosed)
                else "Ctrl-C"
            )
            for record in state.steps.values():
                if record.status == "running":
                    record.status, record.finished_at, record.error = (
                        "interrupted",
                        self.clock(),
                        f"interrupted ({cause})",
                    )
            raise
        finally:
            state.finished_at = self.clock()
            self.store.save(state)
        return state, context

    def _start_state(
        self, workflow: Workflow, inputs: dict[str, Any], resume: RunState | None
    ) -> RunState:
        fresh = {
            s.id: StepRecord(digest=workflow.step_digests.get(s.id, "")) for s in workflow.steps
        }
        if resume is not None:
            resume.status, resume.finished_at = "running", None
            resume.inputs = self._recordable(workflow, inputs)
            # the steps of the workflow as it is now: removed ones go, new ones are pending
            resume.steps = {i: resume.steps.get(i, record) for i, record in fresh.items()}
            return resume
        return RunState(
            run_id=new_run_id(),
            workflow=workflow.name,
            workflow_path=os.path.abspath(workflow.path),  # --resume finds it from any folder
            source_digest=workflow.source_digest,
            started_at=self.clock(),
            inputs=self._recordable(workflow, inputs),
            steps=fresh,
        )

    def _recordable(self, workflow: Workflow, inputs: dict[str, Any]) -> dict[str, Any]:
        """``inputs`` as a state file may hold them: secret ones ``***`` whatever their value."""
        return {
            name: MASK if name in workflow.inputs and workflow.inputs[name].secret else value
            for name, value in self.masker.mask(inputs).items()
        }

    def _secrets(self, workflow: Workflow, inputs: dict[str, Any]) -> dict[str, str]:
        """The ``secrets`` the steps read, from the environment; they and secret inputs
        join the masker."""
        secret_names = secrets_read(workflow)
        secrets = {name: os.environ[name] for name in secret_names}
        declared = [(f"secret {n}", v) for n, v in secrets.items()] + [
            (f"secret input '{n}'", inputs.get(n)) for n, s in workflow.inputs.items() if s.secret
        ]
        for what, value in declared:
            if not self.masker.add(value) and value != "":
                self.observer.message(
                    f"warning: {what} is shorter than {MIN_SECRET_LENGTH} characters: it "
                    "cannot be told from ordinary text, so it is not masked in output"
                )
        return secrets

    @staticmethod
    def _context(
        workflow: Workflow, inputs: dict[str, Any], secrets: dict[str, str], state: RunState
    ) -> dict[str, Any]:
        context = {
            "inputs": inputs,
            "env": dict(os.environ),
            "secrets": secrets,
            "steps": {},
            "run": {
                "id": state.run_id,
                "workflow": workflow.name,
                "started_at": state.started_at,
                "workflow_dir": str(Path(workflow.path).resolve().parent),
            },
        }
        assert tuple(context["run"]) == RUN_KEYS  # what validate lets templates read
        return context

    def _digest(self, step: Step, workflow: Workflow, context: dict[str, Any]) -> str:
        """The step's definition and the inputs and environment variables its templates read.

        ``--resume`` reuses a step only while this is unchanged. Secret values are left
        out (a state file must not hold even their hash): changing one alone does not
        run a succeeded step again.
        """
        secret_inputs = {("inputs", name) for name, spec in workflow.inputs.items() if spec.secret}
        refs = templates.references([step.with_, step.if_, step.for_each])
        read = self._values_read(refs, context, leave_out=secret_inputs)
        if getattr(self.registry.get(step.uses), "kind", None) == "engine":  # run_workflow
            read["called file"] = self._called_files_digest(step, workflow, context)
        definition = workflow.step_digests.get(step.id, "")
        if not read:
            return definition
        text = json.dumps([definition, read], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _values_read(
        self,
        refs: list[tuple[str, ...]],
        context: dict[str, Any],
        *,
        leave_out: set[tuple[str, str]],
    ) -> dict[str, Any]:
        """The inputs and environment variables ``refs`` read, by name (all of them for a
        bare ``env``, as ``env[name]`` reads), but secret ones."""
        read: dict[str, Any] = {}
        for ref in refs:
            if ref[0] not in ("inputs", "env"):
                continue  # steps.*: a changed earlier step already ends reuse
            values = context[ref[0]]
            for name in [ref[1]] if len(ref) > 1 else sorted(values):
                value = values.get(name)
                if (ref[0], name) not in leave_out and self.masker.mask(value) == value:
                    read[f"{ref[0]}.{name}"] = value
        return read

    def _called_files_digest(self, step: Step, workflow: Workflow, context: dict[str, Any]) -> str:
        """The content of the file a ``run_workflow`` step calls and of the files that one
        calls in turn, with the environment variables their templates read ("?" if unknown
        yet). What they are given is read by the calling step's own templates."""
        from runner.workflow.calls import (
            called_file,
            calls_by_template,
            files_called_from,
            step_templates,
        )

        try:
            path = str(templates.render(step.with_.get("path"), context))
            files = files_called_from(called_file(workflow.path, path))
            digest = hashlib.sha256()
            for file in files:
                digest.update(file.read_bytes())
        except Exception:
            return "?"  # not renderable or readable: the step will say why when it runs
        if any(calls_by_template(file) for file in files):
            # a file called by a template is known only when it runs: never reused
            digest.update(os.urandom(16))
        refs = templates.references([step_templates(file) for file in files])
        secrets = {("env", ref[1]) for ref in refs if ref[0] == "secrets" and len(ref) > 1}
        env = [ref for ref in refs if ref[0] == "env"]  # inputs: from the calling step
        read = self._values_read(env, context, leave_out=secrets)
        digest.update(json.dumps(read, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    @staticmethod
    def _expose(
        context: dict[str, Any],
        step_id: str,
        record: StepRecord,
        outputs: dict[str, Any] | None = None,
    ) -> None:
        """Later steps read ``outputs`` (unmasked: masking is for what is shown or stored),
        or, for a reused step, the recorded ones."""
        shown = record.outputs if outputs is None else outputs
        context["steps"][step_id] = {"outputs": shown, "status": record.status}

    def _run_step(
        self, step: Step, workflow: Workflow, context: dict[str, Any], state: RunState
    ) -> StepRecord:
        record = StepRecord(
            digest=self._digest(step, workflow, context), status="running", started_at=self.clock()
        )
        state.steps[step.id] = record
        self.store.save(state)
        self.observer.step_started(step.id, step.title, step.uses)
        outputs: dict[str, Any] = {}
        try:
            if step.if_ is not None and not is_true(templates.render(step.if_, context)):
                record.status = "skipped"
            else:
                outputs = self._execute(step, context, record)
                record.masked = self.masker.hides(outputs)
                record.outputs = self.masker.mask(outputs) if record.masked else outputs
                record.status = "succeeded"
            record.client_state = self.client_state(self.client)
            if record.status == "succeeded":
                state.client_state = record.client_state
        except KeyboardInterrupt:
            raise
        except Exception as error:
            record.status = "failed"
            hint = ""
            if isinstance(error.__cause__ or error, templates.TemplateError):
                hint = _without_outputs(step, context)
            record.error = self.masker.mask(_describe(error) + hint)
        record.finished_at = self.clock()
        self._expose(context, step.id, record, outputs)
        self.store.save(state)
        self.observer.step_finished(step.id, record.status, record.duration or 0.0, record.error)
        return record

    def _mask_derived_secrets(self, step: Step, value: Any, context: dict[str, Any]) -> None:
        """Mask what ``value``, a part of the step, makes of a secret (``secrets.X |
        reverse``, ``secrets.X[:10]``, the ``item`` of a for_each over one): the masker
        knows the secrets as written, not what a template computes from them. A text too
        short or too long to mask is warned about."""
        from_secret = any(self._reads_secret(ref) for ref in templates.references(step.for_each))

        def reads_secret(ref: tuple[str, ...]) -> bool:
            return self._reads_secret(ref) or (from_secret and ref[0] == "item")

        values = templates.derived_values(value, context, reads_secret)
        for text in (t for value in values for t in _texts(value)):
            if text.strip().lower() in _TRUTH_TEXTS:
                continue  # "True": a test's answer, not the secret's content
            if len(text) > MAX_DERIVED_CHARS or not self.masker.add(text):
                self.observer.message(
                    f"  {step.id}: warning: a template makes a text of a secret too short or "
                    "too long to be masked in output"
                )

    def _reads_secret(self, ref: tuple[str, ...]) -> bool:
        if ref[0] == "secrets":
            return True
        if ref[0] == "env":  # named like *TOKEN*, *SECRET*: masked as the secrets are
            return len(ref) > 1 and is_secret_variable(ref[1], os.environ.get(ref[1], ""))
        if ref[0] != "inputs" or not self._secret_inputs:
            return False
        return len(ref) == 1 or ref[1] in self._secret_inputs  # bare ``inputs``: all of them

    def _execute(self, step: Step, context: dict[str, Any], record: StepRecord) -> dict[str, Any]:
        action = self.registry[step.uses]
        validator = _arguments_validator(action)
        if step.for_each is None:
            self._mask_derived_secrets(step, step.with_, context)
            arguments = _checked(validator, templates.render(dict(step.with_), context))
            return self._with_retry(step, action, arguments, record)
        self._mask_derived_secrets(step, step.for_each, context)
        items = templates.render(step.for_each, context)
        if isinstance(items, (tuple, range)):  # {{ range(3) }}, {{ (a, b) }}
            items = list(items)
        if not isinstance(items, list):
            raise UsageError(
                f"for_each of step '{step.id}' must give a list, got {type(items).__name__}"
            )
        results = []
        for number, item in enumerate(items, 1):
            try:
                self._mask_derived_secrets(step, step.with_, {**context, "item": item})
                arguments = templates.render(dict(step.with_), {**context, "item": item})
                arguments = _checked(validator, arguments)
                results.append(self._with_retry(step, action, arguments, record))
            except Exception as error:
                # masked before it is cut: a cut could leave part of a secret unmasked
                shown = self.masker.mask(repr(item))
                shown = shown if len(shown) <= 80 else shown[:77] + "..."
                raise ForEachItemFailed(
                    f"item {number} of {len(items)} ({shown}): {_describe(error)}"
                ) from error
        outputs = {"result": [r.get("result") for r in results], "items": results}
        assert tuple(outputs) == FOR_EACH_OUTPUTS  # what validate lets templates read
        return outputs

    def _with_retry(
        self, step: Step, action: Any, arguments: dict[str, Any], record: StepRecord
    ) -> dict[str, Any]:
        policy = step.retry
        for attempt in range(1, max(1, policy.attempts) + 1):
            record.attempts += 1
            try:
                outputs = self._call(step, action, arguments)
            except _NOT_RETRIED:
                raise
            except Exception as error:
                # per call, so one item of a for_each counts too
                record.spent_inputs |= getattr(error, "spends_inputs", False) is True
                if attempt >= policy.attempts or not _retryable(error, policy.on):
                    raise
                delay = min(policy.backoff.seconds * 2 ** (attempt - 1), policy.max_backoff.seconds)
                self.observer.message(
                    f"  {step.id}: attempt {attempt} failed ({_describe(error)}); retrying in {delay:.1f}s"
                )
                self.sleep(delay * random.uniform(0.9, 1.1))
            else:
                # succeeded, yet used up what it was given (allow_failure on an ended run)
                used_up = outputs.pop(_USED_UP, False) is True  # run_workflow's, off the outputs
                record.spent_inputs |= action.spends_inputs(outputs) is True or used_up
                return outputs
        raise AssertionError("unreachable")  # pragma: no cover

    def _call(self, step: Step, action: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            if action.kind == "engine":
                return self._run_workflow(arguments)
            return dict(action.call(self.client, arguments))

        if step.timeout is None:
            return call()
        outcome: dict[str, Any] = {}
        cancel = threading.Event()

        def target() -> None:
            try:
                outcome["value"] = run_cancellable(call, cancel)
            except BaseException as error:
                outcome["error"] = error

        worker = threading.Thread(target=target, name=f"step-{step.id}", daemon=True)

        def stop() -> None:
            # waits stop at once, client operations at their next request: give those in
            # flight a moment, so that neither a retry runs beside them nor the exit cuts
            # one off
            cancel.set()
            with contextlib.suppress(RuntimeError):  # interrupted before the thread started
                worker.join(_STOP_GRACE_SECONDS)

        try:
            worker.start()
            worker.join(step.timeout.seconds)
        except BaseException:  # Ctrl-C (a second one ends the wait at once)
            stop()
            raise
        if worker.is_alive():
            stop()
            raise StepTimeout(f"step '{step.id}' did not finish within {step.timeout}")
        if "error" in outcome:
            raise outcome["error"]
        return dict(outcome["value"])

    def _run_workflow(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """``run_workflow``: the called file's steps, with this run's client and masking."""
        from runner.engine.inputs import resolve_inputs
        from runner.workflow.calls import called_file
        from runner.workflow.loader import load

        called = Path(arguments["path"])
        file = called_file(self._workflow_file, arguments["path"])
        calling = self.calling or (self._workflow_file,)
        if file in calling:
            chain = " → ".join(p.name for p in (*calling, file))
            raise UsageError(f"run_workflow: {called} would call itself ({chain})")
        workflow = load(file, catalog_of(self.registry))
        inputs = resolve_inputs(workflow.inputs, arguments.get("inputs") or {})
        nested = dataclasses.replace(
            self,
            store=_Unsaved(),
            observer=IndentedObserver(self.observer),
            calling=(*calling, file),
        )
        state, context = nested._run(workflow, inputs, None)
        # a wait in it that allowed its run's failure: --resume calls the file again
        used_up = any(record.spent_inputs for record in state.steps.values())
        # unmasked, for the caller's later steps; the caller's record masks them
        outputs = {
            step_id: context["steps"].get(step_id, {}).get("outputs", record.outputs)
            for step_id, record in state.steps.items()
        }
        if state.status != "succeeded":
            failed = next((i for i, r in state.steps.items() if r.status == "failed"), "?")
            error = state.steps[failed].error if failed in state.steps else state.status
            failure = CalledWorkflowFailed(f"{called}: step '{failed}' failed: {error}")
            failure.spends_inputs = used_up  # a failed wait in it: --resume schedules anew
            raise failure
        return {"result": outputs, "steps": outputs, "status": state.status, _USED_UP: used_up}


class _Unsaved(StateStore):
    """The state store of a called workflow: its steps live in the caller's step outputs."""

    def __init__(self) -> None:
        pass  # no folder: nothing is written

    def save(self, state: RunState) -> None:
        pass


def _spent_steps(workflow: Workflow, state: RunState) -> set[str]:
    """The steps whose outputs a step of the last run used up (the scheduling of a worker
    run that ended unsuccessfully, whether its wait failed or allowed the failure):
    ``--resume`` runs them again rather than waiting on that run."""
    spent: set[str] = set()
    for step in workflow.steps:
        record = state.steps.get(step.id)
        if record is not None and record.spent_inputs:
            if step.uses == "run_workflow":  # a step it called used up what another gave:
                spent.add(step.id)  # one of the called file's, or one this step passed on
            refs = templates.references([step.with_, step.if_, step.for_each])
            spent.update(ref[1] for ref in refs if ref[0] == "steps" and len(ref) > 1)
    return spent


def secrets_read(workflow: Workflow) -> set[str]:
    """The names of the ``secrets`` the workflow's steps read.

    Raises:
        UsageError: If one of them is not set in the environment.
    """
    names = {
        ref[1]
        for step in workflow.steps
        for ref in templates.references([step.with_, step.if_, step.for_each])
        if ref[0] == "secrets" and len(ref) > 1
    }
    missing = sorted(name for name in names if name not in os.environ)
    if missing:
        raise UsageError(
            f"secret(s) not set: {', '.join(missing)}; export them as environment variables"
        )
    return names


def _arguments_validator(action: Any) -> Draft202012Validator | None:
    """The validator of the action's arguments (None if it declares no schema)."""
    schema = getattr(action, "params_schema", None)
    return _validator(json.dumps(schema, sort_keys=True, default=str)) if schema else None


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def _checked(validator: Draft202012Validator | None, arguments: dict[str, Any]) -> dict[str, Any]:
    """``arguments`` as rendered, if the action's schema takes them: a template may give
    None or text where an id or a number belongs, which validate cannot know.

    Raises:
        UsageError: Naming the first argument that does not fit.
    """
    if validator is None:
        return arguments
    error = min(
        validator.iter_errors(arguments), key=lambda e: list(map(str, e.path)), default=None
    )
    if error is None:
        return arguments
    where = ".".join(map(str, error.path)) or "with"
    hint = ""
    wanted = error.schema.get("type") if isinstance(error.schema, dict) else None
    if error.validator == "type" and isinstance(error.instance, str) and wanted in _CASTS:
        hint = f" (a template gives text: add | {_CASTS[wanted]} to it)"
    raise UsageError(f"argument {where}, as rendered: {error.message}{hint}")


_CASTS = {"integer": "int", "number": "float", "boolean": "bool"}


def _retryable(error: Exception, kinds: tuple[str, ...]) -> bool:
    if getattr(error, "transient", True) is False:  # says itself it will fail again
        return "any" in kinds
    status = getattr(error, "status", None)
    if not kinds:
        # by default only what may pass: no client mistakes (4xx other than 408/429), no failed assertions
        failed_assertion = type(error).__name__ == "AssertionFailed"
        client_mistake = (
            isinstance(status, int) and 400 <= status < 500 and status not in (408, 429)
        )
        return not (failed_assertion or client_mistake)
    if "any" in kinds:
        return True
    name = type(error).__name__.lower()
    for kind in kinds:
        if kind == "timeout" and ("timeout" in name):
            return True
        if kind == "connection" and ("transport" in name or "connection" in name):
            return True
        if kind == "http" and status is not None:
            return True
        if status is not None and (
            kind == str(status) or (kind.endswith("xx") and str(status)[0] == kind[0])
        ):
            return True
    return False


def _without_outputs(step: Step, context: dict[str, Any]) -> str:
    """A hint naming the earlier steps this one reads that ended without outputs."""
    read = {
        ref[1]
        for ref in templates.references([step.with_, step.if_, step.for_each])
        if ref[0] == "steps" and len(ref) > 2 and ref[2] == "outputs"
    }
    empty = [
        f"step '{i}' {context['steps'][i]['status']}"
        for i in sorted(read)
        if i in context["steps"] and context["steps"][i]["status"] in ("skipped", "failed")
    ]
    return f" ({', '.join(empty)}: no outputs)" if empty else ""


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, LightlyRunError) else f"{type(error).__name__}: {text}"


def exit_code(state: RunState) -> int:
    return EXIT_OK if state.status == "succeeded" else EXIT_STEP_FAILED
