"""``upload_dataset`` over real sockets: parallel uploads reuse their keep-alive connections."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from runner.client import ApiWorkflowClient
from tests.client.conftest import DATASET_ID


class _Api(BaseHTTPRequestHandler):
    """The calls of ``upload_dataset`` (CONTRACT §8.1) and a blob sink; counts connections."""

    protocol_version = "HTTP/1.1"
    connections = 0
    requests: list[str] = []
    lock = threading.Lock()

    def setup(self) -> None:
        super().setup()
        with _Api.lock:
            _Api.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with _Api.lock:
            _Api.requests.append(f"{self.command} {self.path.split('?')[0]}")
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith(("/tags", "/samples/partial")):
            self._answer(200, [])
        elif path == "/v1/quota":
            self._answer(200, "1000")
        elif path.endswith("/writeurl"):
            self._answer(200, f"http://{self.headers['Host']}/blobs{path}?sig=s")
        else:
            self._answer(404, {"code": "NOT_FOUND", "error": path})

    def do_POST(self) -> None:
        sample = f"{len(_Api.requests):024x}"
        if self.path.split("?")[0].endswith("/samples/withWriteUrls"):
            blobs = f"http://{self.headers['Host']}/blobs/{sample}"
            urls = {"full": f"{blobs}/full?sig=s", "thumb": f"{blobs}/thumb?sig=s"}
            self._answer(201, {"id": sample, "sampleWriteUrls": urls})
        else:
            self._answer(201, {"id": sample})

    def do_PUT(self) -> None:
        self._answer(200)


@pytest.fixture
def server() -> Iterator[str]:
    _Api.connections, _Api.requests = 0, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_parallel_uploads_reuse_keep_alive_connections(server: str, tmp_path: Path) -> None:
    for i in range(30):
        Image.new("RGB", (40, 30), (i * 8, 0, 0)).save(tmp_path / f"img_{i:02d}.png")
    client = ApiWorkflowClient(token="t", dataset_id=DATASET_ID, server_location=server)

    client.upload_dataset(str(tmp_path), max_workers=3)

    puts = [r for r in _Api.requests if r.startswith("PUT /blobs/")]
    assert len(puts) == 30
    # §8.1: 5 calls before, 1 after; per image POST samples/withWriteUrls, PUT thumbnail
    assert len(_Api.requests) == 6 + 2 * 30
    assert _Api.connections <= 3  # one per worker thread, never one per request
