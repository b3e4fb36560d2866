"""Runner-native actions: waiting on a run, assertions, writing files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from runner.actions import native
from runner.actions.native import (
    AssertionFailed,
    assert_action,
    wait_compute_worker_run,
    write_file,
)
from runner.client import ComputeWorkerRunInfo


class FakeClock:
    """Time that passes only when the action pauses."""

    def __init__(self) -> None:
        self.now = 0.0

    def pause(self, seconds: float) -> None:
        self.now += seconds


class FakeRunClient:
    """A run that ends ``ends_after`` seconds in; records when its status was asked."""

    def __init__(self, clock: FakeClock, ends_after: float, state: str = "COMPLETED") -> None:
        self.clock = clock
        self.ends_at = ends_after
        self.state = state
        self.requests: list[float] = []

    def get_compute_worker_run_info(self, scheduled_run_id: str) -> ComputeWorkerRunInfo:
        self.requests.append(self.clock.now)
        if self.clock.now >= self.ends_at:
            return ComputeWorkerRunInfo(self.state, "done")
        return ComputeWorkerRunInfo("EMBEDDING", "working")

    def get_compute_worker_run_from_scheduled_run(self, scheduled_run_id: str) -> dict[str, Any]:
        return {"id": "r" * 24}

    def get_compute_worker_run_tags(self, run_id: str) -> list[dict[str, Any]]:
        return [{"id": "t" * 24, "name": "selected"}]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock()
    monkeypatch.setattr(native, "pause", clock.pause)
    return clock


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_wait_polls_less_and_less_often_up_to_every_30_s(clock: FakeClock) -> None:
    client = FakeRunClient(clock, ends_after=6 * 3600)
    outputs = wait_compute_worker_run(client, {"scheduled_run_id": "s" * 24})
    intervals = gaps(client.requests)
    assert intervals[:4] == [1.0, 1.5, 2.25, 3.375]  # a short run's end is noticed soon
    assert max(intervals) == intervals[-1] == 30.0  # the official client's pace
    assert len(client.requests) < 6 * 3600 / 30 + 15
    assert 0 <= client.requests[-1] - client.ends_at <= 30
    assert outputs["succeeded"] is True and outputs["run_id"] == "r" * 24
    assert outputs["tags"][0]["name"] == "selected" and outputs["state"] == "COMPLETED"


def test_wait_takes_its_intervals_from_the_step(clock: FakeClock) -> None:
    client = FakeRunClient(clock, ends_after=10)
    arguments = {"scheduled_run_id": "s" * 24, "poll_interval": 0.5, "max_interval": 2}
    wait_compute_worker_run(client, arguments)
    assert gaps(client.requests)[:6] == [0.5, 0.75, 1.125, 1.6875, 2.0, 2.0]


@pytest.mark.parametrize("state", ["FAILED", "ABORTED", "CRASHED"])
def test_a_run_that_does_not_complete_fails_the_step_unless_allowed(
    clock: FakeClock, state: str
) -> None:
    """A nightly job must not stay green while every selection fails."""
    with pytest.raises(native.WorkerRunUnsuccessful) as caught:
        wait_compute_worker_run(FakeRunClient(clock, 0, state), {"scheduled_run_id": "s" * 24})
    assert str(caught.value).startswith(f"the Lightly Worker run {'r' * 24} ended {state}: done")
    assert "allow_failure: true" in str(caught.value) and caught.value.transient is False
    outputs = wait_compute_worker_run(
        FakeRunClient(clock, 0, state), {"scheduled_run_id": "s" * 24, "allow_failure": True}
    )
    assert outputs["succeeded"] is False and outputs["state"] == state


def test_assert() -> None:
    assert assert_action(None, {"that": True})["result"] is True
    with pytest.raises(AssertionFailed, match="the run failed"):
        assert_action(None, {"that": False, "message": "the run failed"})


@pytest.mark.parametrize("text", ["no", "FALSE", "none", "null", " false", "", "0"])
def test_assert_reads_a_condition_as_if_does(text: str) -> None:
    """``assert`` and ``if`` agree: text on which ``if`` skips a step fails an assertion."""
    with pytest.raises(AssertionFailed):
        assert_action(None, {"that": text})
    assert assert_action(None, {"that": "yes"})["result"] is True


def test_write_file(tmp_path: Path) -> None:
    write_file(None, {"path": str(tmp_path / "a/b.json"), "content": {"x": [1, 2]}})
    assert json.loads((tmp_path / "a/b.json").read_text()) == {"x": [1, 2]}
    write_file(None, {"path": str(tmp_path / "c.txt"), "content": "hello"})
    assert (tmp_path / "c.txt").read_text() == "hello"


def test_a_file_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    from runner.actions.client_ops import write_output
    from runner.actions.files import OutputNotWritable

    (tmp_path / "exports").mkdir()
    with pytest.raises(OutputNotWritable, match="exports is a folder: name a file"):
        write_file(None, {"path": str(tmp_path / "exports"), "content": "x"})
    with pytest.raises(OutputNotWritable, match="exports is a folder: name a file"):
        write_output(str(tmp_path / "exports"), ["a.jpg"])

    # a write that fails half-way (a lone surrogate cannot be UTF-8) keeps the old file
    # and leaves no temporary file behind
    (tmp_path / "old.txt").write_text("kept")
    with pytest.raises(UnicodeEncodeError):
        write_file(None, {"path": str(tmp_path / "old.txt"), "content": "new \ud800"})
    assert (tmp_path / "old.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "old.txt"]
