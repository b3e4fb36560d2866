"""Time of a DIVERSITY selection of 1,000 out of 100,000 64-dim embeddings (issue 5, point 5).

Seeded standard-normal float32 embeddings (the hard case for farthest-point
selection: no cluster structure, distances concentrate). Each case runs
``--repeat`` times through ``runner.local.worker.selection.select``; the best and
mean wall times are printed, and the peak memory of one run is measured with
``tracemalloc`` (NumPy reports its buffers to it). Cases:

* ``diversity``: the issue's target (under 2 s on 2 cores);
* ``diversity+weights``: the joint-score path (DIVERSITY with a WEIGHTS term), for
  information.

Usage: ``python benchmarks/bench_selection.py [--n 100000] [--dim 64] [--k 1000]
[--repeat 3] [--json] [--check]`` (``--check``: exit 1 when the diversity case misses 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.local.worker.selection import SelectionInputs, select

TARGET_SECONDS = 2.0


def _inputs(n: int, dim: int) -> SelectionInputs:
    rng = np.random.default_rng(0)
    return SelectionInputs(
        filenames=[f"frame-{i:06d}.jpg" for i in range(n)],
        embeddings=rng.standard_normal((n, dim), dtype=np.float32),
        scores={"model/uncertainty_entropy": rng.random(n)},
        predictions={},
        metadata=[None] * n,
    )


def _config(case: str, k: int) -> dict[str, Any]:
    strategies: list[dict[str, Any]] = [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}
    ]
    if case == "diversity+weights":
        strategies.append(
            {
                "input": {"type": "SCORES", "task": "model", "score": "uncertainty_entropy"},
                "strategy": {"type": "WEIGHTS"},
            }
        )
    return {"nSamples": k, "strategies": strategies}


def _measure(case: str, inputs: SelectionInputs, k: int, repeat: int) -> dict[str, Any]:
    config = _config(case, k)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = select(config, inputs)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    select(config, inputs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": case,
        "selected": len(result.selected),
        "best_s": min(times),
        "mean_s": statistics.fmean(times),
        "peak_mib": peak / 2**20,
        "min_distance_selected": result.stats["strategies"][0]["min_distance_selected"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--check", action="store_true", help=f"exit 1 above {TARGET_SECONDS} s")
    args = parser.parse_args(argv)
    inputs = _inputs(args.n, args.dim)
    rows = [
        _measure(case, inputs, args.k, args.repeat) for case in ("diversity", "diversity+weights")
    ]
    info = {
        "n": args.n,
        "dim": args.dim,
        "k": args.k,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "target_s": TARGET_SECONDS,
        "results": rows,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(
            f"select {args.k} of {args.n} x {args.dim} float32 embeddings, "
            f"{args.repeat} runs, {os.cpu_count()} CPUs"
        )
        for row in rows:
            print(
                f"  {row['case']:<18} best {row['best_s']:.3f} s  mean {row['mean_s']:.3f} s  "
                f"peak {row['peak_mib']:.1f} MiB  selected {row['selected']}  "
                f"min distance {row['min_distance_selected']:.3f}"
            )
        print(f"  target: diversity under {TARGET_SECONDS} s")
    return 1 if args.check and rows[0]["best_s"] >= TARGET_SECONDS else 0


if __name__ == "__main__":
    raise SystemExit(main())
