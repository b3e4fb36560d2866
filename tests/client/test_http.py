"""The HTTP boundary: retries, Retry-After, timeouts, transport errors, token hygiene."""

from __future__ import annotations

import enum
import io
import re
import socket
import ssl
import threading
import time
import traceback
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import responses
import urllib3

from runner.client import (
    ApiError,
    ApiWorkflowClient,
    BadRequest,
    NotFound,
    RateLimited,
    RequestTimeout,
    RetryPolicy,
    ServerError,
    TLSFailure,
    TransportError,
    UnexpectedResponse,
)
from runner.client._http import LightlyHttp, encode_path
from runner.client.cancel import OperationCancelled, stop_when, unstoppable
from tests.client.contract import SERVER, TOKEN, query_of

URL = f"{SERVER}/v1/x"
NOT_THE_API = (
    "not as the Lightly API does (is the server location right, or is a proxy or login "
    "page in the way?)"
)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def http(sleeps: Sleeps) -> LightlyHttp:
    policy = RetryPolicy(attempts=4, backoff=1.0, max_backoff=8.0, jitter=0.0)
    return LightlyHttp(base_url=SERVER + "/", token=TOKEN, retry=policy, sleep=sleeps)


def full_text(error: BaseException) -> str:
    """Everything a traceback of ``error`` would show, causes included."""
    return "".join(traceback.format_exception(error))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_with_backoff_then_raised(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps, status: int
) -> None:
    mocked.get(URL, status=status, json={"code": "X", "error": "busy"})
    with pytest.raises(ApiError) as info:
        http.get("/v1/x")
    assert isinstance(info.value, RateLimited if status == 429 else ServerError)
    assert str(info.value) == f"GET /v1/x failed with HTTP {status}: X: busy"
    assert info.value.status == status and info.value.path == "/v1/x"
    assert len(mocked.calls) == 4 and sleeps == [1.0, 2.0, 4.0]


def test_a_retry_that_succeeds_returns_the_answer(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, status=503, body="")
    mocked.get(URL, json={"ok": True})
    assert http.get("/v1/x") == {"ok": True}
    assert len(mocked.calls) == 2


def test_retry_after_is_honoured(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, status=429, headers={"Retry-After": "3"}, body="")
    mocked.get(URL, status=503, headers={"Retry-After": "120"}, body="")
    mocked.get(URL, json=[])
    assert http.get("/v1/x") == []
    assert sleeps == [3.0, 8.0]  # capped at max_backoff


