"""Request parsing shared by the dataset-side route modules: bodies, queries, pages.

Every helper raises ``ApiError`` 400 with a message that names the offending
field, so a client's mistake never becomes a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from flask import Response, request

from runner.local.app import get_config
from runner.local.errors import ApiError, bad_request

# MODELS.md patterns: validate with fullmatch, as ``$`` also matches before a trailing "\n"
ID = re.compile(r"^[a-f0-9]{24}$")
DSNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 _-]+$")
TAGNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 .:;=@_-]+$")
HEXMASK = re.compile(r"^0x[a-f0-9]+$")
TASKNAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 ._-]+$")
SCORETYPE = re.compile(r"^[a-zA-Z0-9_+=,.@:\/-]*$")
#: deepest JSON nesting a body may have (stored documents are re-encoded recursively)
MAX_DEPTH = 100
#: a JSON body's size and its objects and arrays at most: parsed, each costs tens of
#: bytes (21 million ``{}`` in 63 MB took 2.4 GB); the largest bodies the API takes
#: (scores of a million samples) are a few MB in one array
MAX_JSON_BYTES = 32 * 1024 * 1024
MAX_JSON_CONTAINERS = 1_000_000
INT64 = (-(2**63), 2**63 - 1)
_TOO_DEEP = f"the JSON body is nested deeper than {MAX_DEPTH} levels"
#: an escaped high surrogate not followed by a low one, or a low one without a high one
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F]"
)
# byte-translation tables: a body's digits, exponents and brackets found at C speed
# (a regex over a 10 MB body takes a quarter of a second)
_NUMBER_SHAPES = bytes(
    ord("0")
    if chr(b) in "0123456789"
    else ord("e")
    if chr(b) in "eE"
    else ord("+")
    if chr(b) in "+-"
    else ord(" ")
    for b in range(256)
)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")

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
    """The request's JSON body of any type; 400 if it is missing, malformed or cannot be stored.

    Refused beyond JSON syntax: NaN/Infinity, numbers that are not a finite float or a
    signed 64-bit int (SQLite and the response encoder cannot hold them), nesting deeper
    than ``MAX_DEPTH`` and lone UTF-16 surrogates (``\\ud800``: not encodable as UTF-8).
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise bad_request("the request needs a JSON body", "MALFORMED_REQUEST")
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"a JSON body is at most {MAX_JSON_BYTES} bytes")
    if raw.count(b"{") + raw.count(b"[") > MAX_JSON_CONTAINERS:
        raise ApiError(
            413,
            "PAYLOAD_TOO_LARGE",
            f"a JSON body holds at most {MAX_JSON_CONTAINERS:,} objects and arrays",
        )
    refused: list[str] = []
    try:
        # strict decoding refuses surrogates sent as raw bytes (json.loads would pass them)
        encoding = json.detect_encoding(raw)
        text = raw.decode(encoding)
        if not encoding.startswith("utf-8"):  # the byte checks below read UTF-8
            raw = text.encode("utf-8", "surrogatepass")
        # the number hooks cost a Python call per number: only where one may not fit
        hooks: dict[str, Any] = {}
        if _may_hold_big_numbers(raw):
            hooks["parse_int"] = lambda literal: _int64(literal, refused)
            hooks["parse_float"] = lambda literal: _finite(literal, refused)
        value = json.loads(text, parse_constant=_refuse_constant, **hooks)
    except RecursionError:
        raise bad_request(_TOO_DEEP, "MALFORMED_REQUEST") from None
    except ValueError as error:  # also UnicodeDecodeError
        raise bad_request(f"malformed JSON body: {error}", "MALFORMED_REQUEST") from None
    surrogates = (b"\\ud" in raw or b"\\uD" in raw) and _LONE_SURROGATE.search(raw) is not None
    if refused or surrogates or _bracket_depth(raw) > MAX_DEPTH:
        _check_tree(value, strings=surrogates)
    return value


def _may_hold_big_numbers(raw: bytes) -> bool:
    """Whether ``raw`` has a run of 19 digits or an exponent of 3: a number that may not
    fit an int64 or a float (digits in strings count too: then the hooks check)."""
    shapes = raw.translate(_NUMBER_SHAPES)
    return b"0" * 19 in shapes or b"e000" in shapes or b"e+000" in shapes


