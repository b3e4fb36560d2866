"""Benchmark: ``upload_dataset`` of 2,000 small images vs a plain keep-alive PUT loop.

A tiny threaded ``http.server`` (in its own process, so it does not share the
client's GIL) on 127.0.0.1:0 answers the API calls ``upload_dataset`` makes and
accepts PUTs of blobs. The baseline is a ``requests.Session`` PUT loop sending the
same bytes (the thumbnails, plus the originals in ``full`` mode) to the same
server, one request per blob, measured in the same run. Target: ``upload_dataset``
reaches at least 70 % of the loop's throughput.

``upload_dataset`` also creates each sample (POST ``samples/withWriteUrls``, which
answers with the write URLs), and computes metadata and a WebP thumbnail: per image
it makes 2 requests where the loop makes 1. On pure loopback a request costs only
CPU (0.3-0.6 ms of ``requests``/urllib3 in the client, under the GIL), so there the
upload is CPU-bound and cannot reach the target on 2 cores: 2 requests plus a
thumbnail cost about 2.5 ms of client CPU against the loop's 0.6 ms, and the server
shares the 2 cores. ``--latency-ms`` makes the server wait before each answer, like
the network between a user and the platform; from about 1 ms on, the 8 parallel
workers hide the extra request. The default runs 0, 1, 2 and 5 ms.

At 0 ms it also prints the CPU floor: the client and server CPU an upload takes with
1 worker (the least; more threads only add contention), divided by the machine's
cores. No schedule of that work, threads or processes, finishes faster, so where the
floor is below 70 % of the loop, only doing less work per image could reach the target.

And two ceilings, each ``upload_dataset`` with one of its two costs taken away:

- ``no network``: every request answered in-process, at no cost, by
  ``instant_answers``; only the per-image work (metadata, WebP thumbnail, JSON)
  and the threads remain;
- ``no image work``: the metadata and thumbnails computed beforehand (``prepared``);
  only the requests remain, 2 per image against the loop's 1.

Where a ceiling is itself below 70 % of the loop, removing the other cost entirely
would still not reach the target. For comparison it also prints the ratio to a plain
loop that makes the requests the API needs per image (create the sample, then PUT).

Run: ``.venv/bin/python benchmarks/bench_upload.py [--images 2000] [--workers 8]
[--modes thumbnails,full] [--latency-ms 0,5]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LIGHTLY_RUN_NO_PROGRESS", "1")

from runner.client import ApiWorkflowClient, samples
from runner.client._http import LightlyHttp
from runner.client._images import PreparedImage, prepare_image

DATASET = "d" * 24


class Handler(BaseHTTPRequestHandler):
    """Just enough of the Lightly API for ``upload_dataset``, plus a blob sink."""

    protocol_version = "HTTP/1.1"  # keep-alive
    counter = 0
    latency = 0.0

    def setup(self) -> None:
        # as real servers do: no Nagle delay between the header and the body writes
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any = None) -> None:
        if Handler.latency:
            time.sleep(Handler.latency)
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _base(self) -> str:
        return f"http://{self.headers['Host']}"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.endswith("/tags") or path.endswith("/samples/partial"):
            self._answer(200, [])
        elif path == "/v1/quota":
            self._answer(200, "1000000")
        elif path == "/bench/cpu":  # not an API route: this server's CPU seconds so far
            self._answer(200, time.process_time())
        elif path.endswith("/datasource"):
            self._answer(404, {"code": "DATASET_DATASOURCE_UNKNOWN", "error": "none"})
        elif path.endswith("/writeurl"):
            self._answer(200, f"{self._base()}/blobs{path}?sig=x")
        elif path.endswith("/writeurls"):
            base = f"{self._base()}/blobs{path}"
            self._answer(200, {"full": f"{base}/full?sig=x", "thumb": f"{base}/thumb?sig=x"})
        else:
            self._answer(404, {"code": "NOT_FOUND", "error": path})

    def do_POST(self) -> None:
        self._read_body()
        Handler.counter += 1
        sample = f"{Handler.counter:024x}"
        if self.path.split("?", 1)[0].endswith("/withWriteUrls"):
            base = f"{self._base()}/blobs/{sample}"
            urls = {"full": f"{base}/full?sig=x", "thumb": f"{base}/thumb?sig=x"}
            self._answer(201, {"id": sample, "sampleWriteUrls": urls})
            return
        self._answer(201, {"id": sample})

    def do_PUT(self) -> None:
        self._read_body()
        self._answer(200)


def serve(port_queue: Any, latency: float) -> None:
    Handler.latency = latency
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def make_images(folder: Path, count: int) -> None:
    rng = random.Random(0)
    for i in range(count):
        size = (rng.randint(48, 96), rng.randint(48, 96))
        pixels = bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3))
        Image.frombytes("RGB", size, pixels).save(folder / f"img_{i:05d}.jpg", quality=85)


def blobs_of(folder: Path, mode: str) -> list[bytes]:
    """The bytes ``upload_dataset`` PUTs in ``mode``: thumbnails (and originals)."""
    blobs = []
    for path in sorted(folder.iterdir()):
        thumbnail = prepare_image(path, path.name, with_thumbnail=True).thumbnail
        assert thumbnail is not None
        blobs.append(thumbnail)
        if mode == "full":
            blobs.append(path.read_bytes())
    return blobs


def plain_loop(base: str, blobs: list[bytes]) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of one PUT per blob on one keep-alive session."""
    with requests.Session() as session:
        start, cpu = time.perf_counter(), time.process_time()
        for i, blob in enumerate(blobs):
            session.put(f"{base}/blobs/plain/{i}?sig=x", data=blob).raise_for_status()
        return time.perf_counter() - start, time.process_time() - cpu


