"""The artifacts of a local worker run, built from what the run really did.

``build_artifacts(summary, log, memory)`` returns every artifact that applies:

* REPORT_JSON ``report.json``: counts, the config, the selected file names, the
  per-strategy stats of ``select``, distances (nearest neighbour among the
  selected; coverage = distance of every sample to its nearest selected one),
  timings and the corrupt files (see ``report_dict``).
* REPORT_PDF ``report.pdf`` (matplotlib, TrueType text so it can be extracted):
  page 1 the numbers as text, page 2 a 2-D PCA scatter of the embeddings with the
  selected samples highlighted, and histograms of the distances.
* LOG ``log.txt`` (``RunLog``), MEMLOG ``memlog.txt`` (``MemoryLog``: resident and
  peak memory of the worker's process at each phase).
* CORRUPTNESS_CHECK_INFORMATION ``corruptness_check_information.json``:
  ``{"corrupt_samples": [file names], "reasons": {file name: reason}, "n_checked": n,
  "check": how}``.
* SEQUENCE_INFORMATION ``sequence_information.json``, only when file names carry
  frame indices (``sequence_information``); otherwise not produced.
* CHECKPOINT ``checkpoint.npz``, only when the worker computed the embeddings: the
  embedding has no learned weights, so the checkpoint is its complete parameter
  set plus the PCA projection of the report (``checkpoint``). Uploaded embeddings
  come from a model the worker does not have: no checkpoint then.
"""

from __future__ import annotations

import io
import json
import re
import resource
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from runner.local.worker import embeddings as emb
from runner.local.worker.selection import SelectionResult

