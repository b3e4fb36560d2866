"""Wire shapes of the Lightly API, in one place.

Responses are returned as ``WireModel``: a ``dict`` with the wire (camelCase) keys
exactly as the server sent them, so results are JSON-ready, plus read access by the
snake_case attribute names the official client's models use
(``tag.bit_mask_data`` reads ``tag["bitMaskData"]``). Methods that take a model
(a run, a tag) accept a WireModel, a plain wire dict, or any object with the
official snake_case attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def to_camel(name: str) -> str:
    """``corruptness_check`` → ``corruptnessCheck``; names without ``_`` unchanged."""
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:].lower() for part in rest)


def to_snake(name: str) -> str:
    """``bitMaskData`` → ``bit_mask_data``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


class WireModel(dict[str, Any]):
    """A JSON object from the API: wire keys, snake_case attribute access."""

    def __getattr__(self, name: str) -> Any:
        for key in (name, to_camel(name)):
            if key in self:
                return _wrap(self[key])
        if name.startswith("_"):
            raise AttributeError(name)
        # Optional fields the server left out read as None, like the official models.
        return None

    def to_dict(self) -> dict[str, Any]:
        """A plain (JSON-serialisable) copy with wire keys."""
        plain: dict[str, Any] = _unwrap(self)
        return plain


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, WireModel):
        return WireModel(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def wire(value: Any) -> Any:
    """Wrap decoded JSON: objects become WireModels (recursively), lists stay lists."""
    return _wrap(value)


def field(obj: Any, wire_name: str, default: Any = None) -> Any:
    """Read ``wire_name`` from a wire dict or an object with snake_case attributes."""
    if isinstance(obj, Mapping):
        if wire_name in obj:
            return obj[wire_name]
        return obj.get(to_snake(wire_name), default)
    return getattr(obj, to_snake(wire_name), default)


def to_wire(value: Any) -> Any:
    """Turn a request value (dicts, official pydantic models, dataclasses) into JSON data."""
    if hasattr(value, "to_dict") and not isinstance(value, Mapping):
        # official pydantic models: to_dict(by_alias=True) gives wire keys
        try:
            return value.to_dict(by_alias=True)
        except TypeError:
            return value.to_dict()
    if isinstance(value, Mapping):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if hasattr(value, "value") and hasattr(value, "name") and not isinstance(value, str):
        return value.value  # Enum members
    if hasattr(value, "tolist"):
        return value.tolist()  # numpy arrays and scalars
    return value


#: Run states in which a compute worker run will not change any more.
END_STATES = frozenset({"COMPLETED", "ABORTED", "FAILED", "CRASHED", "CANCELED_OR_NOT_EXISTING"})


@dataclass(frozen=True)
class ComputeWorkerRunInfo:
    """State and message of a scheduled compute worker run."""

    state: str
    message: str | None

    def in_end_state(self) -> bool:
        """Whether the run will not change any more."""
        return self.state in END_STATES

    def ended_successfully(self) -> bool:
        """Whether the run completed.

        Raises:
            ValueError: If the run is still in progress.
        """
        if not self.in_end_state():
            raise ValueError("Lightly Worker run is still in progress.")
        return self.state == "COMPLETED"


class DatasetType:
    IMAGES = "Images"
    VIDEOS = "Videos"
    CROPS = "Crops"


class DatasourcePurpose:
    INPUT = "INPUT"
    LIGHTLY = "LIGHTLY"
    INPUT_OUTPUT = "INPUT_OUTPUT"


DEFAULT_THUMB_SUFFIX = ".lightly/thumbnails/[filename]_thumb.[extension]"
