"""Ctrl-C during a real run: a SIGINT to a `lightly-run --local` process, and --resume after it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

# The run is scheduled for a worker label nobody has, so `wait` polls until interrupted.
WORKFLOW = """version: 1
name: interrupted
inputs:
  label: {type: string, default: no-such-worker}
steps:
  - id: dataset
    uses: create_dataset
    with: {dataset_name: sigint, if_exists: reuse}
  - id: run
    uses: schedule_compute_worker_run
    with:
      runs_on: ["{{ inputs.label }}"]
      selection_config: {n_samples: 1, strategies: [{input: {type: RANDOM}, strategy: {type: WEIGHTS}}]}
  - id: wait
    uses: wait_compute_worker_run
    with: {scheduled_run_id: "{{ steps.run.outputs.scheduled_run_id }}"}
"""


class Run:
    """A `lightly-run` subprocess whose stderr is collected line by line."""

    def __init__(self, project: Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTLY_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runner", "--local", "wf.yaml", "--no-progress", *extra],
            cwd=project,
            env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} in:\n{''.join(self.lines)}"
            time.sleep(0.05)

    def interrupt(self, signal_number: int = signal.SIGINT) -> int:
        self.process.send_signal(signal_number)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)


def _state(project: Path) -> dict:  # type: ignore[type-arg]
    (state_file,) = (project / ".lightly-run" / "runs").glob("*/state.json")
    return json.loads(state_file.read_text())


def test_ctrl_c_saves_the_state_exits_130_and_resume_goes_on_from_the_interrupted_step(
    tmp_path: Path,
) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)

    first = Run(tmp_path)
    first.wait_for("▶ wait")
    time.sleep(0.5)  # inside the poll loop
    assert first.interrupt() == 130
    assert "Traceback" not in first.stderr
    assert "interrupted; the run's state is saved (resume with --resume)" in first.stderr
    state = _state(tmp_path)
    assert state["status"] == "interrupted"
    steps = {step_id: record["status"] for step_id, record in state["steps"].items()}
    assert steps == {"dataset": "succeeded", "run": "succeeded", "wait": "interrupted"}

    # the lock is released, and the completed steps are not run again
    second = Run(tmp_path, "--resume")
    second.wait_for("▶ wait")
    assert second.interrupt() == 130
    assert "↺ dataset reused" in second.stderr and "↺ run reused" in second.stderr
    assert "▶ dataset" not in second.stderr and "▶ run" not in second.stderr
    assert _state(tmp_path)["steps"]["run"]["outputs"] == state["steps"]["run"]["outputs"]


def test_sigterm_from_a_cancelled_ci_job_saves_the_state_too_and_exits_143(
    tmp_path: Path,
) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)

    run = Run(tmp_path)
    run.wait_for("▶ wait")
    time.sleep(0.5)
    assert run.interrupt(signal.SIGTERM) == 143
    assert "Traceback" not in run.stderr
    assert "terminated (SIGTERM); the run's state is saved (resume with --resume)" in run.stderr
    state = _state(tmp_path)
    assert state["status"] == "interrupted"
    assert state["steps"]["wait"]["status"] == "interrupted"
    assert state["steps"]["wait"]["error"] == "interrupted (SIGTERM)"