def create_and_put_loop(base: str, folder: Path, mode: str) -> float:
    """Wall seconds of a plain loop that makes each image's requests as the API needs
    them: the sample's creation (the same JSON body ``upload_dataset`` sends), then its
    PUTs, one image after the other on one keep-alive session. Not the issue's baseline:
    what a baseline of "the same requests" would be (the note's option b)."""
    images = [(p, prepare_image(p, p.name, with_thumbnail=True)) for p in sorted(folder.iterdir())]
    bodies = [json.dumps(samples._sample_body(image, None)).encode() for _, image in images]
    create = f"{base}/v1/datasets/{DATASET}/samples/withWriteUrls?token=bench"
    with requests.Session() as session:
        start = time.perf_counter()
        for (path, image), body in zip(images, bodies, strict=True):
            answer = session.post(create, data=body, headers={"Content-Type": "application/json"})
            urls = answer.json()["sampleWriteUrls"]
            session.put(urls["thumb"], data=image.thumbnail).raise_for_status()
            if mode == "full":
                session.put(urls["full"], data=path.read_bytes()).raise_for_status()
        return time.perf_counter() - start


def with_client(base: str, folder: Path, mode: str, workers: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of ``upload_dataset``."""
    client = ApiWorkflowClient(token="bench", dataset_id=DATASET, server_location=base)
    start, cpu = time.perf_counter(), time.process_time()
    client.upload_dataset(str(folder), max_workers=workers, mode=mode)  # type: ignore[arg-type]
    return time.perf_counter() - start, time.process_time() - cpu


def instant_answers(_http: LightlyHttp, method: str, url: str, **_kwargs: Any) -> requests.Response:
    """What the benchmark server answers, made in-process: ``LightlyHttp._dispatch``
    without a socket, an HTTP parser or a server."""
    path = url.split("?", 1)[0]
    status = 201 if method == "POST" else 200
    body: Any = None
    if path.endswith(("/tags", "/samples/partial")):
        body = []
    elif path.endswith("/v1/quota"):
        body = "1000000"
    elif path.endswith("/datasource"):
        status, body = 404, {"code": "DATASET_DATASOURCE_UNKNOWN", "error": "none"}
    elif path.endswith("/withWriteUrls"):
        Handler.counter += 1
        base = f"http://127.0.0.1:1/blobs/{Handler.counter:024x}"
        urls = {"full": f"{base}/full?sig=x", "thumb": f"{base}/thumb?sig=x"}
        body = {"id": f"{Handler.counter:024x}", "sampleWriteUrls": urls}
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    response._content = b"" if body is None else json.dumps(body).encode()
    return response


def without_network(folder: Path, mode: str, workers: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of ``upload_dataset`` on ``instant_answers``."""
    with mock.patch.object(LightlyHttp, "_dispatch", instant_answers):
        return with_client("http://127.0.0.1:1", folder, mode, workers)


def without_image_work(base: str, folder: Path, mode: str, workers: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of ``upload_dataset`` whose images were
    prepared (metadata, thumbnail) before the clock starts."""
    prepared = {
        path.name: prepare_image(path, path.name, with_thumbnail=mode != "metadata")
        for path in folder.iterdir()
    }

    def ready(_path: Path, file_name: str, *, with_thumbnail: bool) -> PreparedImage:
        return prepared[file_name]

    with mock.patch.object(samples, "prepare_image", ready):
        return with_client(base, folder, mode, workers)


def cpu_floor(base: str, folder: Path, mode: str) -> tuple[float, float, float]:
    """(client, server, floor) seconds for the whole upload: the CPU that ``upload_dataset``
    with 1 worker (the least CPU: no thread contention) takes in the client and in the
    server, and the wall time below which no schedule can go on this machine's cores."""

    def server_cpu() -> float:
        return float(requests.get(f"{base}/bench/cpu", timeout=10).json())

    before = server_cpu()
    _wall, client = with_client(base, folder, mode, workers=1)
    server = server_cpu() - before
    return client, server, (client + server) / (os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--modes", default="thumbnails")
    parser.add_argument("--latency-ms", default="0,1,2,5")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_images(folder, args.images)
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{args.images} images, {size / 2**20:.1f} MB, {args.workers} workers")
        blobs = {mode: blobs_of(folder, mode) for mode in args.modes.split(",")}
        for latency in (float(ms) for ms in args.latency_ms.split(",")):
            queue: Any = multiprocessing.Queue()
            server = multiprocessing.Process(
                target=serve, args=(queue, latency / 1000), daemon=True
            )
            server.start()
            base = f"http://127.0.0.1:{queue.get(timeout=10)}"
            try:
                for mode, mode_blobs in blobs.items():
                    report(base, folder, mode, args.workers, mode_blobs, latency)
            finally:
                server.terminate()
                server.join()


def report(
    base: str, folder: Path, mode: str, workers: int, blobs: list[bytes], latency: float
) -> None:
    plain, plain_cpu = plain_loop(base, blobs)
    ours, ours_cpu = with_client(base, folder, mode, workers)
    count, megabytes = len(list(folder.iterdir())), sum(map(len, blobs)) / 2**20
    print(f"mode={mode}, server latency {latency:g} ms: {len(blobs)} PUTs, {megabytes:.1f} MB")
    for label, wall, cpu in (
        ("plain keep-alive PUT loop", plain, plain_cpu),
        ("upload_dataset", ours, ours_cpu),
    ):
        print(
            f"  {label:26} {wall:6.2f} s  {count / wall:5.0f} img/s  {megabytes / wall:5.1f} MB/s"
            f"  client CPU {cpu / count * 1000:4.2f} ms/img"
        )
    ratio = plain / ours
    verdict = "OK" if ratio >= 0.7 else "BELOW TARGET"
    print(f"  upload_dataset / plain loop throughput: {ratio:.0%}  (target >= 70%: {verdict})")
    both = create_and_put_loop(base, folder, mode)
    print(f"  for comparison, a loop creating each sample and PUTting: {both / ours:.0%}")
    if latency == 0:
        client, server, floor = cpu_floor(base, folder, mode)
        print(
            f"  CPU floor: upload_dataset takes {client / count * 1000:4.2f} ms/img of client"
            f" and {server / count * 1000:4.2f} ms/img of server CPU (1 worker); on"
            f" {os.cpu_count()} cores no schedule takes less than {floor / count * 1000:4.2f}"
            f" ms/img: at best {plain / floor:.0%} of the loop"
        )
        for label, (wall, cpu) in (
            ("no network", without_network(folder, mode, workers)),
            ("no image work", without_image_work(base, folder, mode, workers)),
        ):
            print(
                f"  ceiling, {label + ':':14} {count / wall:5.0f} img/s, client CPU "
                f"{cpu / count * 1000:4.2f} ms/img: {plain / wall:.0%} of the loop"
            )


if __name__ == "__main__":
    main()
