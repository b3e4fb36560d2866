"""Every ApiWorkflowClient operation as an action named after it.

Arguments come from the method's signature (``introspect``). What a YAML file
cannot hold is adapted: a ``run`` is given as ``run_id``, a ``tag_data`` as
``tag_name``, a file object as a path; progress-bar arguments are left out
(the runner passes bars from the client's ``progress`` factory). Extras: ``if_exists: reuse | error`` on
dataset creation, ``output:`` on operations that return data.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import typing
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from runner.actions.config_schemas import config_schemas
from runner.actions.files import write_text_atomically
from runner.actions.introspect import docstring_parts, parameters_schema
from runner.actions.registry import Action, cancelled
from runner.client import ApiWorkflowClient, ComputeWorkerRunInfo, stop_when
from runner.client.datasets import DATASET_NAME
from runner.client.models import DatasetType
from runner.client.progress import no_progress

HIDDEN_PARAMETERS = frozenset({"progress_bar", "verbose", "session"})
EXTRA_OUTPUTS: dict[str, tuple[str, ...]] = {
    "create_dataset": ("dataset_id",),
    "create_new_dataset_with_unique_name": ("dataset_id",),
    "set_dataset_id_by_name": ("dataset_id",),
    "schedule_compute_worker_run": ("scheduled_run_id",),
    "register_compute_worker": ("worker_id",),
    "create_compute_worker_config": ("config_id",),
    "create_tag_from_filenames": ("tag_id",),
    "upload_embeddings": ("embedding_id",),
    "get_compute_worker_run_info": ("state", "message"),
}
OUTPUT_PARAMETER = {
    "type": "string",
    "description": "Runner extra: also write the result to this file (JSON, or text for text results).",
}
#: ``dataset_type: IMAGES`` as the Lightly docs spell it (``DatasetType.IMAGES``) is the
#: wire value ``Images``
DATASET_TYPE_CONSTANTS = {
    name: value for name, value in vars(DatasetType).items() if not name.startswith("_")
}
IF_EXISTS_PARAMETER = {
    "enum": ["reuse", "error"],
    "default": "error",
    "description": "Runner extra: 'reuse' makes an existing dataset of this name current instead of failing.",
}


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of a client result."""
    if isinstance(value, ComputeWorkerRunInfo):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, Iterator)):
        return [jsonable(v) for v in value]
    if hasattr(value, "status_code"):
        return {"status": value.status_code}
    return value


def client_state(client: Any) -> dict[str, Any]:
    """What the client remembers between steps (recorded so --resume can restore it)."""
    return {
        "dataset_id": getattr(client, "_dataset_id", None),
        "embedding_id": getattr(client, "embedding_id", None),
    }


def restore_client_state(client: Any, state: dict[str, Any]) -> None:
    if client is None:  # a workflow that never reaches the Lightly API runs without one
        return
    client._dataset_id = state.get("dataset_id")
    client.embedding_id = state.get("embedding_id")


def write_output(path: str, result: Any) -> None:
    """Write a result to ``path``: text as is, anything else as JSON."""
    text = result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False)
    write_text_atomically(Path(path), text + ("" if text.endswith("\n") else "\n"))


def _operation_names() -> list[str]:
    names = []
    for name, member in inspect.getmembers(ApiWorkflowClient):
        if not name.startswith("_") and inspect.isfunction(member):
            names.append(name)
    return sorted(names)


def _returns_data(method: Any) -> bool:
    try:
        hint = typing.get_type_hints(method).get("return")
    except Exception:
        return True
    return hint is not type(None) and hint is not None


