"""Exit codes and messages of the command line; never a traceback."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_run_without_token_is_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LIGHTLY_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main([str(ROOT / "workflows" / "quickstart.yaml")]) == 2
    assert "export LIGHTLY_TOKEN" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "environment", "origin"),
    [
        (["--server", "localhost:5000"], None, "--server"),
        ([], "ftp://lightly.example.com", "LIGHTLY_SERVER_LOCATION"),
    ],
)
def test_a_server_location_that_is_no_url_is_a_usage_error_before_anything_runs(
    flags: list[str],
    environment: str | None,
    origin: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LIGHTLY_TOKEN", "t0ken")
    if environment is not None:
        monkeypatch.setenv("LIGHTLY_SERVER_LOCATION", environment)
    monkeypatch.chdir(tmp_path)
    assert main([*flags, str(ROOT / "workflows" / "quickstart.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {origin}: the server location ")
    assert "is not an http:// or https:// URL with a host" in err
    assert not list(tmp_path.glob(".lightly-run/runs/*"))  # no run was started


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--state-dir", "a file is in the way where a folder is needed"),
        ("--data-dir", "a file is in the way where a folder is needed"),
    ],
)
def test_a_file_where_a_folder_is_needed_is_named_not_a_crash(
    flag: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("in-the-way").write_text("keep me")
    workflow = str(ROOT / "workflows" / "quickstart.yaml")
    assert main(["--local", flag, "in-the-way", workflow]) == 2
    err = capsys.readouterr().err
    assert err == f"error: in-the-way: {expected}\n"
    assert Path("in-the-way").read_text() == "keep me"


RESUMABLE = """version: 1
name: resumable
inputs:
  n: {type: integer, default: 5}
steps:
  - id: write
    uses: write_file
    with: {path: n.txt, content: "n={{ inputs.n }}"}
  - id: check
    uses: assert
    with: {that: "{{ inputs.n > 1 }}"}
"""


def test_resuming_a_run_that_does_not_exist_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    assert main(["--local", "wf.yaml", "--resume", "nope"]) == 2
    assert capsys.readouterr().err == "error: no run 'nope' in .lightly-run/runs\n"
    assert main(["--local", "wf.yaml", "--resume"]) == 2
    assert "no earlier run of wf.yaml" in capsys.readouterr().err


def test_resume_goes_on_with_the_inputs_the_run_started_with_unless_given_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    assert main(["--local", "--no-progress", "wf.yaml", "-i", "n=0", "--state-dir", "my runs"]) == 1
    # the last line says how to go on, with the same backend and state folder
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.endswith(
        "; once fixed, go on with: lightly-run wf.yaml --local --state-dir 'my runs' --resume"
    )
    shutil.move("my runs", ".lightly-run")

    # n stays 0 (not the default 5): 'write' is reused, 'check' fails again
    assert main(["--local", "--no-progress", "wf.yaml", "--resume"]) == 1
    err = capsys.readouterr().err
    assert "↺ write reused" in err and "✗ check failed" in err

    # a new value: 'write' read it, so it runs again
    assert main(["--local", "--no-progress", "wf.yaml", "--resume", "-i", "n=2"]) == 0
    err = capsys.readouterr().err
    assert "✓ write succeeded" in err and Path("n.txt").read_text() == "n=2"


def test_resume_before_the_workflow_takes_the_file_as_the_workflow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    assert main(["--local", "--no-progress", "wf.yaml", "-i", "n=0"]) == 1
    capsys.readouterr()
    # `--resume wf.yaml`: the latest run of wf.yaml, not a run named "wf.yaml"
    assert main(["--local", "--no-progress", "--resume", "wf.yaml", "-i", "n=2"]) == 0
    assert "↺ write" not in capsys.readouterr().err and Path("n.txt").read_text() == "n=2"
    # a run id and the workflow, in either order
    run_id = next(Path(".lightly-run/runs").iterdir()).name
    assert main(["--local", "--no-progress", "--resume", run_id, "wf.yaml"]) == 0
    assert "↺ write reused" in capsys.readouterr().err
    # a run id alone: its record names the file
    assert main(["--local", "--no-progress", "--resume", run_id]) == 0
    assert "↺ write reused" in capsys.readouterr().err
    assert main(["--local", "--resume", "20990101-000000-abcdef"]) == 2
    assert "no run '20990101-000000-abcdef'" in capsys.readouterr().err
    # no workflow at all is still a usage error that names what is missing
    assert main(["--local", "--resume"]) == 2
    assert "required: WORKFLOW" in capsys.readouterr().err


def test_resume_of_another_files_run_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Workflows share step ids (dataset, run, wait): another file's run must not be reused."""
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    Path("other.yaml").write_text(RESUMABLE.replace("name: resumable", "name: other"))
    assert main(["--no-progress", "wf.yaml", "-i", "n=0"]) == 1
    run_id = next(Path(".lightly-run/runs").iterdir()).name
    capsys.readouterr()
    assert main(["--no-progress", "other.yaml", "--resume", run_id, "-i", "n=2"]) == 2
    assert capsys.readouterr().err == (
        f"error: run {run_id} is a run of wf.yaml, not of other.yaml: resume it with "
        f"`lightly-run wf.yaml --resume {run_id}`, or leave out the run id to resume the "
        "latest run of other.yaml\n"
    )
    assert not Path("n.txt").read_text().endswith("2")