FILE_NAMES = {
    "REPORT_JSON": "report.json",
    "REPORT_PDF": "report.pdf",
    "LOG": "log.txt",
    "MEMLOG": "memlog.txt",
    "CORRUPTNESS_CHECK_INFORMATION": "corruptness_check_information.json",
    "SEQUENCE_INFORMATION": "sequence_information.json",
    "CHECKPOINT": "checkpoint.npz",
}
#: distances are computed exactly up to this many selected samples, else on a seeded sample
MAX_PAIRWISE = 20_000
#: coverage is computed on at most this many (samples x selected) pairs
MAX_COVERAGE_PAIRS = 2_000_000_000
_FRAME = re.compile(r"^(?P<sequence>.*?)[-_. ]*(?P<index>\d+)\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Artifact:
    """One file to upload: its DockerRunArtifactType, file name and bytes."""

    type: str
    file_name: str
    data: bytes


@dataclass(frozen=True)
class RunSummary:
    """What a finished selection run did; ``filenames`` align with ``embeddings`` rows."""

    run_id: str
    dataset_name: str
    filenames: Sequence[str]
    embeddings: np.ndarray | None
    embedding_source: str
    computed_embeddings: bool
    config: Mapping[str, Any]
    result: SelectionResult
    corrupt: Mapping[str, str] = field(default_factory=dict)
    timings: Mapping[str, float] = field(default_factory=dict)
    started_at: float | None = None  # Unix seconds
    finished_at: float | None = None


class RunLog:
    """Timestamped log lines of a run (the LOG artifact)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.entries: list[tuple[float, str, str]] = []

    def info(self, message: str) -> None:
        self.entries.append((self._clock(), "INFO", message))

    def warning(self, message: str) -> None:
        self.entries.append((self._clock(), "WARNING", message))

    def error(self, message: str) -> None:
        self.entries.append((self._clock(), "ERROR", message))

    def text(self) -> str:
        return "".join(f"{_iso(t)} {level:<7} {message}\n" for t, level, message in self.entries)


class MemoryLog:
    """Memory of the worker's process per phase (the MEMLOG artifact).

    ``rss_mib`` is the resident set size now (Linux ``/proc/self/statm``; empty
    elsewhere), ``max_rss_mib`` the peak so far (``resource.getrusage``). An
    in-process worker shares its process with the server, so both include it.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.samples: list[tuple[float, str, float | None, float]] = []

    def sample(self, phase: str) -> None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_mib = peak / 2**20 if sys.platform == "darwin" else peak / 1024
        self.samples.append((self._clock(), phase, _current_rss_mib(), peak_mib))

    def text(self) -> str:
        lines = ["time,phase,rss_mib,max_rss_mib"]
        for t, phase, rss, peak in self.samples:
            lines.append(f"{_iso(t)},{phase},{'' if rss is None else f'{rss:.1f}'},{peak:.1f}")
        return "\n".join(lines) + "\n"


def _current_rss_mib() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * resource.getpagesize() / 2**20


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


# --- statistics -------------------------------------------------------------------------


def _nearest(a: np.ndarray, b: np.ndarray, *, same: bool = False) -> np.ndarray:
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
    coverage = _nearest(embeddings[rows], embeddings[selected])
    stats: dict[str, Any] = {
        "coverage_mean": float(coverage.mean()),
        "coverage_max": float(coverage.max()),
        "coverage_samples_evaluated": len(rows),
        "selected_evaluated": len(chosen),
    }
    if len(chosen) > 1:
        nn = _nearest(chosen, chosen, same=True)
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


# --- report.json --------------------------------------------------------------------------


def report_dict(summary: RunSummary) -> dict[str, Any]:
    """The content of report.json (numbers computed here, never estimated)."""
    selected = summary.result.selected
    names = list(summary.filenames)
    dim = None if summary.embeddings is None else int(summary.embeddings.shape[1])
    return {
        "report_version": 1,
        "generator": "lightly-run local worker",
        "run": {
            "id": summary.run_id,
            "dataset_name": summary.dataset_name,
            "started_at": None if summary.started_at is None else _iso(summary.started_at),
            "finished_at": None if summary.finished_at is None else _iso(summary.finished_at),
        },
        "selection_config": dict(summary.config),
        "samples": {
            "listed": len(names) + len(summary.corrupt),
            "readable": len(names),
            "corrupt": len(summary.corrupt),
        },
        "embeddings": {"source": summary.embedding_source, "dimension": dim},
        "selection": summary.result.stats,
        "selected_filenames": [names[i] for i in selected],
        "distances": distance_stats(summary.embeddings, selected),
        "timings_s": {k: round(float(v), 6) for k, v in summary.timings.items()},
        "corrupt_samples": [
            {"file_name": k, "reason": v} for k, v in sorted(summary.corrupt.items())
        ],
    }


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default, allow_nan=False) + "\n").encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --- report.pdf ---------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    """How numbers are written in the PDF (tests look for these strings)."""
    if value is None:
        return "n/a"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _text_lines(report: Mapping[str, Any]) -> list[str]:
    samples, selection, dist = report["samples"], report["selection"], report["distances"]
    lines = [
        f"Run {report['run']['id']}  -  dataset {report['run']['dataset_name']}",
        f"Samples: {samples['listed']} listed, {samples['readable']} readable, "
        f"{samples['corrupt']} corrupt",
        f"Embeddings: {report['embeddings']['source']} (dimension {report['embeddings']['dimension']})",
        f"Selected {selection['n_selected']} of {selection['n_candidates']} candidates "
        f"(requested {selection['n_requested']}), stopped by {selection['stopped_by']}",
    ]
    for i, entry in enumerate(selection["strategies"], 1):
        extra = {k: v for k, v in entry.items() if k not in ("input", "strategy")}
        lines.append(
            f"Strategy {i}: {entry['input']['type']} -> {entry['strategy']['type']}  "
            + "  ".join(f"{k}={_fmt(v)}" for k, v in extra.items())
        )
    if dist:
        lines.append(
            "Nearest selected neighbour: min "
            + _fmt(dist.get("selected_nn_min"))
            + "  mean "
            + _fmt(dist.get("selected_nn_mean"))
            + "  max "
            + _fmt(dist.get("selected_nn_max"))
        )
        lines.append(
            f"Coverage (distance to nearest selected): mean {_fmt(dist['coverage_mean'])}"
            f"  max {_fmt(dist['coverage_max'])}"
        )
    lines.append(
        "Timings (s): " + "  ".join(f"{k} {_fmt(v)}" for k, v in report["timings_s"].items())
    )
    lines += [f"Corrupt: {c['file_name']} ({c['reason']})" for c in report["corrupt_samples"][:15]]
    shown = report["selected_filenames"][:40]
    lines.append(f"Selected files ({len(shown)} of {len(report['selected_filenames'])} shown):")
    lines += [f"  {name}" for name in shown]
    return lines


def _text_page(report: Mapping[str, Any]) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))
    fig.text(0.06, 0.96, "Lightly local worker - selection report", fontsize=15, weight="bold")
    wrapped = [
        part
        for line in _text_lines(report)
        for part in textwrap.wrap(line, 100, subsequent_indent="    ")
    ]
    for i, line in enumerate(wrapped[:58]):
        fig.text(0.06, 0.93 - i * 0.0155, line, fontsize=7.5, family="monospace")
    return fig


