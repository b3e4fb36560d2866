"""The one HTTP boundary of the client: session, token, retries, typed errors.

Every call to the Lightly API and every signed-URL transfer goes through
``LightlyHttp``. It owns one pooled ``requests.Session``; it adds the ``token``
query parameter last (as the official client does); it retries connection errors,
timeouts, 429 and 5xx with exponential backoff and jitter (honouring
``Retry-After``) for requests that are safe to repeat; and it turns every failure
into an error from ``runner.client.errors`` whose message never contains the token.
"""

from __future__ import annotations

import datetime
import email.utils
import http.client
import json as jsonlib
import logging
import math
import os
import random
import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from runner import __version__
from runner.client.cancel import pause, raise_if_stopped
from runner.client.errors import (
    ApiError,
    RequestTimeout,
    TLSFailure,
    TransportError,
    UnexpectedResponse,
    error_for_status,
    html_page,
)
from runner.client.models import to_wire

DEFAULT_SERVER = "https://api.lightly.ai"
#: (connect, read) seconds for API calls; the official client allows 180 s in total.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 180.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: errors of the URL itself: repeating the request cannot help
_MALFORMED = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.URLRequired,
)

Params = Mapping[str, Any] | list[tuple[str, Any]] | None
#: one WARNING per retry, so a slow failure is not a silent one (as urllib3 logs its retries)
log = logging.getLogger(__name__)


class _HiddenTokens(logging.Filter):
    """Hides the ``token`` query parameter in log records: urllib3 logs each request's
    URL at DEBUG, and the API's URLs carry the token."""

    _TOKEN = re.compile(r"([?&]token=)[^&#\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._TOKEN.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self._TOKEN.sub(r"\1***", record.msg)
        return True


for _name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
    if not any(isinstance(f, _HiddenTokens) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_HiddenTokens())


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: ``attempts`` tries in total."""

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 32.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_backoff)
        base = min(self.backoff * 2.0 ** (attempt - 1), self.max_backoff)
        return float(base * (1 + random.uniform(-self.jitter, self.jitter)))


def user_agent() -> str:
    import platform

    return (
        f"lightly-run/{__version__} ({platform.system()}/{platform.release()}; "
        f"{platform.platform()}; {platform.machine()};) python/{platform.python_version()}"
    )


def check_server_url(url: str) -> str:
    """``url`` without trailing slashes if it is an http(s) URL with a host.

    Raises:
        ValueError: Naming the URL (credentials in it hidden) and what is wrong.
    """
    cleaned = url.strip().rstrip("/")
    parts = urlsplit(cleaned)
    shown = hidden_credentials(cleaned)
    if parts.scheme in ("http", "https") and parts.hostname:
        if parts.path.endswith("/v1"):  # every path already starts with /v1: /v1/v1/… → 404
            raise ValueError(
                f"the server location {shown!r} ends in /v1, which every request adds: "
                f"use {shown[: -len('/v1')]!r}"
            )
        return cleaned
    raise ValueError(
        f"the server location {shown!r} is not an http:// or https:// URL with a host "
        f"(for example {DEFAULT_SERVER})"
    )


def hidden_credentials(url: str) -> str:
    """``url`` with ``user:password@`` shown as ``***@``: never in a message."""
    return re.sub(r"//[^/@]*@", "//***@", url)


def encode_path(template: str, *args: str) -> str:
    """Fill ``{}`` placeholders of ``template`` with percent-encoded path segments.

    Raises:
        ValueError: If a value is None or empty: ``/v1/datasets/None`` names no dataset.
    """
    missing = next((a for a in args if a is None or a == ""), False)
    if missing is not False:
        raise ValueError(f"{template} needs a value for each {{}}, not {missing!r}")
    return template.format(*(quote(_text(a), safe="") for a in args))


def encode_query_value(value: Any) -> str:
    """Render a query value the way the platform expects (booleans as True/False)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    return _text(value)


def _text(value: Any) -> str:
    """``value`` as text in its wire form: an enum member (the official client's
    ``DockerRunScheduledState.OPEN``) is ``OPEN``, as in JSON bodies."""
    return str(to_wire(value))


def json_body(value: Any) -> bytes:
    """``value`` as a JSON request body; numpy numbers and enum members as their values.

    Raises:
        ValueError: Naming where in ``value`` a NaN, an infinity or a value JSON cannot
            carry is (``the body['metadata'][3]``).
    """
    try:
        return jsonlib.dumps(
            value, allow_nan=False, separators=(",", ":"), default=_json_value
        ).encode()
    except (TypeError, ValueError):
        problem = json_problem(value, "the body") or "the body cannot be sent as JSON"
        raise ValueError(problem) from None


def json_problem(value: Any, where: str, _inside: frozenset[int] = frozenset()) -> str | None:
    """Why ``value`` cannot be sent as JSON, naming the place (``where`` is its name), or None."""
    if isinstance(value, (list, tuple, Mapping)):
        if id(value) in _inside:
            return f"{where} contains itself, which JSON cannot carry"
        _inside = _inside | {id(value)}
    if not isinstance(value, (str, int, float, bool, list, tuple, Mapping)) and value is not None:
        try:
            value = _json_value(value)
        except TypeError:
            return f"{where} is of type {type(value).__name__}, which JSON cannot carry"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value}, which JSON cannot carry (no NaN or infinity)"
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return f"{where} has a key of type {type(key).__name__}, which JSON cannot carry"
            problem = json_problem(item, f"{where}[{key!r}]", _inside)
            if problem:
                return problem
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = json_problem(item, f"{where}[{index}]", _inside)
            if problem:
                return problem
    return None


