"""Helpers for contract tests: which operation a test covers, and wire assertions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import responses

F = TypeVar("F", bound=Callable[..., Any])

#: operation name -> test function names that check it on the wire
COVERED: dict[str, list[str]] = {}

SERVER = "https://api.test"
TOKEN = "tok-secret-123"


def covers(*operations: str) -> Callable[[F], F]:
    """Mark a test as the wire contract test of ``operations``."""

    def mark(test: F) -> F:
        for op in operations:
            COVERED.setdefault(op, []).append(test.__name__)
        return test

    return mark


def query_of(call: Any) -> list[tuple[str, str]]:
    """The query parameters of a recorded ``responses`` call, in order."""
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True)


def body_of(call: Any) -> Any:
    body = call.request.body
    return json.loads(body) if body else None


def assert_call(
    call: Any,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    *,
    authenticated: bool = True,
) -> None:
    """Check method, exact path, query (token last) and JSON body of one request."""
    assert call.request.method == method, (call.request.method, method)
    assert urlsplit(call.request.url).path == path, (urlsplit(call.request.url).path, path)
    expected_query = list(query or [])
    if authenticated:
        expected_query.append(("token", TOKEN))
    assert query_of(call) == expected_query, (query_of(call), expected_query)
    if body is not None:
        assert body_of(call) == body, (body_of(call), body)


def calls() -> list[Any]:
    return list(responses.calls)
