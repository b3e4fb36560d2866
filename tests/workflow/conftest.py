"""A workflow file in a fresh folder, and what `lightly-run validate` says about it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runner.cli.main import main

Validate = Callable[[str], list[str]]


@pytest.fixture
def validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Validate:
    """Write ``wf.yaml`` (other files next to it as the test likes) and return the
    problems validate reports, as users see them: ``wf.yaml:LINE:COL: message``."""
    monkeypatch.chdir(tmp_path)

    def run(text: str) -> list[str]:
        Path("wf.yaml").write_text(text)
        code = main(["validate", "wf.yaml"])
        err = capsys.readouterr().err
        problems = [line for line in err.splitlines() if line.startswith("wf.yaml:")]
        assert code == (2 if problems else 0), err
        return problems

    return run
