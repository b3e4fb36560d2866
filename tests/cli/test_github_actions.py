"""In GitHub Actions a run folds each step's lines, annotates a failed step at its line,
and appends a table to the job summary; all of it masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.cli.main import main

WORKFLOW = """version: 1
name: ci-run
inputs:
  n: {type: integer, default: 1}
steps:
  - id: write
    uses: write_file
    with: {path: out.txt, content: "{{ secrets.API_PASSWORD }}"}
  - id: check
    uses: assert
    with:
      that: "{{ inputs.n > 1 }}"
      message: "n is {{ inputs.n }},\\n100% wrong for {{ secrets.API_PASSWORD }}"
"""


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "wf.yaml").write_text(WORKFLOW)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("API_PASSWORD", "hunter2-very-secret")
    return tmp_path


def test_steps_are_folded_and_a_failure_is_annotated_at_its_line(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--no-progress", "ci/wf.yaml"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[:7] == [
        "::group::▶ write (write_file)",
        "::endgroup::",
        "✓ write succeeded in 0.0s",
        "::group::▶ check (assert)",
        "::endgroup::",
        "✗ check failed in 0.0s: n is 1,",
        "100% wrong for ***",
    ]
    # the step's line in the repository's file; the message one line, escaped and masked
    assert (
        "::error file=ci/wf.yaml,line=9,title=step check failed::n is 1,%0A100%25 wrong for ***"
        in err
    )
    assert "hunter2" not in err


def test_the_job_summary_gets_a_table_of_the_steps(github: Path) -> None:
    (github / "summary.md").write_text("earlier job step\n")
    assert main(["--no-progress", "ci/wf.yaml"]) == 1
    summary = (github / "summary.md").read_text()
    assert summary.startswith("earlier job step\n### lightly-run: ci-run — failed\n")
    assert "| `write` | ✓ succeeded | 0.0 s |  |" in summary
    assert "| `check` | ✗ failed | 0.0 s | n is 1, 100% wrong for *** |" in summary
    assert "hunter2" not in summary


def test_an_absolute_workflow_path_is_annotated_relative_to_the_repository(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (github / "ci" / "wf.yaml").write_text(
        WORKFLOW + "  - id: after\n    uses: write_file\n    with: {path: b.txt, content: b}\n"
    )
    assert main(["--no-progress", str(github / "ci" / "wf.yaml")]) == 1
    assert "::error file=ci/wf.yaml,line=9," in capsys.readouterr().err
    # a step the run never reached is "not run", without a time
    assert "| `after` | · not run | – | |" in (github / "summary.md").read_text()


def test_outside_github_actions_nothing_of_it(
    github: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert main(["--no-progress", "ci/wf.yaml"]) == 1
    assert "::" not in capsys.readouterr().err
    assert not (github / "summary.md").exists()


def test_text_from_elsewhere_cannot_act_as_a_workflow_command(
    github: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a message (here an assert's; a server's or a tag name alike) with a command line in it
    (github / "ci" / "wf.yaml").write_text(
        WORKFLOW.replace(
            'message: "n is {{ inputs.n }},\\n100% wrong for {{ secrets.API_PASSWORD }}"',
            'message: "boom\\n::add-mask::x\\n  ::stop-commands::y"',
        )
    )
    assert main(["--no-progress", "ci/wf.yaml"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert "\u200b::add-mask::x" in lines and "  \u200b::stop-commands::y" in lines
    commands = [
        line.split("::")[1].split(" ")[0] for line in lines if line.lstrip().startswith("::")
    ]
    assert commands == ["group", "endgroup", "group", "endgroup", "error"]  # only our own