def test_a_recorded_input_the_changed_workflow_refuses_is_named_as_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE.replace("{type: integer, default: 5}", "{type: integer}"))
    assert main(["--local", "--no-progress", "wf.yaml", "-i", "n=0"]) == 1
    # a required input need not be given again: the record has it ('check' fails again)
    assert main(["--local", "--no-progress", "wf.yaml", "--resume"]) == 1
    changed = RESUMABLE.replace("{type: integer, default: 5}", "{type: integer, minimum: 1}")
    Path("wf.yaml").write_text(changed)
    capsys.readouterr()
    assert main(["--local", "--no-progress", "wf.yaml", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: input 'n' must be at least 1, got 0 (recorded by run ")
    assert err.endswith("; the workflow changed since): pass -i n=VALUE\n")
    assert main(["--local", "--no-progress", "wf.yaml", "--resume", "-i", "n=3"]) == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "99999"], "argument --port: 99999 is out of range: use from 0 to 65535"),
        (["--workers", "-1"], "argument --workers: -1 is out of range: use at least 0"),
        (["--workers", "two"], "argument --workers: 'two' is not an integer"),
    ],
)
def test_serve_refuses_out_of_range_numbers(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_serve_on_a_busy_port_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from runner.local.store import Store

    opened: list[Store] = []
    closed: list[Store] = []
    init, close = Store.__init__, Store.close
    monkeypatch.setattr(
        Store, "__init__", lambda self, *a, **k: opened.append(self) or init(self, *a, **k)
    )
    monkeypatch.setattr(Store, "close", lambda self: closed.append(self) or close(self))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port), "--data-dir", str(tmp_path), "--workers", "0"])
    assert code == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert opened and set(map(id, closed)) == set(map(id, opened))  # no database left open


def test_serve_s_local_roots_default_to_the_current_folder_and_must_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner.local import server

    given: list[tuple[Path, ...]] = []
    monkeypatch.setattr(server, "serve", lambda **kwargs: given.append(kwargs["local_roots"]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images").mkdir()
    assert main(["serve"]) == 0
    assert main(["serve", "--local-root", "images", "--local-root", "/"]) == 0
    assert given == [(tmp_path,), (tmp_path / "images", Path("/"))]
    assert main(["serve", "--local-root", "nowhere"]) == 2
    assert f"error: --local-root: not a folder: {tmp_path / 'nowhere'}" in capsys.readouterr().err


def test_invalid_input_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (
        main(["--local", str(ROOT / "workflows" / "quickstart.yaml"), "-i", "n_samples=ten"]) == 2
    )
    assert "input 'n_samples' must be an integer" in capsys.readouterr().err


def test_unknown_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(ROOT / "workflows" / "quickstart.yaml"), "-i", "nope=1"]) == 2
    assert "unknown input(s) nope" in capsys.readouterr().err


