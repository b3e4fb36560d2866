"""Errors raised by the Lightly API client.

Tree::

    LightlyClientError                   root of every client error
    ├── ApiError                         the server answered with a non-2xx status
    │   ├── BadRequest        400
    │   ├── Unauthorized      401
    │   ├── Forbidden         403
    │   ├── NotFound          404
    │   ├── Conflict          409
    │   ├── RateLimited       429
    │   └── ServerError       5xx
    └── TransportError(RuntimeError)     no usable answer (connection refused, reset, DNS)
        ├── RequestTimeout               no answer within the timeout
        └── UnexpectedResponse           an HTML page where the API answers JSON or text

    TagDoesNotExistError(ValueError)     a tag name does not exist
    EmbeddingDoesNotExistError(ValueError)
    ArtifactNotExist(Exception)          a run has no artifact of the asked type
    InvalidConfigurationError(RuntimeError)  a worker/selection config key is wrong

``ApiException`` is an alias of ``ApiError`` for code written against the official
client. Messages name the method and path that failed but never the token.
"""

from __future__ import annotations

import json
import re

_HTML = re.compile(r"\s*<(!doctype html|html)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


class LightlyClientError(Exception):
    """Root of the errors raised by the HTTP layer of the client."""


class ApiError(LightlyClientError):
    """The Lightly API answered with an error status.

    Attributes:
        status: HTTP status code.
        body: The raw response body (text).
        code: The platform's error code (e.g. ``DATASET_UNKNOWN``) if the body has one.
        message: The platform's error message if the body has one, else the body.
        method: HTTP method of the request.
        path: Request path, without the query string (which carries the token).
        attempt: Which attempt the server answered so (1: the first).
    """

    attempt: int = 1

    def __init__(self, status: int, body: str, *, method: str, path: str) -> None:
        self.status = status
        self.body = body
        self.method = method
        self.path = path
        self.code, self.message = _parse_error_body(body)
        detail = f"{self.code}: {self.message}" if self.code else self.message
        super().__init__(f"{method} {path} failed with HTTP {status}: {detail or '(no body)'}")

    @property
    def reason(self) -> str:
        return self.message


class BadRequest(ApiError):
    """HTTP 400: the request was invalid."""


class Unauthorized(ApiError):
    """HTTP 401: no or an invalid token was sent."""


class Forbidden(ApiError):
    """HTTP 403: the token may not access this resource."""


class NotFound(ApiError):
    """HTTP 404: the resource does not exist."""


class Conflict(ApiError):
    """HTTP 409: the resource is in a state that refuses the request."""


class RateLimited(ApiError):
    """HTTP 429: too many requests; retried with backoff before this is raised."""


class ServerError(ApiError):
    """HTTP 5xx: the server failed; retried with backoff before this is raised."""


class TransportError(LightlyClientError, RuntimeError):
    """No usable response: the connection failed or broke.

    A ``RuntimeError`` too: what the official client documents for a failed connection.

    Attributes:
        transient: Whether asking again may succeed (not for a malformed URL, a
            redirect loop, a TLS set-up error).
    """

    transient: bool = True


class RequestTimeout(TransportError):
    """The server did not answer within the timeout."""


class TLSFailure(TransportError):
    """The TLS handshake failed for a reason that repeating it cannot change: an
    untrusted certificate, or https:// to a plain-HTTP server. Never retried."""

    transient = False


class UnexpectedResponse(TransportError):
    """An HTML page (with a success or client-error status) where the API should answer:
    something other than the Lightly API answered (a wrong server location, a login page).

    Attributes:
        status: The HTTP status it came with.
    """

    transient = False  # asking again reaches the same server

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


ApiException = ApiError

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for_status(status: int, body: str, *, method: str, path: str) -> ApiError:
    """Build the most specific ApiError subclass for ``status``."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(status, body, method=method, path=path)


def html_page(body: str) -> str | None:
    """``an HTML page 'Title'`` if ``body`` is an HTML page, else None."""
    if not _HTML.match(body):
        return None
    title = _TITLE.search(body)
    return "an HTML page" + (f" {' '.join(title.group(1).split())!r}" if title else "")


def _parse_error_body(body: str) -> tuple[str, str]:
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        page = html_page(body)  # a proxy's or another server's page, not the Lightly API
        if page is not None:
            return "", f"{page}, not an answer of the Lightly API"
        return "", body.strip()[:500]
    if isinstance(data, dict):
        return str(data.get("code") or ""), str(data.get("error") or data.get("message") or "")
    return "", body.strip()[:500]


class TagDoesNotExistError(ValueError):
    """The requested tag does not exist in the current dataset."""


class EmbeddingDoesNotExistError(ValueError):
    """The requested embedding does not exist in the current dataset."""


class ArtifactNotExist(Exception):
    """The run has no artifact of the requested type."""


class InvalidConfigurationError(RuntimeError):
    """A worker, Lightly or selection configuration has an unknown or invalid key."""
