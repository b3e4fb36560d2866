"""`lightly-run --local` killed (SIGKILL) while its local worker performs the run, then --resume.

The run's datasource holds a FIFO named like an image: reading it waits for a writer, so
the run stays in CHECKING_CORRUPTNESS until the process is killed there.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.local.demo import make_demo_images
from tests.cli.test_sigint import Run

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and FIFOs")

WORKFLOW = """version: 1
name: killed
steps:
  - id: dataset
    uses: create_dataset
    with: {dataset_name: killed, if_exists: reuse}
  - id: source
    uses: set_local_config
    with: {resource_path: "{{ run.workflow_dir }}/images"}
  - id: run
    uses: schedule_compute_worker_run
    with:
      selection_config: {n_samples: 2, strategies: [{input: {type: EMBEDDINGS}, strategy: {type: DIVERSITY}}]}
  - id: wait
    uses: wait_compute_worker_run
    with: {scheduled_run_id: "{{ steps.run.outputs.scheduled_run_id }}", poll_interval: 0.2, max_interval: 0.5}
"""
MESSAGE = "The local server stopped during this run (its process ended); schedule it again."


def _runs(project: Path) -> list[tuple[str, str]]:
    """(scheduled run state, run state) of each run, oldest first, read from the data dir."""
    db = sqlite3.connect(project / ".lightly-run" / "local" / "lightly.sqlite3", timeout=10)
    try:
        rows = db.execute(
            "SELECT s.data, (SELECT r.data FROM documents r WHERE r.kind='run' AND "
            "json_extract(r.data, '$.scheduledId')=s.id) FROM documents s "
            "WHERE s.kind='scheduled_run' ORDER BY s.created_at, s.rowid"
        ).fetchall()
    finally:
        db.close()
    return [(json.loads(s)["state"], json.loads(r)["state"] if r else "") for s, r in rows]


def _finish(run: Run) -> int:
    try:
        code = run.process.wait(timeout=60)
    except subprocess.TimeoutExpired:  # the bug: the wait polls forever
        run.process.kill()
        run.process.wait()
        raise AssertionError(f"still running after 60 s:\n{run.stderr}") from None
    run._reader.join(timeout=5)
    assert run.process.stderr is not None
    run.process.stderr.close()
    return code


def test_a_run_killed_with_its_process_ends_crashed_and_resume_schedules_it_again(
    tmp_path: Path,
) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    make_demo_images(tmp_path / "images", groups=2, per_group=3, corrupt=0)
    fifo = tmp_path / "images" / "zz-blocks.jpg"
    os.mkfifo(fifo)

    first = Run(tmp_path)
    first.wait_for("▶ wait")
    deadline = time.monotonic() + 60
    while _runs(tmp_path) != [("LOCKED", "CHECKING_CORRUPTNESS")]:
        assert first.process.poll() is None, first.stderr
        assert time.monotonic() < deadline, _runs(tmp_path)
        time.sleep(0.1)
    first.process.kill()
    assert _finish(first) == -9
    fifo.unlink()
    assert _runs(tmp_path) == [("LOCKED", "CHECKING_CORRUPTNESS")]  # what the probe found

    # the next start ends the run as a failing run ends; the wait sees it
    second = Run(tmp_path, "--resume")
    assert _finish(second) == 1, second.stderr
    assert f"ended CRASHED: {MESSAGE}" in second.stderr
    assert "↺ run reused" in second.stderr
    assert _runs(tmp_path) == [("DONE", "CRASHED")]

    # that run is spent: the next --resume schedules another, which completes
    third = Run(tmp_path, "--resume")
    assert _finish(third) == 0, third.stderr
    assert "run: runs again: a later step used up what it gave" in third.stderr
    assert _runs(tmp_path) == [("DONE", "CRASHED"), ("DONE", "COMPLETED")]
