"""Artifacts of a local worker run: report.json, report.pdf and the others."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pypdf
import pytest

from runner.local.worker import embeddings as emb
from runner.local.worker import report_stats
from runner.local.worker.report import (
    MemoryLog,
    RunLog,
    RunSummary,
    build_artifacts,
    corruptness_information,
    pca_2d,
    sequence_information,
)
from runner.local.worker.report_pdf import _fmt
from runner.local.worker.selection import SelectionInputs, SelectionResult, select

DIVERSITY = {
    "nSamples": 6,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
CORRUPT = {
    "clip-b/frame-0009.jpg": "load failed: OSError: image file is truncated",
    "notes.txt": "not an image file Pillow can identify",
}


def make_summary(
    *, computed: bool = True, config: dict[str, Any] = DIVERSITY, n: int = 60
) -> RunSummary:
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((6, 5)) * 4
    x = (centres[np.arange(n) % 6] + rng.standard_normal((n, 5)) * 0.05).astype(np.float32)
    names = [f"clip-{'ab'[i % 2]}/frame-{i:04d}.jpg" for i in range(n)]
    result = select(config, SelectionInputs(names, x, {}, {}, [None] * n))
    return RunSummary(
        "run-1",
        "demo",
        names,
        x,
        "test vectors",
        computed,
        config,
        result,
        CORRUPT,
        {"embedding": 0.25, "selection": 0.125},
        1_700_000_000.0,
        1_700_000_002.5,
    )


def artifacts(summary: RunSummary) -> dict[str, bytes]:
    clock = iter(float(t) for t in range(1_700_000_000, 1_700_000_100))
    log, memory = RunLog(lambda: next(clock)), MemoryLog(lambda: next(clock))
    log.info("run started")
    memory.sample("start")
    log.warning("2 corrupt files")
    return {a.type: a.data for a in build_artifacts(summary, log, memory)}


def test_all_applicable_artifacts_are_built_with_their_file_names() -> None:
    summary = make_summary()
    built = build_artifacts(summary, RunLog(), MemoryLog())
    assert [(a.type, a.file_name) for a in built] == [
        ("REPORT_JSON", "report.json"),
        ("REPORT_PDF", "report.pdf"),
        ("LOG", "log.txt"),
        ("MEMLOG", "memlog.txt"),
        ("CORRUPTNESS_CHECK_INFORMATION", "corruptness_check_information.json"),
        ("SEQUENCE_INFORMATION", "sequence_information.json"),
        ("CHECKPOINT", "checkpoint.npz"),
    ]


def test_report_json_numbers_match_the_run() -> None:
    summary = make_summary()
    report = json.loads(artifacts(summary)["REPORT_JSON"])
    selected = summary.result.selected
    assert report["samples"] == {"listed": 62, "readable": 60, "corrupt": 2}
    assert report["selected_filenames"] == [summary.filenames[i] for i in selected]
    assert report["selection"]["n_selected"] == 6
    assert report["selection"]["stopped_by"] == "n_samples"
    x = summary.embeddings.astype(np.float64)
    pairwise = np.linalg.norm(x[selected][:, None] - x[selected][None], axis=2)
    np.fill_diagonal(pairwise, np.inf)
    coverage = np.linalg.norm(x[:, None] - x[selected][None], axis=2).min(axis=1)
    distances = report["distances"]
    assert distances["selected_nn_min"] == pytest.approx(pairwise.min(), rel=1e-4)
    assert distances["selected_nn_mean"] == pytest.approx(pairwise.min(axis=1).mean(), rel=1e-4)
    assert distances["coverage_max"] == pytest.approx(coverage.max(), rel=1e-3, abs=1e-4)
    assert distances["coverage_mean"] == pytest.approx(coverage.mean(), rel=1e-3, abs=1e-4)
    assert report["selection"]["strategies"][0]["min_distance_selected"] == pytest.approx(
        pairwise.min(), rel=1e-4
    )
    assert report["timings_s"] == {"embedding": 0.25, "selection": 0.125}
    assert report["run"]["finished_at"] == "2023-11-14T22:13:22.500+00:00"
    assert report["corrupt_samples"][1] == {
        "file_name": "notes.txt",
        "reason": "not an image file Pillow can identify",
    }


def test_report_pdf_is_a_pdf_with_the_numbers_in_it() -> None:
    summary = make_summary()
    data = artifacts(summary)
    assert data["REPORT_PDF"].startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data["REPORT_PDF"]))
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    report = json.loads(data["REPORT_JSON"])
    assert "Selected 6 of 60 candidates (requested 6), stopped by n_samples" in text
    assert "Samples: 62 listed, 60 readable, 2 corrupt" in text
    assert f"min {_fmt(report['distances']['selected_nn_min'])}" in text
    assert f"max {_fmt(report['distances']['coverage_max'])}" in text
    for name in report["selected_filenames"]:
        assert name in text
    assert "notes.txt" in text


def test_distances_of_large_runs_are_measured_on_capped_seeded_samples(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """report.json and both report.pdf histograms use the same capped measurement."""
    monkeypatch.setattr(report_stats, "MAX_PAIRWISE", 4)
    monkeypatch.setattr(report_stats, "MAX_COVERAGE_PAIRS", 6 * 20)
    measured: list[tuple[int, int]] = []
    real_nearest = report_stats.nearest

    def counting_nearest(a: np.ndarray, b: np.ndarray, *, same: bool = False) -> np.ndarray:
        measured.append((len(a), len(b)))
        return real_nearest(a, b, same=same)

    monkeypatch.setattr(report_stats, "nearest", counting_nearest)
    data = artifacts(make_summary())
    distances = json.loads(data["REPORT_JSON"])["distances"]
    assert distances["coverage_samples_evaluated"] == 20
    assert distances["selected_evaluated"] == 4
    assert sorted(measured) == [(4, 4), (20, 6)]  # once each, for the JSON and the PDF
    plots = pypdf.PdfReader(io.BytesIO(data["REPORT_PDF"])).pages[1].extract_text()
    assert "20 samples to nearest selected" in plots
    assert "4 selected to nearest other selected" in plots


def test_log_and_memory_log() -> None:
    data = artifacts(make_summary())
    assert data["LOG"].decode() == (
        "2023-11-14T22:13:20.000+00:00 INFO    run started\n"
        "2023-11-14T22:13:22.000+00:00 WARNING 2 corrupt files\n"
    )
    header, line = data["MEMLOG"].decode().splitlines()
    assert header == "time,phase,rss_mib,max_rss_mib"
    when, phase, rss, peak = line.split(",")
    assert (when, phase) == ("2023-11-14T22:13:21.000+00:00", "start")
    assert 1 < float(rss) < 1e6
    assert 1 < float(peak) < 1e6


def test_corruptness_information_lists_every_corrupt_file() -> None:
    info = json.loads(artifacts(make_summary())["CORRUPTNESS_CHECK_INFORMATION"])
    # as the official client's docstring example reads it: file name → its error
    assert list(info["corrupt_samples"]) == ["clip-b/frame-0009.jpg", "notes.txt"]
    assert info["corrupt_samples"] == CORRUPT
    assert info["n_checked"] == 62
    assert corruptness_information({}, 5)["corrupt_samples"] == {}


def test_sequence_information_groups_frames() -> None:
    names = [
        "cam1/000.png",
        "cam1/001.png",
        "cam2/clip_7.jpg",
        "cam2/clip_8.jpg",
        "cam2/clip_10.jpg",
        "readme.jpg",
    ]
    info = sequence_information(names, [1, 4])
    assert info is not None
    assert info["sequences"] == [
        {
            "sequence": "cam1/",
            "n_frames": 2,
            "frame_indices": [0, 1],
            "selected_frame_indices": [1],
        },
        {
            "sequence": "cam2/clip",
            "n_frames": 3,
            "frame_indices": [7, 8, 10],
            "selected_frame_indices": [10],
        },
    ]


def test_sequence_information_does_not_apply_to_plain_images() -> None:
    assert sequence_information(["cat.jpg", "dog.jpg", "photo1.jpg", "image2.jpg"], [0]) is None
    summary = make_summary()
    plain = RunSummary(
        **{**summary.__dict__, "filenames": [f"{a}{b}.jpg" for a in "abcdef" for b in "ghijklmnop"]}
    )
    assert "SEQUENCE_INFORMATION" not in artifacts(plain)


def test_checkpoint_holds_the_embedding_parameters_and_the_pca() -> None:
    summary = make_summary()
    with np.load(io.BytesIO(artifacts(summary)["CHECKPOINT"])) as ckpt:
        assert str(ckpt["embedding_name"]) == emb.EMBEDDING_NAME
        assert int(ckpt["bins"]) == emb.BINS
        _, axes, points = pca_2d(summary.embeddings)
        assert np.allclose(ckpt["pca_axes"], axes)
        assert np.allclose((summary.embeddings - ckpt["pca_mean"]) @ ckpt["pca_axes"].T, points)
    assert np.allclose(np.linalg.norm(axes, axis=1), 1.0)
    assert points[:, 0].var() >= points[:, 1].var()


def test_no_checkpoint_for_uploaded_embeddings() -> None:
    assert "CHECKPOINT" not in artifacts(make_summary(computed=False))


def test_report_without_embeddings() -> None:
    config = {
        "nSamples": 5,
        "strategies": [
            {"input": {"type": "RANDOM", "randomSeed": 1}, "strategy": {"type": "WEIGHTS"}}
        ],
    }
    names = [f"img{i}.jpg" for i in range(20)]
    result = select(config, SelectionInputs(names, None, {}, {}, [None] * 20))
    summary = RunSummary("r", "d", names, None, "none", False, config, result)
    data = artifacts(summary)
    report = json.loads(data["REPORT_JSON"])
    assert report["distances"] == {}
    assert report["selection"]["strategies"][0]["random_seed"] == 1
    assert (
        "random_seed=1" in pypdf.PdfReader(io.BytesIO(data["REPORT_PDF"])).pages[0].extract_text()
    )


def test_empty_selection() -> None:
    summary = make_summary()
    empty = RunSummary(
        **{
            **summary.__dict__,
            "result": SelectionResult(
                np.zeros(0, np.int64), {**summary.result.stats, "n_selected": 0}
            ),
        }
    )
    report = json.loads(artifacts(empty)["REPORT_JSON"])
    assert report["selected_filenames"] == []
    assert report["distances"] == {}
