"""Secrets and tokens never reach stdout, stderr, state files or the JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli.main import main

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
TOKEN = "lightly-token-0123456789abcdef"
PASSWORD = "input-password-4711"

WORKFLOW = """version: 1
name: secrets
inputs:
  fail: {type: boolean, default: false}
  password: {type: string, secret: true}
steps:
  - id: dataset
    uses: create_dataset
    with: {dataset_name: secrets-test, if_exists: reuse}
  - id: source
    uses: set_s3_config
    with:
      resource_path: s3://bucket/frames/
      region: eu-central-1
      access_key: AKIAEXAMPLE
      secret_access_key: "{{ secrets.AWS_SECRET_ACCESS_KEY }}"
  - id: echo
    uses: write_file
    with:
      path: out/echo.txt
      content: "key={{ secrets.AWS_SECRET_ACCESS_KEY }} token={{ env.LIGHTLY_TOKEN }} password={{ inputs.password }}"
  - id: check
    uses: assert
    with:
      that: "{{ not inputs.fail }}"
      message: "failing with {{ secrets.AWS_SECRET_ACCESS_KEY }} and {{ env.LIGHTLY_TOKEN }} and {{ inputs.password }}"
"""


@pytest.mark.parametrize("fail", [False, True])
def test_no_secret_anywhere(
    fail: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("LIGHTLY_TOKEN", TOKEN)
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    code = main(
        [
            "--local",
            "wf.yaml",
            "--data-dir",
            str(tmp_path / "server"),
            "--output",
            "json",
            "-i",
            f"fail={str(fail).lower()}",
            "-i",
            f"password={PASSWORD}",
        ]
    )
    out, err = capsys.readouterr()
    assert code == (1 if fail else 0), err
    summary = json.loads(out)
    assert summary["status"] == ("failed" if fail else "succeeded")
    state_files = [p.read_text() for p in (tmp_path / ".lightly-run" / "runs").rglob("*.json")]
    assert state_files
    for text in [out, err, *state_files]:
        assert SECRET not in text and TOKEN not in text and PASSWORD not in text
    (state,) = (json.loads(text) for text in state_files if '"run_id"' in text)
    assert state["inputs"]["password"] == "***"
    if fail:
        assert "failing with *** and *** and ***" in err


def test_plan_shows_secret_inputs_by_name_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    assert main(["plan", str(tmp_path / "wf.yaml"), "-i", f"password={PASSWORD}"]) == 0
    out = capsys.readouterr().out
    assert PASSWORD not in out and "password=<inputs.password>" in out


def test_resume_asks_for_a_required_secret_input_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("LIGHTLY_TOKEN", TOKEN)
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    first = ["--local", "--no-progress", "wf.yaml", "-i", "fail=true", "-i", f"password={PASSWORD}"]
    assert main(first) == 1
    capsys.readouterr()
    assert main(["--local", "--no-progress", "wf.yaml", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: input 'password' is secret, so run ")
    assert err.endswith(" did not record it: pass -i password=VALUE again\n")
    again = ["--local", "--no-progress", "wf.yaml", "--resume", "-i", f"password={PASSWORD}"]
    assert main(again) == 1  # fail=true was recorded: 'check' fails again, after the rest
    err = capsys.readouterr().err
    assert "↺ source reused" in err
    # its recorded outputs are masked: reused, a later step would read *** for the secrets
    assert "echo: runs again: its outputs held secrets" in err and "✓ echo succeeded" in err
    assert SECRET not in err and PASSWORD not in err


SECRET_WITH_DEFAULT = """version: 1
name: dev-default
inputs:
  api_password: {type: string, secret: true, default: dev-password-default}
  ok: {type: boolean, default: false}
steps:
  - id: check
    uses: assert
    with: {that: "{{ inputs.ok }}"}
"""


def test_resume_warns_that_a_secret_input_with_a_default_takes_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf.yaml").write_text(SECRET_WITH_DEFAULT)
    assert main(["--no-progress", "wf.yaml", "-i", f"api_password={PASSWORD}"]) == 1
    capsys.readouterr()
    assert main(["--no-progress", "wf.yaml", "--resume", "-i", "ok=true"]) == 0
    err = capsys.readouterr().err
    assert "warning: input 'api_password' is secret, so run " in err
    assert "this resume uses its default; if the run started with another value, pass " in err
    assert main(["--no-progress", "wf.yaml", "-i", "ok=false"]) == 1
    capsys.readouterr()
    again = ["--no-progress", "wf.yaml", "--resume", "-i", "ok=true", "-i", "api_password=x" * 3]
    assert main(again) == 0
    assert "warning" not in capsys.readouterr().err


NUMBER_SECRET = """version: 1
name: pin
inputs:
  pin: {type: integer, secret: true}
steps:
  - {id: write, uses: write_file, with: {path: pin.txt, content: "pin {{ inputs.pin }}"}}
  - {id: check, uses: assert, with: {that: false, message: "pin={{ inputs.pin }}"}}
