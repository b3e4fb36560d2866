"""The quickstart and the local worker end to end: `lightly-run --local` on the shipped images."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from runner.cli.main import main

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of workflows/ in a clean working directory."""
    shutil.copytree(ROOT / "workflows", tmp_path / "workflows")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIGHTLY_TOKEN", raising=False)
    monkeypatch.delenv("LIGHTLY_SERVER_LOCATION", raising=False)
    return tmp_path


def _group(file_name: str) -> str:
    return file_name.split("/")[0]


def test_quickstart_selects_one_image_per_group(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--local", "workflows/quickstart.yaml"])
    out = capsys.readouterr()
    assert code == 0, out.err
    # not a terminal (CI): the wait step's progress shows as plain lines, state by state
    assert re.search(r"^  run [0-9a-f]{24}: \d+s — OPEN: Waiting for pickup", out.err, re.M)
    assert re.search(r"^  run [0-9a-f]{24}: \d+s — COMPLETED: Selected 10 of", out.err, re.M)
    tasks = json.loads((project / "exports/label-studio.json").read_text())
    picked = [t["data"]["lightlyFileName"] for t in tasks]
    assert len(picked) == 10
    assert {_group(name) for name in picked} == {f"group-{g:02d}" for g in range(10)}

    run_dirs = list((project / "artifacts").iterdir())
    assert len(run_dirs) == 1
    files = {p.name: p for p in run_dirs[0].iterdir()}
    report = json.loads(files["report.json"].read_text())
    assert report  # real statistics; details pinned in tests/local/worker
    assert files["report.pdf"].read_bytes().startswith(b"%PDF")
    corrupt = next(p for name, p in files.items() if "corrupt" in name)
    corrupt_text = corrupt.read_text()
    for name in ("corrupt/truncated.jpg", "corrupt/not-an-image.jpg", "corrupt/empty.png"):
        assert name in corrupt_text
    summary = (project / "exports/summary.txt").read_text()
    assert all(name in summary for name in picked)


def test_random_selection_on_the_same_data(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflow = project / "workflows/random.yaml"
    text = (project / "workflows/quickstart.yaml").read_text()
    workflow.write_text(
        text.replace("input: {type: EMBEDDINGS}", "input: {type: RANDOM, random_seed: 7}")
        .replace("strategy: {type: DIVERSITY}", "strategy: {type: WEIGHTS}")
        .replace("default: quickstart", "default: quickstart-random")
    )
    images = project / "workflows/data/quickstart"  # absolute: used as given
    code = main(
        ["--local", str(workflow), "--no-progress", "-i", "n_samples=25", "-i", f"images={images}"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "▶ wait" in err and not re.search(r"^  run ", err, re.M)  # --no-progress
    tasks = json.loads((project / "exports/label-studio.json").read_text())
    picked = [t["data"]["lightlyFileName"] for t in tasks]
    assert len(picked) == len(set(picked)) == 25
    assert not any(name.startswith("corrupt/") for name in picked)


def test_active_learning_round_balances_uncertain_samples(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--local", "workflows/active-learning.yaml", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    rows = json.loads((project / "exports/labelbox-v4.json").read_text())
    picked = [r["global_key"] for r in rows]
    assert len(picked) == 20
    round_groups = {"group-00", "group-05"}  # circles, per runner.local.demo
    assert sum(_group(name) in round_groups for name in picked) == 10  # BALANCE 50/50
    frames = [int(name.split("frame-")[1][:3]) for name in picked]
    assert min(frames) >= 10  # the toy model is least sure about the later frames