def _json_value(value: Any) -> Any:
    """What JSON sends for a value ``json`` does not know: numpy numbers and arrays,
    enum members, official models (``to_wire``)."""
    converted = to_wire(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return converted


def _retry_after(response: requests.Response) -> float | None:
    """Seconds the server asks to wait: ``Retry-After`` in seconds or as an HTTP date."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, as HTTP dates always are
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return seconds if math.isfinite(seconds) else None


#: what ``_decode`` gives for a body labelled JSON that is none
_INVALID_JSON = object()


def _decode(response: requests.Response) -> Any:
    """JSON bodies become Python values; text/plain stays text; empty → None."""
    if not response.content:
        return None
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            return response.json()
        except ValueError:
            return _INVALID_JSON
    return body_text(response)


def _json_kind(value: Any) -> str:
    """``value``'s JSON type, in words: "text", "null", "an object"."""
    if value is None:
        return "no value"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def body_text(response: requests.Response) -> str:
    """The body as text: UTF-8 unless the answer names a charset.

    ``requests`` takes ISO-8859-1 for ``text/*`` without one (RFC 2616), which garbles
    UTF-8 file names; the platform speaks UTF-8 and the official client decodes so.
    """
    if "charset=" in response.headers.get("Content-Type", "").lower():
        return response.text
    return response.content.decode("utf-8", errors="replace")


class LightlyHttp:
    """A pooled session bound to one server and one token."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = check_server_url(base_url)
        self._token = token
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self.session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": user_agent(), "Accept": "application/json"})
        self._proxies_by_origin: dict[str, dict[str, str]] = {}
        if session is None:
            # requests re-reads the environment (proxies, CA bundle, .netrc) on every
            # request (~0.4 ms); read it once here, proxies once per origin (_proxies).
            self.session.trust_env = False
            env_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if env_bundle:
                self.session.verify = env_bundle
        #: LIGHTLY_CA_CERTS, which wins over REQUESTS_CA_BUNDLE: sent with each request of
        #: a caller's session (whose own settings are left as they are)
        self._ca_bundle = os.environ.get("LIGHTLY_CA_CERTS") or None
        if self._ca_bundle and not Path(self._ca_bundle).exists():
            raise ValueError(
                f"LIGHTLY_CA_CERTS names {self._ca_bundle}, which does not exist: point it at "
                "a certificate bundle (PEM), or unset it"
            )
        if self._ca_bundle and session is None:
            self.session.verify = self._ca_bundle

    # -- API calls --------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json: Any = None,
        retry: bool | None = None,
        timeout: float | tuple[float, float] | None = None,
        authenticated: bool = True,
        expect: type[list[Any]] | type[dict[str, Any]] | None = None,
    ) -> Any:
        """Call ``path`` on the API and return the decoded body.

        Args:
            method: HTTP method.
            path: Path starting with ``/v1/``, segments already encoded (``encode_path``).
            params: Query parameters; None values are dropped, booleans sent as True/False.
            json: Request body, serialised as JSON (NaN/Infinity refused).
            retry: Retry transient failures; default: only for idempotent methods.
            timeout: Override of the (connect, read) timeout.
            authenticated: Append the ``token`` query parameter (last).
            expect: The JSON type the API answers here (an array or object).

        Raises:
            ApiError: The server answered with a non-2xx status (after retries).
            TransportError: No answer could be obtained (after retries).
            UnexpectedResponse: The answer is not what the Lightly API gives: an HTML
                page, invalid JSON, or not the ``expect``-ed type.
        """
        query = self._query(params, authenticated=authenticated)
        body = None
        headers = {}
        if json is not None:
            try:
                body = json_body(json)
            except ValueError as error:
                raise ValueError(f"{method.upper()} {path}: {error}") from None
            headers["Content-Type"] = "application/json"
        should_retry = method.upper() in _IDEMPOTENT if retry is None else retry
        try:
            response = self._send(
                method.upper(),
                self.base_url + path,
                label=path,
                params=query,
                data=body,
                headers=headers,
                timeout=timeout or self.timeout,
                should_retry=should_retry,
            )
        except ApiError as error:
            # a 404 page of another server is no "dataset not found" (429 and 5xx pages
            # of a proxy in front of the API stay what they are: worth another try)
            page = html_page(error.body) if 400 <= error.status < 500 else None
            if page is None or error.status == 429:
                raise
            raise self._not_the_api(
                method, path, f"{error.status} and {page}", error.status
            ) from None
        # only a page counts, not an empty body labelled text/html (Flask's default); the
        # first byte spares decoding every large answer twice
        looks_like_markup = response.content[:64].lstrip()[:1] == b"<"
        page = html_page(body_text(response)) if looks_like_markup else None
        if page is not None:
            raise self._not_the_api(method, path, page)
        value = _decode(response)
        if expect is None:  # text, or an answer nobody reads (CONTRACT §2.3, §2.4)
            return body_text(response) if value is _INVALID_JSON else value
        if value is _INVALID_JSON:
            raise self._not_the_api(method, path, "a body that is not valid JSON")
        if not isinstance(value, expect):
            wanted = "an array" if expect is list else "an object"
            answer = f"{_json_kind(value)} where it answers {wanted}"
            raise self._not_the_api(method, path, answer)
        return value

    def _not_the_api(
        self, method: str, path: str, answer: str, status: int = 200
    ) -> UnexpectedResponse:
        return UnexpectedResponse(
            f"{method.upper()} {path}: the server at {hidden_credentials(self.base_url)} "
            f"answered with {answer}, not as the Lightly API does (is the server location "
            "right, or is a proxy or login page in the way?)",
            status,
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def paginate(self, path: str, *, params: Params = None, page_size: int) -> Iterator[Any]:
        """Yield the items of an offset-paginated listing until an empty page."""
        offset = 0
        base = list(dict(params or {}).items())
        while True:
            query = [*base, ("pageSize", page_size), ("pageOffset", offset)]
            page = self.get(path, params=query, expect=list)
            if not page:
                return
            yield from page
            offset += page_size

    # -- signed URLs (no token) -------------------------------------------------

    def put_signed(
        self,
        url: str,
        data: bytes | IO[bytes],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """PUT raw bytes to a signed write URL (retried; a file object is rewound)."""
        return self._send(
            "PUT",
            url,
            label=_url_label(url),
            data=data,
            headers=dict(headers or {}),
            timeout=timeout or self.timeout,
            should_retry=True,
        )

    def get_signed(self, url: str, *, timeout: float | tuple[float, float] | None = None) -> bytes:
        """GET the bytes behind a signed read URL."""
        response = self._send(
            "GET", url, label=_url_label(url), timeout=timeout or self.timeout, should_retry=True
        )
        return response.content

    def download(
        self,
        url: str,
        destination: str | Path,
        *,
        timeout: float | tuple[float, float] | None = None,
    ) -> Path:
        """Stream a signed URL to ``destination``; the file appears only when complete.

        Raises:
            ValueError: If ``destination`` is a folder, or a file is where a folder of
                its path must be (before any request).
        """
        destination = Path(destination)
        if destination.is_dir():
            raise ValueError(f"{destination} is a folder: a download needs a file name")
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(
                f"cannot make the folder {destination.parent}: a file is in the way"
            ) from None
        label, timeout = _url_label(url), timeout or self.timeout
        for attempt in range(1, self.retry.attempts + 1):
            # the bytes as stored: a body compressed on the way would be saved compressed
            response = self._send(
                "GET",
                url,
                label=label,
                timeout=timeout,
                should_retry=True,
                stream=True,
                headers={"Accept-Encoding": "identity"},
            )
            fd, tmp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
            try:
                with os.fdopen(fd, "wb") as tmp, response:
                    for chunk in response.raw.stream(1 << 16, decode_content=False):
                        tmp.write(chunk)
                os.replace(tmp_name, destination)
                return destination
            except urllib3.exceptions.HTTPError as exc:  # the body stalled or broke off
                text = f"{attempt} of {self.retry.attempts}"
                error = self._failure(exc, f"GET {label}", url, timeout, text, in_body=True)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            Path(tmp_name).unlink(missing_ok=True)
            if attempt == self.retry.attempts:
                break  # raised below, outside the except block: no context holds exc
            self._wait_to_retry(str(error), attempt)
        raise error

    # -- internals --------------------------------------------------------------

    def _query(self, params: Params, *, authenticated: bool) -> str:
        """The encoded query string: ``%20`` for space, ``/`` kept (CONTRACT §2.3), token last."""
        items = params.items() if isinstance(params, Mapping) else (params or [])
        query = [(k, encode_query_value(v)) for k, v in items if v is not None]
        if authenticated:
            query.append(("token", self._token))
        # requests would use quote_plus (space → "+", "/" → "%2F")
        return urlencode(query, quote_via=quote, safe="/")

    def _proxies(self, url: str) -> dict[str, str] | None:
        """Environment proxies for ``url`` (honouring NO_PROXY), looked up once per origin."""
        if self.session.trust_env:
            return None  # a caller's session: requests resolves them itself
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        proxies = self._proxies_by_origin.get(origin)
        if proxies is None:
            proxies = self._proxies_by_origin[origin] = requests.utils.get_environ_proxies(url)
        return proxies

    def _dispatch(
        self,
        method: str,
        url: str,
        *,
        timeout: float | tuple[float, float],
        params: str | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request through the session's adapter (one attempt).

        Our own session skips ``Session.request``: its per-request merging of
        settings, hooks and cookie jars costs about a third of a request's CPU, which
        bounds parallel uploads (the GIL). What it would add is fixed when the session
        is made (headers, proxies, CA bundle); the Lightly API sets no cookies; a
        redirect is followed by the session (``resolve_redirects``), the request not
        sent again.

        Raises:
            UnexpectedResponse: A request with a body was moved (301, 302): following
                would send it without its body (an empty upload, a POST turned GET).
        """
        proxies = self._proxies(url)
        if self.session.trust_env:  # a caller's session gets all of its behaviour
            return self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout,
                stream=stream,
                proxies=proxies,
                verify=self._ca_bundle,
            )
        request = requests.PreparedRequest()
        request.prepare_method(method)
        request.prepare_url(url, params)
        request.prepare_headers({**self.session.headers, **(headers or {})})
        request.prepare_body(data, None)
        request.prepare_auth(None, url)  # user:password@ in the URL, as requests sends it
        settings: dict[str, Any] = {
            "stream": stream,
            "timeout": timeout,
            "verify": self._ca_bundle
            or (True if self.session.verify is None else self.session.verify),
            "cert": self.session.cert,
            "proxies": proxies or {},
        }
        response = self.session.get_adapter(request.url or url).send(request, **settings)
        if response.is_redirect:
            request.prepare_cookies(None)  # resolve_redirects keeps the hops' cookies there
            history = [response]
            hops = self.session.resolve_redirects(response, request, **settings)
            while response.is_redirect:  # each hop checked before the next is sent
                _refuse_moved(response, method, url)
                following = next(hops, None)  # None: a redirect without a Location
                if following is None:
                    break
                response = following
                history.append(response)
            response.history = history[:-1]
        if not stream:
            response.content  # noqa: B018 -- read the body: the connection is released
        return response

    def _failure(
        self,
        exc: requests.RequestException | urllib3.exceptions.HTTPError,
        what: str,
        url: str,
        timeout: float | tuple[float, float],
        attempt: str,
        *,
        in_body: bool = False,
    ) -> TransportError:
        """The typed error of a request that got no (complete) answer: ``exc`` of requests
        or urllib3, its text without the token (its cause too, and it is to be raised
        outside the ``except`` block, so that no context holds ``exc``). What no retry
        can mend (a malformed URL, a TLS set-up error, a redirect loop) is not
        ``transient``. ``in_body``: it broke off while the body was read.
        """
        cause = _socket_error(exc)
        host = _host(url)
        error: TransportError
        if isinstance(exc, (*_MALFORMED, requests.TooManyRedirects)):
            problem = (
                f"redirected more than {self.session.max_redirects} times"
                if isinstance(exc, requests.TooManyRedirects)
                else f"malformed URL, not sent ({type(exc).__name__})"
            )
            error = TransportError(f"{what}: {problem}")
            error.transient = False
        elif isinstance(cause, ssl.SSLError) and _tls_setup_error(cause):
            reason = self._redact(_reason(cause))
            error = TLSFailure(f"{what}: {reason} at {host}; {_tls_hint(cause, url)}")
        elif isinstance(exc, requests.ConnectTimeout):
            error = RequestTimeout(
                f"{what}: could not connect to {host} within {_timeout_text(timeout, 0)} "
                f"(attempt {attempt})"
            )
        elif _timed_out(exc):  # also a stall in the middle of the body
            error = RequestTimeout(
                f"{what}: no answer within {_timeout_text(timeout, 1)} (attempt {attempt})"
            )
        elif in_body or _cut_short(exc):
            error = TransportError(
                f"{what}: the answer from {host} was cut short (attempt {attempt})"
            )
        else:
            reason = self._redact(_reason(cause) if cause else type(exc).__name__)
            # refused: nothing listens; reset or closed: the server took the request
            broke = isinstance(cause, ConnectionError) and not isinstance(
                cause, ConnectionRefusedError
            )
            where = f"the connection to {host} broke" if broke else f"could not reach {host}"
            if isinstance(exc, requests.exceptions.ProxyError):
                where = f"could not reach the proxy for {host}"
            error = TransportError(f"{what}: {where}: {reason} (attempt {attempt})")
        error.__cause__ = self._redacted(exc)
        return error

    def _wait_to_retry(self, failure: str, attempt: int, retry_after: float | None = None) -> None:
        """Log ``failure`` (one WARNING per retry) and wait out the backoff of ``attempt``;
        a cancel ends the wait (``pause``)."""
        delay = self.retry.delay(attempt, retry_after)
        log.warning("%s; retrying in %.1f s", failure, delay)
        pause(delay, self._sleep)

    def _redact(self, text: str) -> str:
        # a token of 1-3 characters is no real one, and replacing it would garble messages
        return text.replace(self._token, "***") if len(self._token) >= 4 else text

    def _redacted(self, exc: BaseException) -> RedactedCause:
        """``exc`` as a chainable cause whose text never holds the token."""
        return RedactedCause(f"{type(exc).__name__}: {self._redact(str(exc))}")

    def _send(
        self,
        method: str,
        url: str,
        *,
        label: str,
        should_retry: bool,
        **kwargs: Any,
    ) -> requests.Response:
        # a request refused with 429 was not processed: safe to repeat whatever its method
        attempts = self.retry.attempts if should_retry else 1
        data = kwargs.get("data")
        for attempt in range(1, self.retry.attempts + 1):
            raise_if_stopped()
            if attempt > 1 and data is not None and hasattr(data, "seek"):
                data.seek(0)
            try:
                response = self._dispatch(method, url, **kwargs)
            except requests.RequestException as exc:
                failure = self._failure(
                    exc, f"{method} {label}", url, kwargs["timeout"], f"{attempt} of {attempts}"
                )
                error: Exception = failure
                retry_after, repeatable = None, should_retry
                if not failure.transient:
                    break  # raised below, outside the except block: no context holds exc
            else:
                if response.ok:
                    return response
                error = error_for_status(
                    response.status_code,
                    self._redact(body_text(response)),
                    method=method,
                    path=label,
                )
                error.attempt = attempt  # a refusal of a repeat may be of the first's work
                if response.status_code not in _RETRY_STATUSES:
                    raise error
                retry_after = _retry_after(response)
                # refused before it was processed: safe to repeat, whatever the method (not
                # a 429 of a redirect's next hop: the request itself was processed)
                unprocessed = response.status_code == 429 and not response.history
                repeatable = should_retry or unprocessed
                if unprocessed:
                    attempts = self.retry.attempts
            if not repeatable or attempt >= self.retry.attempts:
                raise error
            self._wait_to_retry(_attempt_text(error, attempt, attempts), attempt, retry_after)
        raise error


