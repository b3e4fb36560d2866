"""The action registry: every action a step may ``use``, and the catalog derived from it.

An ``Action`` is a function ``call(client, arguments) -> outputs`` with a JSON
Schema of its arguments, the names of its outputs and a description. The engine
only ever sees this registry; ``catalog()`` is the plain-data view the workflow
layer validates against (and ``schemas/workflow.schema.json`` is built from).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from runner.errors import LightlyRunError

ActionCall = Callable[[Any, dict[str, Any]], dict[str, Any]]


def spends_nothing(outputs: Mapping[str, Any]) -> bool:
    """An action whose outputs never use up what earlier steps gave it."""
    return False


#: rendered text that a condition (``if``, ``assert``'s ``that``) reads as false
_FALSE_TEXTS = frozenset({"", "false", "0", "no", "none", "null"})


def is_true(value: Any) -> bool:
    """How a rendered condition is read: text is false if it is empty, ``false``, ``0``,
    ``no``, ``none`` or ``null`` (any case, spaces around); other values as Python does."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_TEXTS
    return bool(value)


@dataclass(frozen=True)
class Action:
    """One step action."""

    name: str
    call: ActionCall
    params_schema: dict[str, Any]
    outputs: tuple[str, ...] = ("result",)
    doc: str = ""
    details: str = ""
    #: "client" for client operations, "native" for the runner's own, "engine" for
    #: those the engine runs itself (run_workflow: it needs the engine)
    kind: str = "client"
    extras: tuple[str, ...] = field(default_factory=tuple)
    #: False for actions that never reach the Lightly API (a workflow of only these
    #: runs without a token or server)
    needs_client: bool = True
    #: whether a call's outputs say it used up what earlier steps gave it (a worker run
    #: that ended unsuccessfully, waited on with allow_failure): ``--resume`` runs those
    #: steps again. A call that fails says so with ``spends_inputs = True`` on its error.
    spends_inputs: Callable[[Mapping[str, Any]], bool] = spends_nothing


@functools.lru_cache(maxsize=1)
def registry() -> Mapping[str, Action]:
    """All actions by name (client operations first, then native ones)."""
    from runner.actions import client_ops, native

    actions = {a.name: a for a in client_ops.client_actions()}
    actions.update({a.name: a for a in native.native_actions()})
    return dict(sorted(actions.items()))


def catalog() -> dict[str, dict[str, Any]]:
    """The registry as plain data for validation: description, parameters, outputs."""
    return catalog_of(registry())


def catalog_of(actions: Mapping[str, Action]) -> dict[str, dict[str, Any]]:
    """``actions`` as plain data for validation."""
    return {
        name: {
            "description": action.doc,
            "parameters": action.params_schema,
            "outputs": list(action.outputs),
        }
        for name, action in actions.items()
    }


# -- cancellation ---------------------------------------------------------------
# A Python thread cannot be killed, so the engine runs a step with a timeout in a
# thread and, when time is up, sets that thread's cancel event. Actions that wait
# call ``pause()`` instead of sleeping and stop promptly; client operations run
# under ``runner.client.cancel.stop_when`` and stop at their next request; the
# result of whatever was still running is discarded.

T = TypeVar("T")
_local = threading.local()
_NEVER = threading.Event()


class StepCancelled(LightlyRunError):
    """The step's time ran out while it was still working."""


def cancelled() -> threading.Event:
    """The cancel event of the step running in this thread (never set outside a timed step)."""
    event: threading.Event = getattr(_local, "event", None) or _NEVER
    return event


def run_cancellable(call: Callable[[], T], event: threading.Event) -> T:
    """Run ``call`` in this thread with ``event`` as its cancel event."""
    _local.event = event
    try:
        return call()
    finally:
        _local.event = None


def pause(seconds: float) -> None:
    """Sleep ``seconds``, or raise ``StepCancelled`` as soon as the step is cancelled."""
    if cancelled().wait(seconds):
        raise StepCancelled("the step was cancelled (its timeout passed)")
