"""The artifacts of a local worker run, built from what the run really did.

``build_artifacts(summary, log, memory)`` returns every artifact that applies:

* REPORT_JSON ``report.json``: counts, the config, the selected file names, the
  per-strategy stats of ``select``, distances (nearest neighbour among the
  selected; coverage = distance of every sample to its nearest selected one;
  both on seeded samples beyond the caps of ``report_stats``, with the counts
  evaluated), timings and the corrupt files (see ``report_dict``).
* REPORT_PDF ``report.pdf`` (matplotlib, TrueType text so it can be extracted):
  page 1 the numbers as text, page 2 a 2-D PCA scatter of the embeddings with the
  selected samples highlighted (at most 5,000 markers each), and histograms of
  the same distances as report.json.
* LOG ``log.txt`` (``RunLog``), MEMLOG ``memlog.txt`` (``MemoryLog``: resident and
  peak memory of the worker's process at each phase).
* CORRUPTNESS_CHECK_INFORMATION ``corruptness_check_information.json``:
  ``{"corrupt_samples": {file name: reason}, "n_checked": n, "check": how}``, as the
  official client's example reads it (``corrupt_samples.items()``).
* SEQUENCE_INFORMATION ``sequence_information.json``, only when file names carry
  frame indices (``sequence_information``); otherwise not produced.
* CHECKPOINT ``checkpoint.npz``, only when the worker computed the embeddings: the
  embedding has no learned weights, so the checkpoint is its complete parameter
  set plus the PCA projection of the report (``checkpoint``). Uploaded embeddings
  come from a model the worker does not have: no checkpoint then.

Here: the run's summary and logs, report.json, the other artifacts and their assembly;
``report_pdf`` renders report.pdf and ``report_stats`` computes the distances and PCA.
"""

from __future__ import annotations

import io
import json
import re
import resource
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from runner.local.worker import embeddings as emb
from runner.local.worker.report_pdf import report_pdf
from runner.local.worker.report_stats import (
    Distances,
    distance_stats,
    measure_distances,
    pca_2d,
)
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


# --- report.json --------------------------------------------------------------------------


def report_dict(summary: RunSummary, distances: Distances | None) -> dict[str, Any]:
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
        "distances": distance_stats(distances),
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


# --- other artifacts -------------------------------------------------------------------


def corruptness_information(corrupt: Mapping[str, str], n_checked: int) -> dict[str, Any]:
    """CORRUPTNESS_CHECK_INFORMATION content."""
    return {
        "corrupt_samples": dict(sorted(corrupt.items())),
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
    distances = measure_distances(summary.embeddings, summary.result.selected)
    report = report_dict(summary, distances)
    checked = len(summary.filenames) + len(summary.corrupt)
    files: list[tuple[str, bytes | None]] = [
        ("REPORT_JSON", _json_bytes(report)),
        ("REPORT_PDF", report_pdf(summary, report, distances)),
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