def test_plan_renders_known_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(ROOT / "workflows" / "quickstart.yaml"), "-i", "n_samples=7"]) == 0
    out = capsys.readouterr().out
    assert '"n_samples": 7' in out
    assert "scheduled_run_id: <steps.run.outputs.scheduled_run_id>" in out


def test_plan_shows_a_required_input_that_is_not_given_by_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # as in a pull request's CI, where the real values are not at hand
    assert main(["plan", str(ROOT / "workflows" / "cloud-curation.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# required inputs not given, shown as <inputs.NAME>: -i bucket=VALUE\n")
    assert "resource_path: s3://<inputs.bucket>/frames/" in out
    # a given one is rendered, and a wrong one is still refused
    assert main(["plan", str(ROOT / "workflows" / "cloud-curation.yaml"), "-i", "bucket=b"]) == 0
    assert "resource_path: s3://b/frames/" in capsys.readouterr().out
    assert main(["plan", str(ROOT / "workflows" / "quickstart.yaml"), "-i", "n_samples=x"]) == 2


def test_plan_shows_what_depends_on_run_time_values_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wf.yaml").write_text(
        """version: 1
name: p
steps:
  - id: tags
    uses: get_all_tags
  - id: note
    uses: write_file
    if: "{{ steps.tags.outputs.result[0].name == 'initial-tag' }}"
    with:
      path: "notes/{{ run.id }}.txt"
      content: |
        {{ steps.tags.outputs.result | length }} tags:
        {% for tag in steps.tags.outputs.result %}{{ tag.name }} {% endfor %}
"""
    )
    assert main(["plan", str(tmp_path / "wf.yaml")]) == 0
    assert capsys.readouterr().out == (
        "1. tags: get_all_tags\n"
        "2. note: write_file\n"
        "     if: {{ steps.tags.outputs.result[0].name == 'initial-tag' }}\n"
        "     path: notes/<run.id>.txt\n"
        "     content: {{ steps.tags.outputs.result | length }} tags:\n"
        "       {% for tag in steps.tags.outputs.result %}{{ tag.name }} {% endfor %}\n"
    )


def test_plan_renders_the_environment_and_the_run_s_known_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRAMES_BUCKET", "frames-eu")
    monkeypatch.setenv("API_TOKEN", "tok-0123456789")
    monkeypatch.setenv("DATABASE_URL", "postgres://app:pa55word@db:5432/x")
    monkeypatch.delenv("NOT_SET_HERE", raising=False)
    (tmp_path / "wf.yaml").write_text(
        """version: 1
name: planned
steps:
  - id: w
    uses: write_file
    with:
      path: "{{ run.workflow }}/{{ run.id }}.txt"
      content: "{{ env.FRAMES_BUCKET }} {{ env.API_TOKEN }} {{ env.NOT_SET_HERE }}"
  - id: db
    uses: write_file
    with: {path: db.txt, content: "{{ env.DATABASE_URL }}"}
"""
    )
    assert main(["plan", str(tmp_path / "wf.yaml")]) == 0
    out = capsys.readouterr().out
    assert "path: planned/<run.id>.txt" in out
    # a secret variable is shown by name; one not set here may be at run time
    assert "content: frames-eu <env.API_TOKEN> <env.NOT_SET_HERE>" in out
    assert "tok-0123456789" not in out
    assert "content: postgres://***@db:5432/x" in out and "pa55word" not in out


def test_actions_lists_and_describes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["actions"]) == 0
    assert "wait_compute_worker_run" in capsys.readouterr().out
    assert main(["actions", "set_s3_config"]) == 0
    out = capsys.readouterr().out
    assert "region (string; required)" in out and "purpose" in out
    assert main(["actions", "set_s3_confg"]) == 2
    assert "did you mean 'set_s3_config'" in capsys.readouterr().err