def _schema(name: str, method: Any) -> dict[str, Any]:
    schema = parameters_schema(method, skip=HIDDEN_PARAMETERS)
    properties = schema["properties"]
    required = schema["required"]
    renames = {
        "run": ("run_id", "Id of the run (DockerRunData is fetched for you)."),
        "tag_data": ("tag_name", "Name of the tag."),
    }
    for old, (new, description) in renames.items():
        if old in properties:
            properties = {(new if k == old else k): v for k, v in properties.items()}
            properties[new] = {"type": "string", "description": description}
            required = [new if r == old else r for r in required]
    if name == "upload_file_with_signed_url":
        properties["file"] = {"type": "string", "description": "Path of the file to upload."}
    if name == "upload_dataset":
        properties["input"] = {"type": "string", "description": "Folder of images to upload."}
    if name == "create_dataset":
        properties["if_exists"] = IF_EXISTS_PARAMETER
    for parameter, config_schema in config_schemas().items():
        if parameter in properties:
            description = properties[parameter].get("description")
            properties[parameter] = {
                **config_schema,
                **({"description": description} if description else {}),
                **({} if parameter in required else {"default": None}),
            }
    for parameter in ("dataset_name", "dataset_basename"):
        if name.startswith("create_") and parameter in properties:
            # the platform's DSNAME, checked by the client too: a bad name is found offline
            properties[parameter] = {
                **properties[parameter],
                "minLength": 3,
                "pattern": DATASET_NAME.pattern,
                "x-expected": "a dataset name: at least 3 ASCII letters, digits, spaces, "
                "'_' or '-', starting with a letter or digit",
            }
    if "dataset_type" in properties:
        dataset_type = properties["dataset_type"]
        properties["dataset_type"] = {
            **dataset_type,
            "enum": [*dataset_type["enum"], *DATASET_TYPE_CONSTANTS],
            "description": f"{dataset_type.get('description', '')} DatasetType's constant "
            "names (IMAGES, VIDEOS, CROPS) are accepted too.".strip(),
        }
    if _returns_data(method):
        properties["output"] = OUTPUT_PARAMETER
    return {**schema, "properties": properties, "required": required}


def _make_call(name: str) -> Any:
    def call(client: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        args = dict(arguments)
        output = args.pop("output", None)
        if (
            "run_id" in args
            and name != "get_compute_worker_run"
            and "run_id" not in _parameter_names(name)
        ):
            args["run"] = client.get_compute_worker_run(args.pop("run_id"))
        if "tag_name" in args and "tag_name" not in _parameter_names(name):
            args["tag_data"] = client.get_tag_by_name(args.pop("tag_name"))
        if args.get("dataset_type") in DATASET_TYPE_CONSTANTS:
            args["dataset_type"] = DATASET_TYPE_CONSTANTS[args["dataset_type"]]
        if_exists = args.pop("if_exists", "error") if name == "create_dataset" else "error"
        if if_exists == "reuse" and client.dataset_name_exists(args["dataset_name"]):
            client.set_dataset_id_by_name(args["dataset_name"])
            return {"result": None, "dataset_id": client.dataset_id, "reused": True}
        with ExitStack() as stack:
            # a timed-out step's operation stops at its next request, not hours later
            # (a retry of the step would otherwise upload alongside it)
            stack.enter_context(stop_when(cancelled()))
            if name == "upload_file_with_signed_url":
                args["file"] = stack.enter_context(open(args["file"], "rb"))
            if "progress_bar" in _parameter_names(name):
                progress = getattr(client, "progress", no_progress)
                args["progress_bar"] = stack.enter_context(
                    progress(total=None, desc=name, unit="item")
                )
            result = getattr(client, name)(**args)
        result = jsonable(result)
        if output:
            write_output(output, result)
        return {"result": result, **_named_outputs(name, client, result)}

    return call


@functools.cache
def _parameter_names(name: str) -> frozenset[str]:
    """The operation's parameter names (asked up to three times per step call)."""
    return frozenset(inspect.signature(getattr(ApiWorkflowClient, name)).parameters)


def _named_outputs(name: str, client: Any, result: Any) -> dict[str, Any]:
    if name in ("create_dataset", "create_new_dataset_with_unique_name", "set_dataset_id_by_name"):
        return {"dataset_id": client.dataset_id}
    if name == "upload_embeddings":
        return {"embedding_id": client.embedding_id}
    if name == "create_tag_from_filenames":
        return {"tag_id": result.get("id")}
    if name == "get_compute_worker_run_info":
        return {"state": result["state"], "message": result["message"]}
    if name in EXTRA_OUTPUTS:
        return {EXTRA_OUTPUTS[name][0]: result}
    if name.startswith("export_") and isinstance(result, list):
        return {"count": len(result)}
    return {}


def client_actions() -> list[Action]:
    """One action per public ApiWorkflowClient method."""
    actions = []
    for name in _operation_names():
        method = getattr(ApiWorkflowClient, name)
        summary, _, _returns = docstring_parts(method)
        outputs = (
            "result",
            *EXTRA_OUTPUTS.get(name, ()),
            *(("count",) if name.startswith("export_") else ()),
        )
        actions.append(
            Action(
                name=name,
                call=_make_call(name),
                params_schema=_schema(name, method),
                outputs=outputs,
                doc=summary,
                details=inspect.getdoc(method) or "",
                extras=tuple(
                    k for k in ("if_exists", "output") if k in _schema(name, method)["properties"]
                ),
            )
        )
    return actions