def _bracket_depth(raw: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in ``raw``, counting brackets in strings too (an
    upper bound of the JSON's depth)."""
    brackets = raw.translate(None, _NOT_BRACKETS)
    if len(brackets) <= MAX_DEPTH:
        return len(brackets)
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == 0x5B) | (codes == 0x7B), 1, -1)
    return int(np.cumsum(steps).max())


@dataclass(frozen=True)
class _Refused:
    """Parsed in place of an unstorable number, so that ``_check_tree`` can name its field."""

    problem: str


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _literal(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:36]}...({len(text)} characters)"


def _int64(literal: str, refused: list[str]) -> int | _Refused:
    # longer literals are out of range anyway, and int() refuses > 4300 digits
    if len(literal) <= 20 and INT64[0] <= (value := int(literal)) <= INT64[1]:
        return value
    refused.append(literal)
    return _Refused(f"{_literal(literal)} is outside the signed 64-bit integer range")


def _finite(literal: str, refused: list[str]) -> float | _Refused:
    value = float(literal)
    if math.isfinite(value):
        return value
    refused.append(literal)
    return _Refused(f"{_literal(literal)} is too large for a 64-bit float")


def _check_tree(value: Any, *, strings: bool) -> None:
    """400 naming the first field that is too deep, a refused number or (``strings``) a surrogate."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, _Refused):
            raise bad_request(f"{path or 'the body'}: {item.problem}")
        if isinstance(item, str):
            _check_text(item, path or "the body")
            continue
        if depth > MAX_DEPTH:
            raise bad_request(f"{_TOO_DEEP} (at {_literal(path)})", "MALFORMED_REQUEST")
        children = []
        for key, child in item.items() if isinstance(item, dict) else enumerate(item):
            if strings and isinstance(key, str):
                _check_text(key, f"a key in {path or 'the body'}")
            if isinstance(child, (dict, list, _Refused)) or (strings and isinstance(child, str)):
                children.append((child, _child_path(path, key), depth + 1))
        stack.extend(reversed(children))


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(
            f"{where}: contains a lone UTF-16 surrogate (\\ud800-\\udfff), "
            "which is not valid Unicode",
            "MALFORMED_REQUEST",
        ) from None


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
    maximum: float | None = None,
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
        if pattern is not None and not pattern.fullmatch(value):
            raise bad_request(f"{name!r} must match {pattern.pattern}, got {value!r}")
        if choices is not None and value not in choices:
            raise bad_request(f"{name!r} must be one of {', '.join(choices)}, got {value!r}")
    if kind in ("int", "number"):
        if minimum is not None and value < minimum:
            raise bad_request(f"{name!r} must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise bad_request(f"{name!r} must be <= {maximum}")
    return value


def numbers(
    body: dict[str, Any],
    name: str,
    kind: str = "number",
    *,
    required: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    length: int | None = None,
    min_len: int = 0,
) -> list[Any] | None:
    """``body[name]`` checked as a list of ``kind`` (int or number) within the bounds."""
    values = field(body, name, "array", required=required)
    if values is None:
        return None
    if length is not None and len(values) != length:
        raise bad_request(f"{name!r} must have exactly {length} entries, has {len(values)}")
    if len(values) < min_len:
        raise bad_request(f"{name!r} must have at least {min_len} entries, has {len(values)}")
    for index, value in enumerate(values):
        where = f"{name}[{index}]"
        field({where: value}, where, kind, required=True, minimum=minimum, maximum=maximum)
    return cast(list[Any], values)


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
    if not re.fullmatch(r"-?[0-9]{1,18}", raw.strip()):  # \d would take "１２" too
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
    if not ID.fullmatch(value):
        raise ApiError(404, code, f"{what} {value} not found")
    return value


def base_url() -> str:
    """The server's external URL, for signed links in responses."""
    return get_config().public_url or request.host_url.rstrip("/")


def no_content() -> Response:
    """A success without a body (the client ignores it)."""
    return Response(status=200)