"""


def test_a_secret_input_that_is_a_number_is_masked_and_a_short_one_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wf.yaml").write_text(NUMBER_SECRET)
    assert main(["--no-progress", "wf.yaml", "-i", "pin=98765", "--output", "json"]) == 1
    out, err = capsys.readouterr()
    stored = "".join(p.read_text() for p in Path(".lightly-run").rglob("*.json"))
    assert "pin=***" in err and "98765" not in out + err + stored
    assert Path("pin.txt").read_text() == "pin 98765"  # the step itself got the value

    assert main(["--no-progress", "wf.yaml", "-i", "pin=42"]) == 1
    assert "warning: secret input 'pin' is shorter than 4 characters" in capsys.readouterr().err


def test_a_secret_not_set_is_said_before_a_server_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    (tmp_path / "wf.yaml").write_text(WORKFLOW)
    assert main(["--local", "wf.yaml", "-i", f"password={PASSWORD}"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: secret(s) not set: AWS_SECRET_ACCESS_KEY; export them as environment variables\n"
    )
    assert not (tmp_path / ".lightly-run").exists()  # no server, no run recorded


DERIVED = """version: 1
name: derived
inputs:
  password: {type: string, secret: true}
  bucket: {type: string, default: my-bucket}
  numbers: {type: array, default: [1, 2, 3]}
steps:
  - id: derive
    uses: write_file
    with:
      path: out/derived.txt
      content: >-
        reversed={{ secrets.AWS_SECRET_ACCESS_KEY | reverse }}
        sliced={{ secrets.AWS_SECRET_ACCESS_KEY[3:] }}
        replaced={{ secrets.AWS_SECRET_ACCESS_KEY.replace('-', '_') }}
        input={{ inputs.password | reverse }}
        short={{ secrets.AWS_SECRET_ACCESS_KEY[:2] }}
        size={{ secrets.AWS_SECRET_ACCESS_KEY | length }}
        branch={{ (secrets.AWS_SECRET_ACCESS_KEY | reverse | upper) if true else 'x' }}
        either={{ (secrets.AWS_SECRET_ACCESS_KEY | title | reverse) or 'x' }}
        token={{ env.MY_SERVICE_TOKEN | reverse }}
        mapping={{ {'k': secrets.AWS_SECRET_ACCESS_KEY[5:]} }}
        long={{ (secrets.AWS_SECRET_ACCESS_KEY | length > 3) | string }}
  - id: parts
    uses: write_file
    for_each: "{{ secrets.AWS_SECRET_ACCESS_KEY.split('-') }}"
    with: {path: out/part.txt, content: "{{ item }} {{ item | reverse }}"}
  - id: plain
    uses: write_file
    with:
      path: out/plain.txt
      content: >-
        bucket={{ inputs.bucket | default(secrets.AWS_SECRET_ACCESS_KEY) }}
        mode={{ env.get('CI_JOB_TOKEN_UNSET', 'local-run') }}
        popped={{ [inputs.numbers.pop(), secrets.AWS_SECRET_ACCESS_KEY[:6]] | join('-') }}
  - id: call
    uses: run_workflow
    with: {path: inner.yaml, inputs: {tok: "{{ secrets.AWS_SECRET_ACCESS_KEY }}"}}
  - id: check
    uses: assert
    with: {that: false, message: "{{ secrets.AWS_SECRET_ACCESS_KEY[:12] }} is wrong, true"}
"""


INNER = """version: 1
name: inner
inputs:
  tok: {type: string}
steps:
  - id: use
    uses: write_file
    with: {path: out/inner.txt, content: "{{ inputs.tok | reverse }}"}
"""


def test_what_a_template_makes_of_a_secret_is_masked_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("MY_SERVICE_TOKEN", TOKEN)
    (tmp_path / "wf.yaml").write_text(DERIVED)
    (tmp_path / "inner.yaml").write_text(INNER)
    args = ["--no-progress", "wf.yaml", "--output", "json", "-i", f"password={PASSWORD}"]
    assert main(args) == 1
    out, err = capsys.readouterr()
    state = next((tmp_path / ".lightly-run" / "runs").glob("*/state.json")).read_text()
    derived = [
        SECRET[::-1],
        SECRET[3:],
        SECRET.replace("-", "_"),
        PASSWORD[::-1],
        SECRET[:12],
        SECRET[::-1].upper(),
        SECRET.title()[::-1],
        TOKEN[::-1],
        SECRET[5:],
        *SECRET.split("-"),
        *(part[::-1] for part in SECRET.split("-")),
        SECRET[::-1][:20],  # the called file's inputs.tok | reverse
    ]
    for text in [out, err, state]:
        assert not any(form in text for form in derived)
    # the file is what the workflow asked for: masking is for what is shown and stored
    written = (tmp_path / "out" / "derived.txt").read_text()
    assert f"reversed={SECRET[::-1]}" in written and f"size={len(SECRET)}" in written
    assert "derive: warning: a template makes a text of a secret too short or too long" in err
    assert "*** is wrong, true" in err  # a test's answer ("True") is no secret: not masked
    # a fallback is no secret, and evaluating twice changes nothing (pop ran once)
    plain = (tmp_path / "out" / "plain.txt").read_text()
    assert plain == f"bucket=my-bucket mode=local-run popped=3-{SECRET[:6]}"
    shown = json.loads(out)["steps"][2]["outputs"]["content"]
    assert shown.startswith("bucket=my-bucket mode=local-run popped=")
    assert f"size={len(SECRET)}" in json.loads(out)["steps"][0]["outputs"]["content"]