def test_retry_after_as_an_http_date_is_honoured(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    in_five_seconds = time.time() + 5
    mocked.get(URL, status=503, headers={"Retry-After": formatdate(in_five_seconds, usegmt=True)})
    mocked.get(URL, status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    mocked.get(URL, status=429, headers={"Retry-After": "soon"})
    mocked.get(URL, json=[])
    assert http.get("/v1/x") == []
    assert 3.5 <= sleeps[0] <= 5.0  # the date, a second's rounding and this test's time
    assert sleeps[1:] == [0.0, 4.0]  # a date past: at once; unreadable: the backoff


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_retry_after_that_is_no_number_of_seconds_falls_back_to_backoff(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps, value: str
) -> None:
    mocked.get(URL, status=503, headers={"Retry-After": value})
    mocked.get(URL, json=[])
    assert http.get("/v1/x") == [] and sleeps == [1.0]


def test_a_body_json_cannot_carry_is_refused_before_sending_naming_the_place(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError) as info:
        http.post("/v1/x", json={"scores": {"uncertainty": [0.5, float("inf")]}})
    assert str(info.value) == (
        "POST /v1/x: the body['scores']['uncertainty'][1] is inf, which JSON cannot carry "
        "(no NaN or infinity)"
    )
    assert not mocked.calls
    loop: list[object] = []
    loop.append({"again": loop})
    with pytest.raises(ValueError, match=re.escape("the body[0]['again'] contains itself")):
        http.post("/v1/x", json=loop)


def test_enum_members_are_sent_as_their_values(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """As the official client's enums (``class DockerRunScheduledState(str, Enum)``)."""

    class State(str, enum.Enum):
        OPEN = "OPEN"

    class Kind(enum.Enum):
        BOX = "OBJECT_DETECTION"

    mocked.get(re.compile(f"{SERVER}/v1/x/.*"), json=[])
    http.get(encode_path("/v1/x/{}", Kind.BOX), params={"state": State.OPEN, "kind": Kind.BOX})
    sent = mocked.calls[0].request.url
    assert sent == f"{SERVER}/v1/x/OBJECT_DETECTION?state=OPEN&kind=OBJECT_DETECTION&token={TOKEN}"


def test_backoff_has_jitter_and_a_cap() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=32.0, jitter=0.25)
    delays = [policy.delay(attempt) for attempt in (1, 2, 6, 10)]
    assert 0.75 <= delays[0] <= 1.25 and 1.5 <= delays[1] <= 2.5
    assert 24 <= delays[2] <= 40 and 24 <= delays[3] <= 40


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_are_not_retried(
    http: LightlyHttp, mocked: responses.RequestsMock, status: int
) -> None:
    mocked.get(URL, status=status, json={"code": "C", "error": "no"})
    with pytest.raises(ApiError) as info:
        http.get("/v1/x")
    assert info.value.status == status and len(mocked.calls) == 1


def test_post_is_not_retried_unless_asked(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.post(URL, status=503, body="down")
    with pytest.raises(ServerError, match="POST /v1/x failed with HTTP 503: down"):
        http.post("/v1/x", json={"a": 1})
    assert len(mocked.calls) == 1
    with pytest.raises(ServerError):
        http.post("/v1/x", json={"a": 1}, retry=True)
    assert len(mocked.calls) == 5


def test_a_post_refused_with_429_is_sent_again_as_it_was_not_processed(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    """An upsize tag refused with 429 left the initial tag short of the new samples."""
    mocked.post(URL, status=429, headers={"Retry-After": "2"}, body="")
    mocked.post(URL, status=201, json={"id": "1"})
    assert http.post("/v1/x", json={"a": 1}) == {"id": "1"}
    assert len(mocked.calls) == 2 and sleeps == [2.0]
    mocked.post(URL, status=429, body="")
    mocked.post(URL, status=503, body="")  # may have been processed: not sent again
    with pytest.raises(ServerError):
        http.post("/v1/x", json={"a": 1})
    assert len(mocked.calls) == 4


def test_a_wait_between_retries_ends_when_the_operation_is_cancelled(
    mocked: responses.RequestsMock,
) -> None:
    """A Retry-After of 20 s held a cancelled upload for 18 s."""
    http = LightlyHttp(base_url=SERVER, token=TOKEN, retry=RetryPolicy(attempts=3))
    mocked.get(URL, status=503, headers={"Retry-After": "20"}, body="")
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with stop_when(stop), pytest.raises(OperationCancelled):
        http.get("/v1/x")
    assert time.monotonic() - started < 5 and len(mocked.calls) == 1


def test_what_is_finished_after_a_cancel_is_sent_once_without_waits(
    mocked: responses.RequestsMock,
) -> None:
    """A started sample's images still go, but a stalled storage must not hold the
    cancelled upload through every retry."""
    http = LightlyHttp(base_url=SERVER, token=TOKEN, retry=RetryPolicy(attempts=5))
    mocked.put("https://blobs.test/k", status=503, body="")
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    with stop_when(stop), unstoppable(), pytest.raises(OperationCancelled):
        http.put_signed("https://blobs.test/k?sig=1", b"thumbnail")
    assert len(mocked.calls) == 1 and time.monotonic() - started < 1


def test_put_and_delete_are_retried(http: LightlyHttp, mocked: responses.RequestsMock) -> None:
    mocked.put(URL, status=502, body="")
    mocked.put(URL, body="")
    mocked.delete(URL, status=500, body="")
    mocked.delete(URL, body="")
    assert http.put("/v1/x", json={}) is None and http.delete("/v1/x") is None
    assert len(mocked.calls) == 4


def test_timeout_raises_request_timeout_with_a_clear_message(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(
        URL, body=requests.exceptions.ReadTimeout(f"Read timed out. (url: {URL}?token={TOKEN})")
    )
    with pytest.raises(RequestTimeout) as info:
        http.get("/v1/x", timeout=(1.0, 2.5))
    assert str(info.value) == "GET /v1/x: no answer within 2.5 s (attempt 4 of 4)"
    assert isinstance(info.value, TransportError) and len(sleeps) == 3
    assert "Read timed out" in full_text(info.value) and TOKEN not in full_text(info.value)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_raises_transport_error_without_the_token(
    sleeps: Sleeps, closed_port: int
) -> None:
    port = closed_port
    http = LightlyHttp(
        base_url=f"http://127.0.0.1:{port}",
        token=TOKEN,
        retry=RetryPolicy(attempts=2),
        sleep=sleeps,
    )
    with pytest.raises(TransportError) as info:
        http.get("/v1/x", params={"a": 1})
    assert (
        str(info.value)
        == f"GET /v1/x: could not reach 127.0.0.1:{port}: connection refused (attempt 2 of 2)"
    )
    assert not isinstance(info.value, RequestTimeout)
    assert isinstance(info.value, RuntimeError)  # as the reference documents it
    assert TOKEN not in full_text(info.value) and "***" in full_text(info.value)


def test_a_connection_the_server_closes_is_told_apart_from_an_unreachable_server(
    sleeps: Sleeps,
) -> None:
    """The request reached the server, which hung up: "could not reach" would mislead."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def hang_up() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)

        threading.Thread(target=hang_up, daemon=True).start()
        port = listener.getsockname()[1]
        http = LightlyHttp(
            base_url=f"http://127.0.0.1:{port}", token=TOKEN, retry=RetryPolicy(attempts=1)
        )
        with pytest.raises(TransportError) as info:
            http.get("/v1/x")
    assert str(info.value) == (
        f"GET /v1/x: the connection to 127.0.0.1:{port} broke: remote end closed connection "
        "without response (attempt 1 of 1)"
    )


def _tls_error(low_level: ssl.SSLError) -> requests.exceptions.SSLError:
    """What requests raises for ``low_level``, wrapped as urllib3 wraps it."""
    wrapped = urllib3.exceptions.SSLError(low_level)
    return requests.exceptions.SSLError(
        urllib3.exceptions.MaxRetryError(None, URL, reason=wrapped)  # type: ignore[arg-type]
    )


def test_an_untrusted_certificate_is_not_retried_and_names_the_fix(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    untrusted = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    untrusted.verify_message = "self-signed certificate"
    mocked.get(URL, body=_tls_error(untrusted))
    with pytest.raises(TLSFailure) as info:
        http.get("/v1/x")
    assert str(info.value) == (
        "GET /v1/x: TLS certificate verify failed: self-signed certificate at api.test; if a "
        "proxy or your organisation's certificate authority signs it, point LIGHTLY_CA_CERTS "
        "at that authority's certificate bundle (PEM)"
    )
    assert sleeps == [] and len(mocked.calls) == 1
    assert info.value.transient is False  # the engine's step retries skip it too
    assert info.value.__context__ is None  # requests' error, whose URL holds the token


def test_a_certificate_for_another_host_points_at_the_server_location(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """Not at LIGHTLY_CA_CERTS: the certificate is trusted, just not for this host."""
    mismatch = ssl.SSLCertVerificationError(1, "certificate verify failed: Hostname mismatch")
    mismatch.verify_message = "Hostname mismatch, certificate is not valid for 'api.test'."
    mocked.get(URL, body=_tls_error(mismatch))
    with pytest.raises(TLSFailure, match="for another host name: is the server location right"):
        http.get("/v1/x")


def test_a_ca_bundle_that_does_not_exist_is_named_at_construction(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LIGHTLY_CA_CERTS", str(tmp_path / "corp.pem"))
    with pytest.raises(ValueError, match=r"LIGHTLY_CA_CERTS names .*corp\.pem, which does not"):
        LightlyHttp(base_url=SERVER, token=TOKEN)


def test_a_tls_connection_that_broke_is_retried(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, body=_tls_error(ssl.SSLEOFError(8, "EOF occurred in violation of protocol")))
    mocked.get(URL, json={"ok": True})
    assert http.get("/v1/x") == {"ok": True}
    assert sleeps == [1.0]


def test_https_to_a_plain_http_server_says_so_at_once(sleeps: Sleeps) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        http = LightlyHttp(base_url=f"https://{host}", token=TOKEN, sleep=sleeps)
        with pytest.raises(TLSFailure) as info:
            http.get("/v1/x")
    finally:
        server.shutdown()
        server.server_close()
    assert str(info.value) == (
        f"GET /v1/x: TLS error: wrong version number at {host}; "
        f"the server does not speak TLS there: is it http://{host}?"
    )
    assert sleeps == []
    assert TOKEN not in full_text(info.value)


def test_the_token_is_never_in_an_error(http: LightlyHttp, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=400, body=f"bad request {URL}?token={TOKEN}")
    with pytest.raises(BadRequest) as info:
        http.get("/v1/x")
    assert TOKEN not in full_text(info.value) and TOKEN not in info.value.body
    assert TOKEN not in repr(info.value.args)


def test_query_booleans_none_and_token_last(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, json=[])
    http.get(
        "/v1/x", params={"shared": False, "exact": True, "skip": None, "n": 5, "name": "a b/+"}
    )
    assert query_of(mocked.calls[0]) == [
        ("shared", "False"),
        ("exact", "True"),
        ("n", "5"),
        ("name", "a b/+"),
        ("token", TOKEN),
    ]


def test_json_bodies_refuse_nan(http: LightlyHttp, mocked: responses.RequestsMock) -> None:
    with pytest.raises(ValueError):
        http.post("/v1/x", json={"score": float("nan")})
    assert len(mocked.calls) == 0


def test_text_plain_answers_stay_text(http: LightlyHttp, mocked: responses.RequestsMock) -> None:
    mocked.get(URL, body="1e3\ntrue", content_type="text/plain")
    assert http.get("/v1/x") == "1e3\ntrue"


def test_not_found_carries_code_and_message(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, status=404, json={"code": "DATASET_UNKNOWN", "error": "dataset x not found"})
    with pytest.raises(NotFound) as info:
        http.get("/v1/x")
    assert (info.value.code, info.value.message) == ("DATASET_UNKNOWN", "dataset x not found")


def test_signed_transfers_carry_no_token_and_hide_the_signature(
    http: LightlyHttp, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.put("https://blobs.test/k", body="")
    mocked.get("https://blobs.test/k", body=b"bytes")
    mocked.get("https://blobs.test/missing", status=403, body="denied")
    http.put_signed("https://blobs.test/k?sig=s3cr3t", b"bytes")
    assert http.get_signed("https://blobs.test/k?sig=s3cr3t") == b"bytes"
    assert (
        http.download("https://blobs.test/k?sig=s3cr3t", tmp_path / "d" / "f.bin").read_bytes()
        == b"bytes"
    )
    assert all("token" not in c.request.url for c in mocked.calls)
    with pytest.raises(ApiError) as info:
        http.download("https://blobs.test/missing?sig=s3cr3t", tmp_path / "d" / "g.bin")
    assert "s3cr3t" not in str(info.value) and str(info.value).startswith(
        "GET https://blobs.test/missing failed"
    )
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["f.bin"]


def test_a_file_body_is_rewound_for_each_attempt(
    http: LightlyHttp, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    class Body(io.BytesIO):
        seeks: list[int] = []

        def seek(self, offset: int, whence: int = 0) -> int:
            self.seeks.append(offset)
            return super().seek(offset, whence)

    mocked.put("https://blobs.test/k", status=503, body="")
    mocked.put("https://blobs.test/k", body="")
    body = Body(b"0123456789")
    with caplog.at_level("WARNING", logger="runner.client"):
        http.put_signed("https://blobs.test/k?X-Amz-Signature=s3cr3t", body)
    assert len(mocked.calls) == 2 and 0 in body.seeks
    assert caplog.messages == [
        "PUT https://blobs.test/k failed with HTTP 503: (no body) (attempt 1 of 4); retrying in 1.0 s"
    ]  # the signature stays out


@responses.activate
def test_query_values_are_percent_encoded_as_the_platform_expects(http: LightlyHttp) -> None:
    """CONTRACT §2.3: space → %20, + → %2B, / kept, booleans as True/False, token last."""
    responses.get(URL, json=[])
    http.get("/v1/x", params={"fileName": "dir a/b+c é.jpg", "isThumbnail": True, "skip": None})
    url = responses.calls[0].request.url
    assert url == f"{URL}?fileName=dir%20a/b%2Bc%20%C3%A9.jpg&isThumbnail=True&token={TOKEN}"


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("api.lightly.ai", "'api.lightly.ai'"),
        ("ftp://files.example.com", "'ftp://files.example.com'"),
        ("https://", "'https:'"),
        ("http://user:secret@/v1", "'http://***@/v1'"),
    ],
)
def test_a_server_location_that_is_no_http_url_is_refused_at_construction(
    location: str, shown: str
) -> None:
    with pytest.raises(ValueError) as info:
        ApiWorkflowClient(token=TOKEN, server_location=location)
    assert str(info.value) == (
        f"the server location {shown} is not an http:// or https:// URL with a host "
        "(for example https://api.lightly.ai)"
    )
    assert "secret" not in str(info.value)


def test_a_server_location_ending_in_v1_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError) as info:
        ApiWorkflowClient(token=TOKEN, server_location="https://api.lightly.ai/v1/")
    assert str(info.value) == (
        "the server location 'https://api.lightly.ai/v1' ends in /v1, which every request "
        "adds: use 'https://api.lightly.ai'"
    )
    prefixed = ApiWorkflowClient(token=TOKEN, server_location="https://lightly.corp/api")
    assert prefixed._http.base_url == "https://lightly.corp/api"  # a path prefix is fine


def test_a_malformed_signed_url_is_not_retried(http: LightlyHttp, sleeps: Sleeps) -> None:
    with pytest.raises(TransportError) as info:
        http.put_signed("blobs/x.webp?signature=SIG", b"data")
    assert str(info.value) == "PUT blobs/x.webp: malformed URL, not sent (MissingSchema)"
    assert sleeps == []
    assert "SIG" not in str(info.value)


def test_each_retry_is_logged_with_what_failed_and_when_it_is_tried_again(
    http: LightlyHttp, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(URL, status=503, json={"code": "DOWN", "error": "maintenance"})
    mocked.get(URL, body=requests.ConnectionError("refused"))
    mocked.get(URL, json={"ok": True})
    with caplog.at_level("WARNING", logger="runner.client"):
        assert http.get("/v1/x") == {"ok": True}
    assert [r.getMessage() for r in caplog.records] == [
        "GET /v1/x failed with HTTP 503: DOWN: maintenance (attempt 1 of 4); retrying in 1.0 s",
        "GET /v1/x: could not reach api.test: ConnectionError (attempt 2 of 4); retrying in 2.0 s",
    ]
    assert TOKEN not in caplog.text


def test_a_request_that_is_not_retried_logs_nothing(
    http: LightlyHttp, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(URL, status=404, json={"code": "NOT_FOUND", "error": "no"})
    with caplog.at_level("WARNING", logger="runner.client"), pytest.raises(NotFound):
        http.get("/v1/x")
    assert caplog.records == []


def test_every_request_carries_the_session_headers(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.post(URL, json={})
    mocked.put("https://blobs.test/k", body="")
    http.post("/v1/x", json={"a": 1})
    http.put_signed("https://blobs.test/k?sig=1", b"data", headers={"x-ms-blob-type": "BlockBlob"})
    api, blob = (call.request.headers for call in mocked.calls)
    assert api["User-Agent"].startswith("lightly-run/") and api["Accept"] == "application/json"
    assert api["Content-Type"] == "application/json"
    assert blob["User-Agent"].startswith("lightly-run/") and blob["x-ms-blob-type"] == "BlockBlob"
    assert blob["Content-Length"] == "4"


def test_proxies_and_ca_bundle_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, mocked: responses.RequestsMock
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "blobs.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corp-ca.pem")
    http = LightlyHttp(base_url=SERVER, token=TOKEN)
    mocked.get(URL, json=[])
    mocked.get("https://blobs.test/k", body=b"blob")
    http.get("/v1/x")
    http.get_signed("https://blobs.test/k?sig=1")
    api, blob = (call.request.req_kwargs for call in mocked.calls)
    assert api["proxies"]["https"] == "http://proxy.corp:3128"
    assert not blob["proxies"]  # NO_PROXY
    assert api["verify"] == blob["verify"] == "/etc/corp-ca.pem"


def test_a_redirect_is_followed(http: LightlyHttp, mocked: responses.RequestsMock) -> None:
    mocked.get("https://blobs.test/k", status=307, headers={"Location": "https://eu.blobs.test/k"})
    mocked.get("https://eu.blobs.test/k", body=b"moved")
    assert http.get_signed("https://blobs.test/k?sig=1") == b"moved"
    assert [c.request.url.split("?")[0] for c in mocked.calls] == [
        "https://blobs.test/k",
        "https://eu.blobs.test/k",
    ]


def test_a_redirected_post_is_sent_once_then_the_redirect_followed(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """It was sent twice: a POST whose server did the work made a second dataset."""
    mocked.post(URL, status=303, headers={"Location": f"{SERVER}/v1/y"})
    mocked.get(f"{SERVER}/v1/y", json={"id": "1"})
    assert http.post("/v1/x", json={"name": "a"}) == {"id": "1"}
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]


def test_an_upload_moved_after_a_first_redirect_is_refused_too(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.put("https://blobs.test/k", status=307, headers={"Location": "https://a.test/k"})
    mocked.put("https://a.test/k", status=301, headers={"Location": "https://b.test/k"})
    with pytest.raises(UnexpectedResponse, match=r"moved \(301\) to https://b.test/k"):
        http.put_signed("https://blobs.test/k?sig=1", b"image bytes")
    assert [c.request.url.split("?")[0] for c in mocked.calls] == [
        "https://blobs.test/k",
        "https://a.test/k",
    ]


def test_a_redirect_loop_is_not_retried(
    http: LightlyHttp, mocked: responses.RequestsMock, sleeps: Sleeps
) -> None:
    mocked.get(URL, status=302, headers={"Location": URL})
    with pytest.raises(TransportError, match=r"GET /v1/x: redirected more than 30 times$"):
        http.get("/v1/x")
    assert sleeps == [] and len(mocked.calls) == 31


def test_a_post_whose_redirect_is_refused_with_429_is_not_sent_again(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """The 429 refused the GET of the redirect, not the POST, which was processed."""
    mocked.post(URL, status=303, headers={"Location": f"{SERVER}/v1/y"})
    mocked.get(f"{SERVER}/v1/y", status=429, body="")
    with pytest.raises(RateLimited):
        http.post("/v1/x", json={"name": "a"})
    assert [c.request.method for c in mocked.calls] == ["POST", "GET"]


def test_a_post_processed_on_a_later_attempt_is_not_sent_once_more(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """Refused with 429, then processed (303) with its redirect refused: not sent a third time."""
    mocked.post(URL, status=429, body="")
    mocked.post(URL, status=303, headers={"Location": f"{SERVER}/v1/y"})
    mocked.get(f"{SERVER}/v1/y", status=429, body="")
    with pytest.raises(RateLimited):
        http.post("/v1/x", json={"name": "a"})
    assert [c.request.method for c in mocked.calls] == ["POST", "POST", "GET"]


def test_a_delete_moved_for_good_is_followed_as_a_delete(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.delete(URL, status=301, headers={"Location": f"{SERVER}/v1/x/"})
    mocked.delete(f"{SERVER}/v1/x/", body="")
    http.delete("/v1/x")
    assert [c.request.method for c in mocked.calls] == ["DELETE", "DELETE"]


@pytest.mark.parametrize("status", [301, 302])
def test_an_upload_that_is_moved_is_refused_not_sent_empty(
    http: LightlyHttp, mocked: responses.RequestsMock, status: int
) -> None:
    """Followed, a 301/302 sends a PUT without its body (an empty object stored)."""
    mocked.put("https://blobs.test/k", status=status, headers={"Location": "https://x.test/k"})
    with pytest.raises(UnexpectedResponse, match=f"moved \\({status}\\) to https://x.test/k"):
        http.put_signed("https://blobs.test/k?sig=1", b"image bytes")
    assert len(mocked.calls) == 1


def test_a_callers_session_is_used_with_all_of_its_settings(
    mocked: responses.RequestsMock,
) -> None:
    session = requests.Session()
    session.headers["X-Team"] = "vision"
    session.cookies.set("sticky", "a1", domain="api.test")
    http = LightlyHttp(base_url=SERVER, token=TOKEN, session=session)
    mocked.get(URL, json=[])
    http.get("/v1/x")
    request = mocked.calls[0].request
    assert request.headers["X-Team"] == "vision" and request.headers["Cookie"] == "sticky=a1"


PAGE = "<!DOCTYPE html>\n<html><head><title>Corporate\n  login</title></head><body>…</body></html>"


def test_a_proxy_that_is_down_is_named_not_the_server(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    mocked.get(URL, body=requests.exceptions.ProxyError("Unable to connect to proxy", refused))
    with pytest.raises(TransportError) as info:
        http.get("/v1/x")
    assert str(info.value) == (
        "GET /v1/x: could not reach the proxy for api.test: connection refused (attempt 4 of 4)"
    )


@pytest.mark.parametrize("trust_env", [True, False])
def test_lightly_ca_certs_wins_for_a_callers_session_which_is_left_as_it_was(
    monkeypatch: pytest.MonkeyPatch, mocked: responses.RequestsMock, tmp_path: Path, trust_env: bool
) -> None:
    """requests let REQUESTS_CA_BUNDLE override it for a caller's session."""
    bundle = tmp_path / "lightly-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("LIGHTLY_CA_CERTS", str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/other-ca.pem")
    session = requests.Session()
    session.trust_env = trust_env
    http = LightlyHttp(base_url=SERVER, token=TOKEN, session=session)
    mocked.get(URL, json=[])
    http.get("/v1/x")
    assert mocked.calls[0].request.req_kwargs["verify"] == str(bundle)
    assert session.verify is True


def test_an_html_page_with_a_success_status_is_not_taken_for_an_answer(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, body=PAGE, content_type="text/html; charset=utf-8")
    with pytest.raises(UnexpectedResponse) as info:
        http.get("/v1/x")
    assert str(info.value) == (
        f"GET /v1/x: the server at https://api.test answered with an HTML page 'Corporate "
        f"login', {NOT_THE_API}"
    )
    assert isinstance(info.value, TransportError)


@pytest.mark.parametrize(
    ("body", "content_type", "answer"),
    [
        ("{not json", "application/json", "a body that is not valid JSON"),
        ("hello", "text/plain", "text where it answers an array"),
        ("null", "application/json", "no value where it answers an array"),
        ('{"data": []}', "application/json", "an object where it answers an array"),
    ],
)
def test_an_answer_of_the_wrong_kind_is_no_answer(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    body: str,
    content_type: str,
    answer: str,
) -> None:
    """Not taken apart as if it were one: text read as a list gave its characters as
    file names, which tags are then built from."""
    mocked.get(re.compile(f"{SERVER}/v1/datasets.*"), body=body, content_type=content_type)
    for operation in (client.get_filenames, client.get_all_tags, client.get_datasets):
        with pytest.raises(UnexpectedResponse, match=re.escape(f"answered with {answer}")):
            operation()


def test_a_body_nobody_reads_may_be_anything(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """Where the API answers no body (CONTRACT §2.4), a success is a success: the text of
    an invalid JSON body is returned, as the official client falls back to it (§2.3)."""
    mocked.put(URL, body="OK", content_type="application/json")
    assert http.put("/v1/x", json={"a": 1}) == "OK"


def test_an_object_where_the_api_answers_one_is_checked_too(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}/v1/datasets/query/name/new", json=[])
    mocked.post(f"{SERVER}/v1/datasets", json=["not", "an", "object"])
    with pytest.raises(UnexpectedResponse) as info:
        client.create_dataset("new")
    assert str(info.value) == (
        f"POST /v1/datasets: the server at {SERVER} answered with an array where it answers "
        f"an object, {NOT_THE_API}"
    )


def test_an_html_error_page_is_summed_up_not_dumped(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """A 404 page of another server is a wrong server location, not "dataset not found"."""
    mocked.get(URL, status=404, body=PAGE, content_type="text/html")
    with pytest.raises(UnexpectedResponse) as info:
        http.get("/v1/x")
    assert str(info.value) == (
        f"GET /v1/x: the server at {SERVER} answered with 404 and an HTML page 'Corporate "
        f"login', {NOT_THE_API}"
    )
    assert info.value.transient is False and len(mocked.calls) == 1


def test_an_html_page_with_a_server_error_stays_a_server_error_and_is_retried(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    """A proxy's 502/503 page in front of the API is worth another try."""
    mocked.get(URL, status=503, body=PAGE, content_type="text/html")
    with pytest.raises(ServerError) as info:
        http.get("/v1/x")
    assert "an HTML page 'Corporate login', not an answer of the Lightly API" in str(info.value)
    assert info.value.body == PAGE and len(mocked.calls) == 4  # the whole page stays available


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8"])
def test_text_answers_are_utf_8_unless_they_say_otherwise(
    http: LightlyHttp, mocked: responses.RequestsMock, content_type: str
) -> None:
    mocked.get(URL, body="grüße.jpg\nb.jpg".encode(), content_type=content_type)
    assert http.get("/v1/x") == "grüße.jpg\nb.jpg"  # requests alone: 'grÃ¼Ã\x9fe.jpg'


def test_a_text_answer_in_another_charset_is_decoded_with_it(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.get(URL, body="grüße".encode("latin-1"), content_type="text/plain; charset=latin-1")
    assert http.get("/v1/x") == "grüße"


def test_an_empty_answer_labelled_html_is_just_empty(
    http: LightlyHttp, mocked: responses.RequestsMock
) -> None:
    mocked.put(URL, body="", content_type="text/html; charset=utf-8")  # Flask's default
    assert http.put("/v1/x", json={}) is None


def test_a_token_too_short_to_be_real_does_not_garble_messages(
    mocked: responses.RequestsMock,
) -> None:
    http = LightlyHttp(base_url=SERVER, token="x", retry=RetryPolicy(attempts=1))
    mocked.get(URL, status=404, json={"code": "NOT_FOUND", "error": "no index exists"})
    with pytest.raises(NotFound, match="no index exists"):
        http.get("/v1/x")


def test_a_download_to_a_folder_or_under_a_file_says_so_before_any_request(
    http: LightlyHttp, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    (tmp_path / "report.json").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match=r"report\.json is a folder: a download needs a file"):
        http.download(f"{SERVER}/blob", tmp_path / "report.json")
    with pytest.raises(ValueError, match="afile: a file is in the way"):
        http.download(f"{SERVER}/blob", tmp_path / "afile" / "x.log")
    assert len(mocked.calls) == 0


def test_credentials_in_the_server_url_never_reach_a_message(
    sleeps: Sleeps, closed_port: int
) -> None:
    port = closed_port
    http = LightlyHttp(
        base_url=f"http://me:pa55word@127.0.0.1:{port}",
        token=TOKEN,
        retry=RetryPolicy(attempts=1),
        sleep=sleeps,
    )
    with pytest.raises(TransportError) as info:
        http.get("/v1/x")
    assert str(info.value) == (
        f"GET /v1/x: could not reach 127.0.0.1:{port}: connection refused (attempt 1 of 1)"
    )
    assert "pa55word" not in full_text(info.value)


def test_credentials_in_the_server_url_are_sent_as_basic_auth(
    mocked: responses.RequestsMock,
) -> None:
    http = LightlyHttp(base_url="https://me:pa55word@api.test", token=TOKEN)
    mocked.get(re.compile(r"https://(me:pa55word@)?api\.test/v1/x.*"), json={"ok": True})
    assert http.get("/v1/x") == {"ok": True}
    assert mocked.calls[0].request.headers["Authorization"] == "Basic bWU6cGE1NXdvcmQ="