def _refuse_moved(response: requests.Response, method: str, url: str) -> None:
    """Raise if following ``response`` would change what the request does: requests
    follows a 302 (and a POST's 301) as a GET, and drops the body on either.

    Raises:
        UnexpectedResponse: Naming the new location and what would have happened.
    """
    sent = response.request
    if response.status_code not in (301, 302) or sent is None or sent.method in ("GET", "HEAD"):
        return
    if response.status_code == 302 or sent.method == "POST":
        change = f"turn the {sent.method} into a GET"
    elif sent.body is not None:
        change = f"send the {sent.method} without its body"
    else:
        return  # a DELETE moved by 301 stays a DELETE
    response.close()
    raise UnexpectedResponse(
        f"{method} {_url_label(url)}: moved ({response.status_code}) to "
        f"{_url_label(response.headers.get('Location', '?'))}; not sent there, as the "
        f"redirect would {change} (is the server location right?)",
        response.status_code,
    )


class RedactedCause(Exception):
    """A lower-layer error, its text stripped of the token (its URL carries it)."""


def _url_label(url: str) -> str:
    """A signed URL without its query string (which holds the signature) or credentials."""
    parts = urlsplit(url)
    if not parts.netloc:
        return parts.path
    return f"{parts.scheme}://{_host(url)}{parts.path}"


