"""Runner-native actions: what a declarative file needs beyond the client's operations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from runner.actions.client_ops import jsonable
from runner.actions.files import write_text_atomically
from runner.actions.registry import Action, is_true, pause
from runner.client.progress import no_progress
from runner.errors import LightlyRunError


class AssertionFailed(LightlyRunError):
    """An ``assert`` step found its condition false."""


class WorkerRunUnsuccessful(LightlyRunError):
    """A waited-for Lightly Worker run ended in a state other than COMPLETED."""

    transient = False  # waiting again sees the same end: no step retry
    spends_inputs = True  # --resume schedules anew: the step that scheduled it runs again


def wait_compute_worker_run(client: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Polls a scheduled run until it ends, at most one request per ``poll_interval``.

    The interval grows by half each poll up to ``max_interval``: a short run's end is
    noticed within about half its time, and a run of hours is polled every 30 s, as
    the official client does (not 21,600 requests in 6 h). A run that does not complete
    fails the step unless ``allow_failure`` (a nightly job must not stay green while
    every selection fails).
    """
    scheduled_run_id = args["scheduled_run_id"]
    interval = float(args.get("poll_interval", 1.0))
    max_interval = max(interval, float(args.get("max_interval", 30.0)))
    progress = getattr(client, "progress", no_progress)
    with progress(total=None, desc=f"run {scheduled_run_id}", unit="poll") as bar:
        while True:
            info = client.get_compute_worker_run_info(scheduled_run_id)
            bar.set_postfix_str(f"{info.state}: {info.message}" if info.message else info.state)
            if info.in_end_state():
                break
            pause(interval)  # a timed-out step stops polling here
            interval = min(interval * 1.5, max_interval)
    outputs: dict[str, Any] = {
        "state": info.state,
        "message": info.message,
        "succeeded": info.state == "COMPLETED",
    }
    outputs["run_id"] = None
    outputs["tags"] = []
    if info.state != "CANCELED_OR_NOT_EXISTING":
        run = client.get_compute_worker_run_from_scheduled_run(scheduled_run_id)
        outputs["run_id"] = run["id"]
        outputs["tags"] = jsonable(client.get_compute_worker_run_tags(run["id"]))
    outputs["result"] = {k: outputs[k] for k in ("run_id", "state", "message", "succeeded")}
    if not outputs["succeeded"] and not args.get("allow_failure", False):
        ended = f"{info.state}: {info.message}" if info.message else info.state
        raise WorkerRunUnsuccessful(
            f"the Lightly Worker run {outputs['run_id'] or scheduled_run_id} ended {ended} "
            "(--resume schedules another; with allow_failure: true the step succeeds and "
            "later steps can read steps.<id>.outputs.succeeded)"
        )
    return outputs


def run_ended_unsuccessfully(outputs: Mapping[str, Any]) -> bool:
    """A run that ended but not COMPLETED (``allow_failure``: the step succeeded) ends the
    same way however often it is waited on: ``--resume`` schedules anew, as after a
    failed wait."""
    return outputs.get("succeeded") is False


def assert_action(client: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Fails the step unless ``that`` is true (read as ``if`` reads a condition)."""
    if not is_true(args["that"]):
        raise AssertionFailed(args.get("message") or "assertion failed")
    return {"result": True}


def write_file(client: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Writes ``content`` to ``path`` (text as is; other values as JSON or YAML)."""
    path = Path(args["path"])
    content = args["content"]
    fmt = args.get("format") or ("text" if isinstance(content, str) else "json")
    if fmt == "json":
        text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "yaml":
        text = yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
    else:
        text = str(content)
    write_text_atomically(path, text)
    return {"result": str(path), "path": str(path), "content": text}


def run_workflow(client: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Only the engine can run a workflow file (kind "engine"); reaching this is a runner bug."""
    raise LightlyRunError("'run_workflow' can only run as a step of a workflow")


def native_actions() -> list[Action]:
    return [
        Action(
            name="wait_compute_worker_run",
            call=wait_compute_worker_run,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["scheduled_run_id"],
                "properties": {
                    "scheduled_run_id": {
                        "type": "string",
                        "description": "Id returned by schedule_compute_worker_run.",
                    },
                    "poll_interval": {
                        "type": "number",
                        "default": 1.0,
                        "exclusiveMinimum": 0,
                        "description": "First wait between polls, seconds.",
                    },
                    "max_interval": {
                        "type": "number",
                        "default": 30.0,
                        "exclusiveMinimum": 0,
                        "description": "Longest wait between polls, seconds (the interval grows by half each poll up to it).",
                    },
                    "allow_failure": {
                        "type": "boolean",
                        "default": False,
                        "description": "Succeed also when the run does not complete (FAILED, ABORTED, CRASHED, canceled): its outputs then say so. By default such a run fails the step.",
                    },
                },
            },
            outputs=("result", "run_id", "state", "message", "succeeded", "tags"),
            doc="Waits until a scheduled Lightly Worker run ends; outputs its run id, state, message, success and tags.",
            kind="native",
            spends_inputs=run_ended_unsuccessfully,
        ),
        Action(
            name="assert",
            call=assert_action,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["that"],
                "properties": {
                    "that": {
                        "description": 'A condition, usually a template such as "{{ steps.wait.outputs.succeeded }}".'
                    },
                    "message": {
                        "type": "string",
                        "description": "The error when the condition is false.",
                    },
                },
            },
            doc="Fails the run with a message unless a condition holds.",
            kind="native",
            needs_client=False,
        ),
        Action(
            name="run_workflow",
            call=run_workflow,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["path"],
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "Workflow file to run, relative to the calling file.",
                    },
                    "inputs": {
                        "type": "object",
                        "description": "Values of the called workflow's inputs.",
                    },
                },
            },
            outputs=("result", "steps", "status"),
            doc="Runs another workflow file with the same backend; outputs its steps' outputs.",
            kind="engine",
        ),
        Action(
            name="write_file",
            call=write_file,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["path", "content"],
                "properties": {
                    "path": {
                        "type": "string",
                        "description": "File to write (folders are created).",
                    },
                    "content": {"description": "Text, or any value to write as JSON/YAML."},
                    "format": {
                        "enum": ["text", "json", "yaml"],
                        "description": "How to write content.",
                    },
                },
            },
            outputs=("result", "path", "content"),
            doc="Writes text or data to a file.",
            kind="native",
            needs_client=False,
        ),
    ]
