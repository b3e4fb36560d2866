"""Benchmark: ``get_filenames`` and tag exports grow linearly with the dataset size.

The server is ``responses`` (in process, no network), so what is timed is the
client: decoding the answers and building the rows. Each operation runs at a
quarter of ``--samples`` and at ``--samples``; linear means the CPU time per row
stays the same (growth 1.0×; quadratic would be 4×). User CPU, not wall time, is
compared: the rest is the kernel handing out fresh memory pages, also linear but
its cost varies several-fold between runs on this VM. The official 1.4.10
client's quadratic part is its bitmask loop (``bench_bitmask.py``).

Run: ``.venv/bin/python benchmarks/bench_export.py [--samples 1000000]``
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import responses

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LIGHTLY_RUN_NO_PROGRESS", "1")

from runner.client import ApiWorkflowClient

SERVER = "https://api.bench"
DATASET = "d" * 24
TAG = "t" * 24
D = f"{SERVER}/v1/datasets/{DATASET}"
PAGE = 20000  # the client's page size for paginated exports


def serve(mocked: responses.RequestsMock, name: str, n: int) -> None:
    """The answers operation ``name`` needs for a dataset (and a tag holding all) of ``n``."""
    names = [f"folder/image_{i:07d}.jpg" for i in range(n)]
    if name == "get_filenames":
        mocked.get(f"{D}/mappings", json=names)
    elif name == "export_filenames_and_read_urls_by_tag_id":
        export = f"{D}/tags/{TAG}/export/basic/filenames"
        for prefix in ("", "https://read.bench/", "s3://bucket/"):
            body = "\n".join(prefix + file_name for file_name in names)
            mocked.get(export, body=body, content_type="text/plain")
    else:
        rows = f"{D}/tags/{TAG}/export/LabelBoxV4/datarows"
        for start in range(0, n, PAGE):
            page = [
                {"row_data": f"https://read.bench/{f}", "global_key": f, "media_type": "IMAGE"}
                for f in names[start : start + PAGE]
            ]
            mocked.get(rows, json=page)
        mocked.get(rows, json=[])


OPERATIONS: dict[str, Callable[[ApiWorkflowClient], list[Any]]] = {
    "get_filenames": lambda c: c.get_filenames(),
    "export_filenames_and_read_urls_by_tag_id": (
        lambda c: c.export_filenames_and_read_urls_by_tag_id(TAG)
    ),
    "export_label_box_v4_data_rows_by_tag_id": (
        lambda c: c.export_label_box_v4_data_rows_by_tag_id(TAG)
    ),
}


def timed(name: str, n: int) -> tuple[float, float]:
    """(wall seconds, user CPU seconds) of one call of operation ``name`` on ``n`` samples."""
    client = ApiWorkflowClient(token="bench", dataset_id=DATASET, server_location=SERVER)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        serve(mocked, name, n)
        gc.collect()
        start, user = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
        rows = OPERATIONS[name](client)
        seconds = time.perf_counter() - start
        user = resource.getrusage(resource.RUSAGE_SELF).ru_utime - user
    assert len(rows) == n, (name, len(rows))
    return seconds, user


def best(name: str, n: int, repeat: int) -> tuple[float, float]:
    runs = [timed(name, n) for _ in range(repeat)]
    return min(wall for wall, _ in runs), min(user for _, user in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    large = args.samples
    small = large // 4
    print(
        f"{small:,} | {large:,} samples: wall s, user CPU µs per row (best of {args.repeat}); "
        "growth of the CPU per row"
    )
    for name in OPERATIONS:
        wall_small, user_small = best(name, small, args.repeat)
        wall_large, user_large = best(name, large, args.repeat)
        per_row_small, per_row_large = user_small / small, user_large / large
        print(
            f"  {name:42} {wall_small:5.2f} s {per_row_small * 1e6:5.2f} µs | "
            f"{wall_large:5.2f} s {per_row_large * 1e6:5.2f} µs | "
            f"growth {per_row_large / per_row_small:4.2f}×"
        )


if __name__ == "__main__":
    main()