#: where the errors of sockets come from (http.client: RemoteDisconnected)
_SOCKET_MODULES = ("builtins", "socket", "ssl", "http.client")


def _socket_error(exc: BaseException) -> OSError | None:
    """The socket or TLS error under a requests/urllib3 one (``ConnectionRefusedError``,
    ``socket.gaierror``, ``ssl.SSLCertVerificationError``), if there is one."""
    return next(
        (
            e
            for e in _chain(exc)
            if isinstance(e, OSError) and type(e).__module__ in _SOCKET_MODULES
        ),
        None,
    )


def _reason(error: OSError) -> str:
    """``error`` in a few words: "connection refused", "certificate verify failed: …"."""
    # ssl sets verify_message and reason on the errors it raises (others may lack them)
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {getattr(error, 'verify_message', '') or error}"
    reason = getattr(error, "reason", None)
    if isinstance(error, ssl.SSLError) and reason:
        return f"TLS error: {reason.lower().replace('_', ' ')}"
    text = error.strerror or str(error) or type(error).__name__
    return text[:1].lower() + text[1:]


def _tls_setup_error(error: ssl.SSLError) -> bool:
    """A certificate that is not trusted, or TLS spoken to a plain-HTTP port: both stay so."""
    return (
        isinstance(error, ssl.SSLCertVerificationError)
        or getattr(error, "reason", None) == "WRONG_VERSION_NUMBER"
    )