def _plot_page(summary: RunSummary) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    x, selected = summary.embeddings, summary.result.selected
    if x is None or len(x) == 0:
        top.text(0.5, 0.5, "no embeddings", ha="center")
        return fig
    shown = np.arange(len(x))
    if len(shown) > 5000:
        shown = np.union1d(np.random.default_rng(0).choice(len(x), 5000, replace=False), selected)
    _, _, points = pca_2d(x)
    top.scatter(
        points[shown, 0], points[shown, 1], s=6, c="0.7", label=f"samples ({len(shown)} shown)"
    )
    top.scatter(points[selected, 0], points[selected, 1], s=22, c="tab:red", label="selected")
    top.set(title="Embeddings, first two principal components", xlabel="PC 1", ylabel="PC 2")
    top.legend(loc="best", fontsize=8)
    if len(selected):
        coverage = _nearest(x[shown], x[selected])
        spread = _nearest(x[selected], x[selected], same=True) if len(selected) > 1 else None
        top_value = max(coverage.max(), 0 if spread is None else spread.max()) or 1.0
        bins = np.linspace(0.0, float(top_value), 41).tolist()
        bottom.hist(coverage, bins=bins, color="0.6", label="every sample to nearest selected")
        if spread is not None:
            bottom.hist(
                spread,
                bins=bins,
                alpha=0.7,
                color="tab:red",
                label="selected to nearest other selected",
            )
        bottom.legend(fontsize=8)
    bottom.set(title="Nearest-neighbour distances", xlabel="Euclidean distance", ylabel="count")
    fig.tight_layout(pad=2.0)
    return fig


def report_pdf(summary: RunSummary, report: Mapping[str, Any]) -> bytes:
    """report.pdf: the numbers as text, then the plots."""
    buffer = io.BytesIO()
    # TrueType (42) instead of Type 3 fonts keeps the text extractable.
    with (
        matplotlib.rc_context({"pdf.fonttype": 42}),
        PdfPages(
            buffer, metadata={"Title": f"Run {summary.run_id}", "Creator": "lightly-run"}
        ) as pdf,
    ):
        pdf.savefig(_text_page(report))
        pdf.savefig(_plot_page(summary))
    return buffer.getvalue()


# --- other artifacts -------------------------------------------------------------------


def corruptness_information(corrupt: Mapping[str, str], n_checked: int) -> dict[str, Any]:
    """CORRUPTNESS_CHECK_INFORMATION content."""
    return {
        "corrupt_samples": sorted(corrupt),
        "reasons": dict(sorted(corrupt.items())),
        "n_checked": n_checked,
        "check": "Pillow: Image.open, verify() and load(); a file failing any is corrupt",
    }


def sequence_information(
    filenames: Sequence[str], selected: Sequence[int]
) -> dict[str, Any] | None:
    """Frames grouped by sequence, or None when no two file names share a sequence.

    A name carries a frame index when its stem ends in digits (``clip/frame-012.jpg``:
    sequence ``clip/frame``, index 12); names without one are left out.
    """
    chosen = set(int(i) for i in selected)
    sequences: dict[str, dict[str, list[int]]] = {}
    for position, name in enumerate(filenames):
        match = _FRAME.match(name)
        if match:
            entry = sequences.setdefault(match["sequence"], {"frames": [], "selected": []})
            entry["frames"].append(int(match["index"]))
            if position in chosen:
                entry["selected"].append(int(match["index"]))
    if not any(len(e["frames"]) > 1 for e in sequences.values()):
        return None
    return {
        "rule": "sequence = file name before the trailing frame number of its stem",
        "sequences": [
            {
                "sequence": name,
                "n_frames": len(e["frames"]),
                "frame_indices": sorted(e["frames"]),
                "selected_frame_indices": sorted(e["selected"]),
            }
            for name, e in sorted(sequences.items())
        ],
    }


def checkpoint(summary: RunSummary) -> bytes | None:
    """The embedding's parameters and the report's PCA as .npz; None for uploaded embeddings."""
    if not summary.computed_embeddings or summary.embeddings is None or not len(summary.embeddings):
        return None
    mean, axes, _ = pca_2d(summary.embeddings)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        embedding_name=emb.EMBEDDING_NAME,
        description=emb.EMBEDDING_DESCRIPTION,
        bins=emb.BINS,
        thumbnail=emb.THUMBNAIL,
        working_size=emb.WORKING_SIZE,
        pca_mean=mean,
        pca_axes=axes,
    )
    return buffer.getvalue()


def build_artifacts(summary: RunSummary, log: RunLog, memory: MemoryLog) -> list[Artifact]:
    """Every artifact that applies to this run, in upload order."""
    report = report_dict(summary)
    checked = len(summary.filenames) + len(summary.corrupt)
    files: list[tuple[str, bytes | None]] = [
        ("REPORT_JSON", _json_bytes(report)),
        ("REPORT_PDF", report_pdf(summary, report)),
        ("LOG", log.text().encode()),
        ("MEMLOG", memory.text().encode()),
        (
            "CORRUPTNESS_CHECK_INFORMATION",
            _json_bytes(corruptness_information(summary.corrupt, checked)),
        ),
    ]
    sequences = sequence_information(summary.filenames, summary.result.selected.tolist())
    files.append(("SEQUENCE_INFORMATION", None if sequences is None else _json_bytes(sequences)))
    files.append(("CHECKPOINT", checkpoint(summary)))
    return [Artifact(kind, FILE_NAMES[kind], data) for kind, data in files if data is not None]
