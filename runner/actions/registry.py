"""The action registry: every action a step may ``use``, and the catalog derived from it.

An ``Action`` is a function ``call(client, arguments) -> outputs`` with a JSON
Schema of its arguments, the names of its outputs and a description. The engine
only ever sees this registry; ``catalog()`` is the plain-data view the workflow
layer validates against (and ``schemas/workflow.schema.json`` is built from).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

ActionCall = Callable[[Any, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """One step action."""

    name: str
    call: ActionCall
    params_schema: dict[str, Any]
    outputs: tuple[str, ...] = ("result",)
    doc: str = ""
    details: str = ""
    #: "client" for client operations, "native" for the runner's own
    kind: str = "client"
    extras: tuple[str, ...] = field(default_factory=tuple)


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
