"""Progress of long steps in CI logs: a line on every change, otherwise one per interval."""

from __future__ import annotations

import io

from runner.engine.events import ConsoleObserver
from runner.engine.progress import PeriodicLines, masked, periodic_lines
from runner.engine.secrets import Masker
from tests.fakes import RecordingBars


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counts_are_printed_at_most_once_per_interval_and_when_done() -> None:
    lines: list[str] = []
    clock = Clock()
    bar = PeriodicLines(
        lines.append, total=200, desc="upload", unit="img", interval=30, clock=clock
    )
    with bar:
        for _ in range(100):
            clock.now += 0.5  # 50 s in all
            bar.update(2)
    assert lines == [
        "  upload: 120/200 img (60%), 30s",
        "  upload: 200/200 img (100%), done in 50s",
    ]


def test_a_status_change_is_printed_at_once_and_not_repeated_when_done() -> None:
    lines: list[str] = []
    clock = Clock()
    with PeriodicLines(lines.append, total=None, desc="run 42", unit="poll", clock=clock) as bar:
        for state in ["OPEN", "OPEN", "EMBEDDING", "EMBEDDING", "COMPLETED"]:
            clock.now += 1
            bar.set_postfix_str(state)
        clock.now += 3600 * 2 + 60 * 5
        bar.set_postfix_str("COMPLETED")
    assert lines == [
        "  run 42: 1s — OPEN",
        "  run 42: 3s — EMBEDDING",
        "  run 42: 5s — COMPLETED",
        "  run 42: 2h05m — COMPLETED",  # the interval passed: alive, same state
    ]


def test_lines_go_through_the_masked_console() -> None:
    masker = Masker()
    masker.add("s3cr3t-token")
    stream = io.StringIO()
    factory = periodic_lines(ConsoleObserver(masker, stream).message, interval=0)
    with factory(total=None, desc="listing", unit="file") as bar:
        bar.set_postfix_str("from https://host/?token=s3cr3t-token")
    assert "s3cr3t-token" not in stream.getvalue() and "***" in stream.getvalue()


def test_terminal_bars_are_masked_too() -> None:
    masker = Masker()
    masker.add("s3cr3t")
    bars = RecordingBars()
    factory = masked(bars, masker.mask)
    with factory(total=3, desc="upload s3cr3t", unit="img") as bar:
        bar.update(2)
        bar.set_postfix_str("FAILED: bad key s3cr3t")
    assert bars.bars == [
        {
            "total": 3,
            "desc": "upload ***",
            "unit": "img",
            "n": 2,
            "postfix": "FAILED: bad key ***",
            "closed": True,
        }
    ]
