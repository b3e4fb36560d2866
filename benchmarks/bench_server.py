"""Throughput of the local server under 8 parallel clients (issue 4, acceptance point 5).

Starts the server in-process on a free loopback port (``start_in_thread``, no
workers) over a temporary data directory, then runs two timed phases, each with
``--clients`` threads that own a ``requests.Session``:

1. sample creations: ``POST /v1/datasets/{id}/samples`` with small metadata;
2. signed uploads: ``PUT`` of ``--size`` bytes to the signed write URLs of the
   samples created in phase 1 (the URLs are fetched before the clock starts).

Usage: ``python benchmarks/bench_server.py [--seconds 10] [--clients 8] [--size 2048] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.local.server import RunningServer, start_in_thread


def _run_phase(
    clients: int, seconds: float, work: Callable[[int, requests.Session], bool]
) -> tuple[int, int, float]:
    """Run ``work(client, session)`` in a loop on each client until time is up: (ok, failed, s)."""
    ok = [0] * clients
    failed = [0] * clients
    start_line = threading.Barrier(clients + 1)
    deadline = [0.0]

    def loop(client: int) -> None:
        with requests.Session() as session:
            start_line.wait()
            while time.perf_counter() < deadline[0]:
                if work(client, session):
                    ok[client] += 1
                else:
                    failed[client] += 1

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    for thread in threads:
        thread.start()
    begin = time.perf_counter()
    deadline[0] = begin + seconds
    start_line.wait()
    for thread in threads:
        thread.join()
    return sum(ok), sum(failed), time.perf_counter() - begin


def _create_phase(
    base: str, token: dict[str, str], *, clients: int, seconds: float, size: int
) -> tuple[list[list[str]], tuple[int, int, float]]:
    """Phase 1: sample creations; returns each client's sample ids and the phase counts."""
    created: list[list[str]] = [[] for _ in range(clients)]

    def create(client: int, session: requests.Session) -> bool:
        name = f"c{client}/img-{len(created[client])}-{time.perf_counter_ns()}.jpg"
        body = {"fileName": name, "metaData": {"sizeInBytes": size}}
        response = session.post(f"{base}/samples", params=token, json=body, timeout=30)
        if response.status_code == 201:
            created[client].append(response.json()["id"])
        return response.status_code == 201

    return created, _run_phase(clients, seconds, create)


def _upload_phase(
    base: str, token: dict[str, str], created: list[list[str]], *, seconds: float, size: int
) -> tuple[int, int, float]:
    """Phase 2: signed PUTs of ``size`` bytes, cycling over write URLs fetched beforehand."""
    params = {**token, "isThumbnail": "False"}
    urls = [
        [
            requests.get(f"{base}/samples/{sid}/writeurl", params=params, timeout=30).json()
            for sid in ids[:50]
        ]
        for ids in created
    ]
    payload = os.urandom(size)
    done = [0] * len(created)

    def upload(client: int, session: requests.Session) -> bool:
        done[client] += 1
        url = urls[client][done[client] % len(urls[client])]
        return session.put(url, data=payload, timeout=30).status_code == 200

    return _run_phase(len(created), seconds, upload)


def _benchmark(
    server: RunningServer, *, clients: int, seconds: float, size: int
) -> dict[str, float]:
    token = {"token": server.token}
    response = requests.post(
        f"{server.url}/v1/datasets", params=token, json={"name": "bench"}, timeout=30
    )
    base = f"{server.url}/v1/datasets/{response.json()['id']}"
    created, (n_created, create_errors, create_s) = _create_phase(
        base, token, clients=clients, seconds=seconds / 2, size=size
    )
    n_uploaded, upload_errors, upload_s = _upload_phase(
        base, token, created, seconds=seconds / 2, size=size
    )
    return {
        "clients": clients,
        "sample_creations": n_created,
        "sample_creations_per_s": round(n_created / create_s, 1),
        "signed_uploads": n_uploaded,
        "signed_uploads_per_s": round(n_uploaded / upload_s, 1),
        "upload_bytes": size,
        "errors": create_errors + upload_errors,
        "cpus": os.cpu_count() or 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="total timed seconds (two phases)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--size", type=int, default=2048, help="bytes per signed upload")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lightly-bench-") as tmp:
        server = start_in_thread(data_dir=Path(tmp), workers=0)
        try:
            result = _benchmark(server, clients=args.clients, seconds=args.seconds, size=args.size)
        finally:
            server.stop()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['clients']} parallel clients on {result['cpus']} CPUs:")
        r = result
        print(f"  sample creations: {r['sample_creations_per_s']:8.1f}/s ({r['sample_creations']})")
        print(f"  signed uploads:   {r['signed_uploads_per_s']:8.1f}/s ({r['signed_uploads']})")
        print(f"  upload size: {args.size} B")
        print(f"  errors: {result['errors']}")
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