def test_invalid_workflow_run_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = ROOT / "tests" / "data" / "invalid" / "unknown_action.yaml"
    assert main(["--local", str(bad), "--state-dir", str(tmp_path)]) == 2
    assert "unknown_action.yaml:5:11: unknown action" in capsys.readouterr().err


def test_a_reader_that_stops_early_is_not_a_crash() -> None:
    """``lightly-run schema | head``: the closed pipe ends the command quietly."""
    with subprocess.Popen(
        [sys.executable, "-m", "runner", "schema"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(100)
        process.stdout.close()  # the schema is ~130 KB: more than the pipe holds
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=30) == 0
    assert stderr == ""


class ReaderGoneAfter(io.StringIO):
    """stderr whose reader goes away after ``lines`` lines (``| head -n LINES``)."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines

    def write(self, text: str) -> int:
        if self.getvalue().count("\n") >= self.lines:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


THREE_FILES = """version: 1
name: three
steps:
  - {id: one, uses: write_file, with: {path: one.txt, content: "1"}}
  - {id: two, uses: write_file, with: {path: two.txt, content: "2"}}
  - {id: three, uses: write_file, with: {path: three.txt, content: "3"}}
"""


def run_until_reader_goes(monkeypatch: pytest.MonkeyPatch, args: list[str], lines: int = 2) -> int:
    """``main(args)`` whose stderr's reader goes away after ``lines`` lines."""
    captured = sys.stderr
    monkeypatch.setattr(sys, "stderr", ReaderGoneAfter(lines=lines))
    try:
        return main(args)
    finally:
        monkeypatch.setattr(sys, "stderr", captured)


def test_a_run_whose_output_reader_goes_away_stops_saved_and_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``lightly-run wf.yaml 2>&1 | head -1``: not exit 0 with half the steps run."""
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(THREE_FILES)
    assert run_until_reader_goes(monkeypatch, ["--no-progress", "wf.yaml"]) == 141
    assert not Path("three.txt").exists()
    (state_file,) = Path(".lightly-run/runs").glob("*/state.json")
    state = json.loads(state_file.read_text())
    assert state["status"] == "interrupted"
    assert state["steps"]["three"]["status"] == "pending"
    interrupted = [r["error"] for r in state["steps"].values() if r["status"] == "interrupted"]
    assert interrupted == ["interrupted (the output's reader went away)"]

    assert main(["--no-progress", "wf.yaml", "--resume"]) == 0
    assert "↺ one reused" in capsys.readouterr().err
    assert Path("three.txt").read_text() == "3"


def test_a_closed_output_stops_the_run_from_the_main_thread_only() -> None:
    """A step's or the local worker's thread that writes first is not ended by it: the
    main thread's next write stops the run."""
    from runner.cli.main import _PipeGuard
    from runner.errors import OutputClosed

    guard = _PipeGuard(ReaderGoneAfter(lines=0))  # type: ignore[arg-type]
    failures: list[BaseException] = []

    def log_from_a_thread() -> None:
        try:
            guard.write("a warning from a worker thread\n")
        except BaseException as error:  # what the thread would die of
            failures.append(error)

    thread = threading.Thread(target=log_from_a_thread)
    thread.start()
    thread.join()
    assert failures == []
    with pytest.raises(OutputClosed):
        guard.write("✓ step succeeded\n")
    assert guard.write("later lines are dropped\n") == len("later lines are dropped\n")


class FlushFails(io.StringIO):
    """A block-buffered stdout whose reader is gone: writes are kept, the flush fails."""

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_summary_that_cannot_be_delivered_is_exit_141_not_0(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``{ lightly-run wf.yaml --output json; } | true``: it exited 120 (a failed final
    flush); and a closed stderr while an error is printed ended in a traceback."""
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(THREE_FILES)
    monkeypatch.setattr(sys, "stdout", FlushFails())
    assert main(["--no-progress", "--output", "json", "wf.yaml"]) == 141
    bad = str(ROOT / "tests" / "data" / "invalid" / "unknown_action.yaml")
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert run_until_reader_goes(monkeypatch, [bad, "--output", "json"], lines=0) == 141


def test_output_json_describes_a_run_whose_state_folder_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("in the way")
    args = ["--output", "json", str(ROOT / "workflows" / "quickstart.yaml"), "--local"]
    assert main([*args, "--state-dir", str(tmp_path / "afile")]) == 2
    failure = json.loads(capsys.readouterr().out)
    assert failure["status"] == "invalid" and failure["workflow_path"].endswith("quickstart.yaml")
    assert failure["errors"] == [
        f"{tmp_path / 'afile'}: a file is in the way where a folder is needed"
    ]


def test_output_json_describes_a_run_that_could_not_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ROOT / "tests" / "data" / "invalid" / "unknown_action.yaml"
    args = ["--output", "json", str(bad), "--state-dir", str(tmp_path)]
    assert main(args) == 2
    failure = json.loads(capsys.readouterr().out)
    assert failure["status"] == "invalid" and failure["run_id"] is None
    assert any("unknown action" in error for error in failure["errors"])


def test_output_json_describes_an_interrupted_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(THREE_FILES)
    assert (
        run_until_reader_goes(monkeypatch, ["--no-progress", "--output", "json", "wf.yaml"]) == 141
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "interrupted"
    assert [step["status"] for step in summary["steps"]] == ["succeeded", "interrupted", "pending"]


def test_validate_a_folder_checks_every_workflow_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "workflows" / "quickstart.yaml", tmp_path / "good.yaml")
    (tmp_path / "nested").mkdir()
    shutil.copy(ROOT / "tests/data/invalid/unknown_action.yaml", tmp_path / "nested/bad.yml")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden/ignored.yaml").write_text("not: [a workflow")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'nested/bad.yml'}:5:11: unknown action" in err
    assert "1 problem(s) in 1 file(s)" in err and "ignored" not in err
    (tmp_path / "nested/bad.yml").unlink()
    assert main(["validate", str(tmp_path)]) == 0
    assert "1 workflow file(s) valid" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "nested")]) == 2
    assert "no workflow files (*.yaml, *.yml) in" in capsys.readouterr().err


def test_the_client_s_retries_are_shown_under_the_step_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import responses

    from runner.client import RetryPolicy

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIGHTLY_TOKEN", "token-4711-secret")
    monkeypatch.setenv("LIGHTLY_SERVER_LOCATION", "https://lightly.test")
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, retry_after=None: 0.0)
    Path("wf.yaml").write_text("version: 1\nname: r\nsteps:\n  - id: ds\n    uses: get_datasets\n")
    with responses.RequestsMock() as mocked:
        url = "https://lightly.test/v1/datasets"
        mocked.get(url, status=503, body="busy, token-4711-secret")
        mocked.get(url, json=[])
        assert main(["--no-progress", "wf.yaml"]) == 0
    err = capsys.readouterr().err
    assert (
        "▶ ds (get_datasets)\n"
        "  GET /v1/datasets failed with HTTP 503: busy, *** (attempt 1 of 5); retrying in 0.0 s\n"
        "✓ ds succeeded"
    ) in err
    assert "token-4711-secret" not in err


def test_upload_warnings_are_shown_under_the_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    deep = Path("images", *(letter * 60 for letter in "abcd"))
    deep.mkdir(parents=True)
    for path in (deep / "x.jpg", Path("images/ok.jpg")):
        Image.new("RGB", (32, 32), (9, 9, 9)).save(path)
    Path("images/broken.jpg").write_bytes(b"not an image")
    Path("wf.yaml").write_text(
        "version: 1\nname: u\nsteps:\n"
        "  - {id: ds, uses: create_dataset, with: {dataset_name: uploads}}\n"
        "  - {id: up, uses: upload_dataset, with: {input: images}}\n"
    )
    assert main(["--local", "--no-progress", "wf.yaml"]) == 0
    err = capsys.readouterr().err
    long_name = "/".join(letter * 60 for letter in "abcd") + "/x.jpg"
    assert (
        "▶ up (upload_dataset)\n"
        "  1 of 3 images cannot be read as images (corrupt or truncated): uploaded with "
        "their file size only, no thumbnail or metadata: broken.jpg\n"
        f"  warning: Upload of image {long_name} failed with error the file path is longer "
        "than 255 characters: "
    ) in err
    last_warning = (
        f"  warning: 1 of 3 images failed to upload; the first failed index is 0 ({long_name})."
    )
    assert f"{last_warning}\n✓ up succeeded" in err


def test_a_workflow_that_never_calls_lightly_needs_no_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LIGHTLY_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(
        "version: 1\nname: offline\ninputs:\n  n: {type: integer, default: 0}\nsteps:\n"
        "  - {id: note, uses: write_file, with: {path: n.txt, content: 'n={{ inputs.n }}'}}\n"
        "  - {id: check, uses: assert, with: {that: '{{ inputs.n > 0 }}'}}\n"
    )
    assert main(["wf.yaml"]) == 1  # the assertion, not a missing token
    assert "✗ check failed" in capsys.readouterr().err
    assert main(["wf.yaml", "--resume", "-i", "n=1"]) == 0
    assert Path("n.txt").read_text() == "n=1"


def test_a_run_that_continued_past_a_failed_step_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(
        "version: 1\nname: c\nsteps:\n"
        "  - {id: probe, uses: assert, continue_on_error: true, with: {that: false}}\n"
        "  - {id: after, uses: write_file, with: {path: a.txt, content: '{{ steps.probe.status }}'}}\n"
    )
    assert main(["wf.yaml"]) == 0
    last = capsys.readouterr().err.splitlines()[-1]
    assert ": succeeded, with failed step(s) continued past: probe (state in " in last
    assert Path("a.txt").read_text() == "failed"


@pytest.mark.parametrize(
    ("child_step", "path", "code"),
    [
        ("{id: note, uses: write_file, with: {path: n.txt, content: hi}}", "child.yaml", 0),
        ("{id: tags, uses: get_all_tags}", "child.yaml", 2),  # no token: usage error
        ("{id: note, uses: write_file, with: {path: n.txt, content: hi}}", "{{ 'child.yaml' }}", 2),
    ],
)
def test_a_called_workflow_needs_a_token_only_if_it_may_call_lightly(
    child_step: str,
    path: str,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("LIGHTLY_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    Path("child.yaml").write_text(f"version: 1\nname: child\nsteps:\n  - {child_step}\n")
    Path("parent.yaml").write_text(
        "version: 1\nname: parent\nsteps:\n"
        f'  - {{id: call, uses: run_workflow, with: {{path: "{path}"}}}}\n'
    )
    assert main(["parent.yaml"]) == code
    err = capsys.readouterr().err
    assert ("no Lightly token" in err) == (code == 2)


@pytest.mark.parametrize("command", [["--local", "wf.yaml"], ["serve", "--port", "0"]])
def test_a_damaged_local_database_is_named_and_left_as_it_is(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    database = Path("data/lightly.sqlite3")
    database.parent.mkdir()
    damaged = b"not a database " * 10
    database.write_bytes(damaged)
    assert main([*command, "--data-dir", "data"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: the local server's database data/lightly.sqlite3 cannot be read "
        "(file is not a database): it is damaged or not a lightly-run database. Nothing "
        "was changed; move it and data/blobs away"
    )
    assert database.read_bytes() == damaged


def test_inputs_file_gives_inputs_and_i_overrides_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    Path("inputs.yaml").write_text("n: 3\n")
    assert main(["--no-progress", "wf.yaml", "--inputs-file", "inputs.yaml"]) == 0
    assert Path("n.txt").read_text() == "n=3"
    Path("inputs.json").write_text('{"n": 4}')
    assert main(["--no-progress", "wf.yaml", "--inputs-file", "inputs.json", "-i", "n=7"]) == 0
    assert Path("n.txt").read_text() == "n=7"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"n": 3', "error: --inputs-file bad:1:8: not valid YAML or JSON: expected ',' or '}'"),
        (b"- 3\n", "error: --inputs-file bad must hold a mapping of input names to values"),
        (b"\x9b\xff", "error: cannot read --inputs-file bad: 'utf-8' codec can't decode"),
        (b"n: x\n", "error: input 'n' must be an integer, got 'x'"),
    ],
)
def test_a_bad_inputs_file_is_a_usage_error_that_says_where(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("wf.yaml").write_text(RESUMABLE)
    Path("bad").write_bytes(content)
    assert main(["--no-progress", "wf.yaml", "--inputs-file", "bad"]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_runs_lists_the_recorded_runs_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["runs"]) == 0
    assert capsys.readouterr().err == "no runs in .lightly-run/runs\n"
    Path("wf.yaml").write_text(RESUMABLE)
    Path("other.yaml").write_text(RESUMABLE)
    assert main(["--no-progress", "wf.yaml", "-i", "n=0"]) == 1
    time.sleep(0.01)  # listed by start, latest first
    assert main(["--no-progress", "other.yaml"]) == 0
    capsys.readouterr()

    assert main(["runs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["succeeded", "failed"]
    assert lines[0].endswith("  other.yaml") and lines[1].endswith("  wf.yaml  (at step check)")

    assert main(["runs", "wf.yaml", "--output", "json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)["runs"]
    assert only["status"] == "failed" and only["failed_steps"] == ["check"]
    assert only["workflow_path"] == str(tmp_path / "wf.yaml")

    damaged = Path(".lightly-run/runs", only["run_id"], "state.json")
    damaged.write_text("{")
    assert main(["runs"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert captured.err == f"{only['run_id']}  unreadable: {damaged}\n"


def test_the_resume_hint_never_shows_a_password_of_the_server_url() -> None:
    import argparse

    from runner.cli.commands.run import _resume_command

    args = argparse.Namespace(
        workflow="wf.yaml",
        local=False,
        server="https://me:pa55word@proxy.example/api",
        data_dir=None,
        state_dir=".lightly-run",
    )
    assert _resume_command(args) == (
        "lightly-run wf.yaml --server 'https://***@proxy.example/api' --resume"
    )


TWO_DATASETS = """version: 1
name: two-datasets
inputs:
  fail: {type: boolean, default: true}
steps:
  - {id: first, uses: create_dataset, with: {dataset_name: first-set, if_exists: reuse}}
  - {id: source, uses: set_local_config, with: {resource_path: DATA}}
  - {id: second, uses: create_dataset, with: {dataset_name: second-set, if_exists: reuse}%s}
  - {id: gate, uses: assert, with: {that: "{{ not inputs.fail }}"}}
  - {id: where, uses: get_datasource}
"""


def test_resume_goes_on_with_the_dataset_of_the_last_reused_step(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not with the one the failed run ended on: here 'second' no longer runs, so
    'where' must read the first dataset's datasource."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "images").mkdir()
    workflow = TWO_DATASETS.replace("DATA", str(tmp_path / "images"))
    Path("wf.yaml").write_text(workflow % "")
    assert main(["--local", "--no-progress", "wf.yaml"]) == 1
    Path("wf.yaml").write_text(workflow % ', if: "{{ false }}"')
    capsys.readouterr()
    assert main(["--local", "--no-progress", "wf.yaml", "--resume", "-i", "fail=false"]) == 0
    err = capsys.readouterr().err
    assert "↺ source reused" in err and "✓ where succeeded" in err


def test_a_ca_bundle_that_does_not_exist_is_a_usage_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIGHTLY_TOKEN", "t" * 24)
    monkeypatch.setenv("LIGHTLY_CA_CERTS", str(tmp_path / "corp-ca.pem"))
    Path("wf.yaml").write_text("version: 1\nname: w\nsteps:\n  - {id: tags, uses: get_all_tags}\n")
    assert main(["wf.yaml"]) == 2
    err = capsys.readouterr().err
    assert f"LIGHTLY_CA_CERTS names {tmp_path / 'corp-ca.pem'}, which does not exist" in err
    assert "bug" not in err
