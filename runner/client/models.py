"""Wire shapes of the Lightly API, in one place.

Responses are returned as ``WireModel``: a ``dict`` with the wire (camelCase) keys
exactly as the server sent them, so results are JSON-ready, plus read access by the
snake_case attribute names the official client's models use
(``tag.bit_mask_data`` reads ``tag["bitMaskData"]``; an absent field reads as None,
a name that is no field at all is an AttributeError). Methods that take a model
(a run, a tag) accept a WireModel, a plain wire dict, or any object with the
official snake_case attributes.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runner.client._wire_fields import WIRE_FIELDS

#: where the official models' attribute names put "_": bitMaskData → bit_mask_data,
#: predictionUUIDTimestamp → prediction_uuid_timestamp, s3ARN → s3_arn
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def to_camel(name: str) -> str:
    """``corruptness_check`` → ``corruptnessCheck``; names without ``_`` unchanged."""
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:].lower() for part in rest)


def to_snake(name: str) -> str:
    """The official models' attribute name of a wire name: ``bitMaskData`` →
    ``bit_mask_data``, ``predictionUUIDTimestamp`` → ``prediction_uuid_timestamp``."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


#: attribute name → wire name of every known field
_WIRE_NAMES = {to_snake(name): name for name in WIRE_FIELDS}


class WireModel(dict[str, Any]):
    """A JSON object from the API: wire keys, snake_case attribute access."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        for key in (name, to_camel(name)):
            if key in self:
                return _wrap(self[key])
        known = _WIRE_NAMES.get(name) or (name if name in WIRE_FIELDS else None)
        if known is not None:  # acronyms (prediction_uuid_timestamp), or left out
            # optional fields the server left out read as None, like the official models
            return _wrap(self[known]) if known in self else None
        for key in self:  # a field newer than this client's list
            if to_snake(key) == name:
                return _wrap(self[key])
        raise AttributeError(_unknown_field(name, self))

    def to_dict(self) -> dict[str, Any]:
        """A plain (JSON-serialisable) copy with wire keys."""
        plain: dict[str, Any] = _unwrap(self)
        return plain


def _unknown_field(name: str, model: Mapping[str, Any]) -> str:
    """Why ``name`` cannot be read: the closest field name, or the fields ``model`` has."""
    present = [to_snake(key) for key in model]
    known = sorted(_WIRE_NAMES)
    close = difflib.get_close_matches(name, present, n=1) or difflib.get_close_matches(
        name, known, n=1
    )
    if close:
        return f"this Lightly object has no field {name!r}; did you mean {close[0]!r}?"
    return f"this Lightly object has no field {name!r}; it has: {', '.join(sorted(present))}"


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
    if isinstance(value, enum.Enum):
        return value.value  # str enums too: str() of one is "Class.MEMBER" from Python 3.11
    if hasattr(value, "value") and hasattr(value, "name") and not isinstance(value, str):
        return value.value  # enum-like members of other enum libraries
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