def _tls_hint(error: ssl.SSLError, url: str) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and "mismatch" in str(
        getattr(error, "verify_message", "")
    ):
        return "the certificate is for another host name: is the server location right?"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            "if a proxy or your organisation's certificate authority signs it, point "
            "LIGHTLY_CA_CERTS at that authority's certificate bundle (PEM)"
        )
    return f"the server does not speak TLS there: is it http://{_host(url)}?"


def _host(url: str) -> str:
    """``host[:port]`` of ``url``, never the ``user:password@`` before it."""
    netloc = urlsplit(url).netloc
    return netloc.rpartition("@")[2] if netloc else url


def _attempt_text(error: Exception, attempt: int, attempts: int) -> str:
    """``error``'s message with the attempt count (transport errors carry it already)."""
    if isinstance(error, ApiError):
        return f"{error} (attempt {attempt} of {attempts})"
    return str(error)


def _timeout_text(timeout: float | tuple[float, float], part: int) -> str:
    """The connect (``part`` 0) or read (1) timeout of ``timeout``, in words."""
    if isinstance(timeout, tuple):
        return f"{timeout[part]:g} s"
    return f"{timeout:g} s"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (args, ``reason``, causes and contexts), each once."""
    pending, seen = [exc], set()
    while pending:
        error = pending.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        linked = (*error.args, getattr(error, "reason", None), error.__cause__, error.__context__)
        pending.extend(e for e in linked if isinstance(e, BaseException))


def _timed_out(exc: BaseException) -> bool:
    """A read that waited longer than the timeout, wherever requests or urllib3 report it."""
    return any(
        # not urllib3's TimeoutError: its NewConnectionError (connection refused) is one
        isinstance(e, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError))
        for e in _chain(exc)
    )


def _cut_short(exc: BaseException) -> bool:
    """An answer that ended before its announced length (or its last chunk)."""
    return any(
        isinstance(e, (http.client.IncompleteRead, requests.exceptions.ChunkedEncodingError))
        for e in _chain(exc)
    )


__all__ = ["DEFAULT_SERVER", "ApiError", "LightlyHttp", "RetryPolicy", "encode_path"]
