"""Request parsing shared by the dataset-side route modules: bodies, queries, pages.

Every helper raises ``ApiError`` 400 with a message that names the offending
field, so a client's mistake never becomes a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from flask import Response, request

from runner.local.app import get_config
from runner.local.errors import ApiError, bad_request

ID = re.compile(r"^[a-f0-9]{24}$")
DSNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 _-]+$")
TAGNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 .:;=@_-]+$")
HEXMASK = re.compile(r"^0x[a-f0-9]+$")

T = TypeVar("T")

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "number": (int, float),
    "bool": (bool,),
    "object": (dict,),
    "array": (list,),
}


def json_body() -> dict[str, Any]:
    """The request's JSON object body; 400 if it is missing, malformed or not an object."""
    body = json_value()
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object", "MALFORMED_REQUEST")
    return body


def json_value() -> Any:
    """The request's JSON body of any type; 400 if it is missing or malformed."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise bad_request("the request needs a JSON body", "MALFORMED_REQUEST")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"malformed JSON body: {error}", "MALFORMED_REQUEST") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def field(
    body: dict[str, Any],
    name: str,
    kind: str,
    *,
    required: bool = False,
    nullable: bool = False,
    pattern: re.Pattern[str] | None = None,
    choices: Sequence[str] | None = None,
    min_len: int = 0,
    minimum: float | None = None,
) -> Any:
    """``body[name]`` checked against a wire type; None when absent and optional."""
    if name not in body or body[name] is None:
        if name in body and nullable:
            return None
        if required:
            raise bad_request(f"{name!r} is required")
        return None
    value: Any = body[name]
    if not isinstance(value, _TYPES[kind]) or (
        kind in ("int", "number") and isinstance(value, bool)
    ):
        raise bad_request(f"{name!r} must be of type {kind}, got {type(value).__name__}")
    value = cast(Any, value)  # checked against _TYPES[kind] just above
    if kind == "number" and not math.isfinite(value):
        raise bad_request(f"{name!r} must be a finite number")
    if kind == "string":
        if len(value) < min_len:
            raise bad_request(f"{name!r} must have at least {min_len} characters")
        if pattern is not None and not pattern.match(value):
            raise bad_request(f"{name!r} must match {pattern.pattern}, got {value!r}")
        if choices is not None and value not in choices:
            raise bad_request(f"{name!r} must be one of {', '.join(choices)}, got {value!r}")
    if minimum is not None and kind in ("int", "number") and value < minimum:
        raise bad_request(f"{name!r} must be >= {minimum}")
    return value


def query_bool(name: str, default: bool | None = None) -> bool | None:
    """A boolean query parameter: True/False in any case (also 1/0)."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(f"query parameter {name!r} must be true or false, got {raw!r}")


def query_int(name: str, default: int | None = None, *, minimum: int | None = None) -> int | None:
    """An integer query parameter, parsed strictly."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
        raise bad_request(f"query parameter {name!r} must be an integer, got {raw!r}")
    value = int(raw)
    if minimum is not None and value < minimum:
        raise bad_request(f"query parameter {name!r} must be >= {minimum}")
    return value


def query_str(name: str, *, required: bool = False, min_len: int = 0) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required or min_len:
            raise bad_request(f"query parameter {name!r} is required")
        return None
    if len(raw) < min_len:
        raise bad_request(f"query parameter {name!r} must have at least {min_len} characters")
    return raw


def page_bounds() -> tuple[int, int | None]:
    """(offset, limit) from ``pageOffset`` / ``pageSize`` (item offsets; no size = all)."""
    size = query_int("pageSize", None, minimum=1)
    offset = query_int("pageOffset", 0, minimum=0) or 0
    return offset, size


def paginate(items: Sequence[T]) -> list[T]:
    """One offset page of ``items``; past the end it is ``[]`` (the client's stop signal)."""
    offset, size = page_bounds()
    return list(items[offset : None if size is None else offset + size])


def require_id(value: str, what: str, code: str) -> str:
    """404 ``code`` for an id that cannot exist (wrong shape)."""
    if not ID.match(value):
        raise ApiError(404, code, f"{what} {value} not found")
    return value


def base_url() -> str:
    """The server's external URL, for signed links in responses."""
    return get_config().public_url or request.host_url.rstrip("/")


def no_content() -> Response:
    """A success without a body (the client ignores it)."""
    return Response(status=200)
