"""report.pdf: the numbers of report.json as text on page 1, the plots on page 2."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from runner.local.worker.report_stats import Distances, pca_2d

if TYPE_CHECKING:
    from runner.local.worker.report import RunSummary

#: scatter markers drawn per series; beyond that a seeded sample is drawn
MAX_POINTS = 5000


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


def _at_most(indices: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``indices``, or a seeded sample of ``count`` of them (markers cost time and bytes)."""
    if len(indices) <= count:
        return indices
    return np.sort(rng.choice(indices, count, replace=False))


def _plot_page(summary: RunSummary, distances: Distances | None) -> Figure:
    fig = Figure(figsize=(8.27, 11.69))
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    x, selected = summary.embeddings, summary.result.selected
    if x is None or len(x) == 0:
        top.text(0.5, 0.5, "no embeddings", ha="center")
        return fig
    rng = np.random.default_rng(0)
    shown = _at_most(np.arange(len(x)), MAX_POINTS, rng)
    shown_selected = _at_most(selected, MAX_POINTS, rng)
    _, _, points = pca_2d(x)
    top.scatter(
        points[shown, 0], points[shown, 1], s=6, c="0.7", label=f"samples ({len(shown)} shown)"
    )
    top.scatter(
        points[shown_selected, 0],
        points[shown_selected, 1],
        s=22,
        c="tab:red",
        label=f"selected ({len(shown_selected)} shown)",
    )
    top.set(title="Embeddings, first two principal components", xlabel="PC 1", ylabel="PC 2")
    top.legend(loc="best", fontsize=8)
    if distances is not None:
        coverage, spread = distances.coverage, distances.spread
        top_value = max(coverage.max(), 0 if spread is None else spread.max()) or 1.0
        bins = np.linspace(0.0, float(top_value), 41).tolist()
        bottom.hist(
            coverage,
            bins=bins,
            color="0.6",
            label=f"{distances.samples_evaluated} samples to nearest selected",
        )
        if spread is not None:
            bottom.hist(
                spread,
                bins=bins,
                alpha=0.7,
                color="tab:red",
                label=f"{distances.selected_evaluated} selected to nearest other selected",
            )
        bottom.legend(fontsize=8)
    bottom.set(title="Nearest-neighbour distances", xlabel="Euclidean distance", ylabel="count")
    fig.tight_layout(pad=2.0)
    return fig


def report_pdf(
    summary: RunSummary, report: Mapping[str, Any], distances: Distances | None
) -> bytes:
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
        pdf.savefig(_plot_page(summary, distances))
    return buffer.getvalue()
