"""The HTTP layer against a real socket: answers that stall, break off or come
compressed, and what reaches the logs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from runner.client import RequestTimeout, RetryPolicy, TransportError
from runner.client._http import LightlyHttp

TOKEN = "wire-token-0123456789abcdef"
BODY = b'["a.jpg", "b.jpg"]'


class Answers(BaseHTTPRequestHandler):
    """``/stall``: headers, then nothing; ``/cut``: half the announced body; else BODY.
    ``/flaky/...`` breaks off on its first request only."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []
    flaky_done: set[str] = set()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        Answers.seen.append(dict(self.headers))
        path = self.path.split("?")[0]
        cut = path == "/cut" or (path.startswith("/flaky") and path not in Answers.flaky_done)
        Answers.flaky_done.add(path)
        if path == "/chunkcut":  # chunked, and the connection closed before the last chunk
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if path == "/stall":
            self.wfile.flush()
            time.sleep(1.5)
        elif cut:
            self.wfile.write(BODY[: len(BODY) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(BODY)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Answers.seen.clear()
    Answers.flaky_done.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def http_for(server: str) -> LightlyHttp:
    policy = RetryPolicy(attempts=2, backoff=0.01, jitter=0.0)
    return LightlyHttp(base_url=server, token=TOKEN, retry=policy, timeout=(2.0, 0.3))


def test_a_body_that_stalls_is_a_timeout(server: str) -> None:
    """Not "could not reach": the server answered; and a step retried on timeouts retries it."""
    with pytest.raises(
        RequestTimeout, match=r"GET /stall: no answer within 0.3 s \(attempt 2 of 2\)"
    ):
        http_for(server).get("/stall")


def test_a_body_cut_short_says_so(server: str) -> None:
    with pytest.raises(TransportError, match=r"the answer from 127.0.0.1:\d+ was cut short"):
        http_for(server).get("/cut")


def test_a_download_that_breaks_off_is_typed_retried_and_leaves_no_file(
    server: str, tmp_path: Path
) -> None:
    http = http_for(server)
    assert http.download(f"{server}/flaky/a?sig=1", tmp_path / "a.json").read_bytes() == BODY
    for broken in ("cut", "chunkcut"):
        with pytest.raises(
            TransportError, match=rf"GET http://127.0.0.1:\d+/{broken}: .*cut short"
        ):
            http.download(f"{server}/{broken}?sig=1", tmp_path / "b.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    assert all(h.get("Accept-Encoding") == "identity" for h in Answers.seen)  # stored bytes


def test_the_token_never_reaches_urllib3s_request_log(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        http_for(server).get("/names", params={"a": 1})
        # a caller's adapter that retries logs the URL on urllib3.util.retry
        logging.getLogger("urllib3.util.retry").debug(
            "Incremented Retry for (url='%s')", f"/x?token={TOKEN}"
        )
    lines = [record.getMessage() for record in caplog.records]
    assert any("/names?a=1&token=***" in line for line in lines), lines
    assert any("/x?token=***" in line for line in lines), lines
    assert not any(TOKEN in line for line in lines)
