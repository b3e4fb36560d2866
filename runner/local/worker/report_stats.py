"""Distance statistics and the 2-D PCA of a run's embeddings, for its report and checkpoint."""

from __future__ import annotations

from typing import Any

import numpy as np

#: distances are computed exactly up to this many selected samples, else on a seeded sample
MAX_PAIRWISE = 20_000
#: coverage is computed on at most this many (samples x selected) pairs
MAX_COVERAGE_PAIRS = 2_000_000_000


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


def distance_stats(embeddings: np.ndarray | None, selected: np.ndarray) -> dict[str, Any]:
    """Nearest-neighbour distances among the selected and coverage of all samples."""
    if embeddings is None or len(selected) == 0:
        return {}
    rng = np.random.default_rng(0)
    chosen = embeddings[selected]
    if len(chosen) > MAX_PAIRWISE:
        chosen = chosen[rng.choice(len(chosen), MAX_PAIRWISE, replace=False)]
    rows = np.arange(len(embeddings))
    limit = max(1, MAX_COVERAGE_PAIRS // len(selected))
    if len(rows) > limit:
        rows = np.sort(rng.choice(len(rows), limit, replace=False))
    coverage = nearest(embeddings[rows], embeddings[selected])
    stats: dict[str, Any] = {
        "coverage_mean": float(coverage.mean()),
        "coverage_max": float(coverage.max()),
        "coverage_samples_evaluated": len(rows),
        "selected_evaluated": len(chosen),
    }
    if len(chosen) > 1:
        nn = nearest(chosen, chosen, same=True)
        stats.update(
            selected_nn_min=float(nn.min()),
            selected_nn_mean=float(nn.mean()),
            selected_nn_max=float(nn.max()),
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
