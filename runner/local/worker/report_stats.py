"""Distance statistics and the 2-D PCA of a run's embeddings, for its report and checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: the nearest-neighbour spread is computed exactly up to this many selected samples,
#: else on a seeded sample of them
MAX_PAIRWISE = 10_000
#: coverage is computed on at most this many (samples x selected) pairs, on a seeded
#: sample of the samples beyond that
MAX_COVERAGE_PAIRS = 200_000_000


@dataclass(frozen=True)
class Distances:
    """Nearest-neighbour distances of a run, for report.json's numbers and report.pdf's plots."""

    coverage: np.ndarray  # each evaluated sample to its nearest selected one
    spread: np.ndarray | None  # each evaluated selected sample to its nearest other one
    samples_evaluated: int
    selected_evaluated: int


def nearest(a: np.ndarray, b: np.ndarray, *, same: bool = False) -> np.ndarray:
    """Euclidean distance from each row of ``a`` to its nearest row of ``b`` (not itself)."""
    a, b = a.astype(np.float64), b.astype(np.float64)  # float64: exact enough to report
    out = np.full(len(a), np.inf)
    b_sq = np.einsum("ij,ij->i", b, b)
    for i in range(0, len(a), 4096):
        rows = a[i : i + 4096]
        rows_sq = np.einsum("ij,ij->i", rows, rows)
        for j in range(0, len(b), 2048):
            d2 = rows_sq[:, None] - 2.0 * (rows @ b[j : j + 2048].T) + b_sq[None, j : j + 2048]
            if same:
                r = np.arange(len(rows))
                inside = (i + r >= j) & (i + r < j + 2048)
                d2[r[inside], i + r[inside] - j] = np.inf
            np.minimum(out[i : i + 4096], d2.min(axis=1), out=out[i : i + 4096])
    distances: np.ndarray = np.sqrt(np.maximum(out, 0.0))
    return distances


def measure_distances(embeddings: np.ndarray | None, selected: np.ndarray) -> Distances | None:
    """Coverage of the samples and spread of the selected, within the size caps above."""
    if embeddings is None or len(selected) == 0:
        return None
    rng = np.random.default_rng(0)
    chosen = embeddings[selected]
    if len(chosen) > MAX_PAIRWISE:
        chosen = chosen[rng.choice(len(chosen), MAX_PAIRWISE, replace=False)]
    rows = np.arange(len(embeddings))
    limit = max(1, MAX_COVERAGE_PAIRS // len(selected))
    if len(rows) > limit:
        rows = np.sort(rng.choice(len(rows), limit, replace=False))
    return Distances(
        coverage=nearest(embeddings[rows], embeddings[selected]),
        spread=nearest(chosen, chosen, same=True) if len(chosen) > 1 else None,
        samples_evaluated=len(rows),
        selected_evaluated=len(chosen),
    )


def distance_stats(distances: Distances | None) -> dict[str, Any]:
    """report.json's ``distances``: coverage and nearest-selected-neighbour figures."""
    if distances is None:
        return {}
    coverage = distances.coverage
    stats: dict[str, Any] = {
        "coverage_mean": float(coverage.mean()),
        "coverage_max": float(coverage.max()),
        "coverage_samples_evaluated": distances.samples_evaluated,
        "selected_evaluated": distances.selected_evaluated,
    }
    if distances.spread is not None:
        spread = distances.spread
        stats.update(
            selected_nn_min=float(spread.min()),
            selected_nn_mean=float(spread.mean()),
            selected_nn_max=float(spread.max()),
        )
    return stats


def pca_2d(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, (2, d) principal axes, (n, 2) projection) of the embeddings."""
    x = embeddings.astype(np.float64)
    mean = x.mean(axis=0)
    centred = x - mean
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, ::-1][:, :2].T
    if axes.shape[0] < 2:
        axes = np.vstack([axes, np.zeros((2 - axes.shape[0], x.shape[1]))])
    return mean, axes, centred @ axes.T
