"""``run_workflow``: a step that runs another workflow file with the same backend."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from runner.actions.native import native_actions
from runner.actions.registry import catalog_of
from runner.engine.events import ConsoleObserver
from runner.engine.executor import Engine
from runner.engine.secrets import Masker
from runner.engine.state import StateStore
from runner.workflow.loader import load, validate
from tests.fakes import FakeActions

CALLED = """version: 1
name: prepare
inputs:
  name: {type: string}
steps:
  - id: make
    uses: create
  - id: say
    uses: echo
    with: {value: "prepared {{ inputs.name }} as {{ steps.make.outputs.dataset_id }}"}
"""
CALLER = """version: 1
name: main
steps:
  - id: prep
    uses: run_workflow
    with:
      path: lib/prepare.yaml
      inputs: {name: street}
  - id: after
    uses: echo
    with: {value: "{{ steps.prep.outputs.steps.say.result }}"}
"""


@pytest.fixture
def actions() -> FakeActions:
    fakes = FakeActions()
    fakes.actions.update({a.name: a for a in native_actions() if a.name == "run_workflow"})
    return fakes


def _run(tmp_path: Path, actions: FakeActions, caller: str = CALLER) -> tuple[Any, str]:
    (tmp_path / "lib").mkdir(exist_ok=True)
    (tmp_path / "lib/prepare.yaml").write_text(CALLED)
    (tmp_path / "main.yaml").write_text(caller)
    printed = io.StringIO()
    workflow = load(tmp_path / "main.yaml", catalog_of(actions.actions))
    return _engine(tmp_path, actions, printed).run(workflow, {}), printed.getvalue()


def _engine(tmp_path: Path, actions: FakeActions, printed: io.StringIO) -> Engine:
    """An engine over the fake actions, its lines printed to ``printed``."""
    return Engine(
        registry=actions.actions,
        client=None,
        store=StateStore(tmp_path / "state"),
        masker=Masker(),
        observer=ConsoleObserver(Masker(), stream=printed),
    )


def test_the_called_workflows_outputs_flow_into_the_caller(
    tmp_path: Path, actions: FakeActions
) -> None:
    state, printed = _run(tmp_path, actions)
    assert state.status == "succeeded"
    assert state.steps["after"].outputs["result"] == "prepared street as ds-1"
    assert state.steps["prep"].outputs["status"] == "succeeded"
    assert [name for name, _ in actions.calls] == ["create", "echo", "echo"]
    assert "  ▶ make (create)" in printed and "  ✓ say succeeded" in printed  # indented


def test_a_failing_called_workflow_fails_the_step_with_where_and_why(
    tmp_path: Path, actions: FakeActions
) -> None:
    actions.failures["create"] = 1
    state, _ = _run(tmp_path, actions)
    assert state.status == "failed" and state.steps["prep"].status == "failed"
    assert state.steps["prep"].error == (
        "lib/prepare.yaml: step 'make' failed: RuntimeError: create failed (token None)"
    )
    assert "after" not in state.steps or state.steps["after"].status != "succeeded"


def test_a_failed_called_workflow_is_not_run_again_by_the_calling_step_s_retry(
    tmp_path: Path, actions: FakeActions
) -> None:
    """Its steps had their own retries; a retry of the call would run them all again."""
    actions.failures["create"] = 1
    retried = CALLER.replace(
        "    uses: run_workflow\n", "    uses: run_workflow\n    retry: {attempts: 3}\n"
    )
    state, _ = _run(tmp_path, actions, retried)
    assert state.steps["prep"].status == "failed" and actions.called("create") == 1


def test_a_workflow_calling_itself_is_refused(tmp_path: Path, actions: FakeActions) -> None:
    loop = (
        # a templated path: only the run can see where the call goes
        CALLER.replace("lib/prepare.yaml", "\"{{ 'main' }}.yaml\"")
        .replace("inputs: {name: street}", "")
        .replace("steps.say.", "steps.prep.")
    )
    state, _ = _run(tmp_path, actions, loop)
    assert state.steps["prep"].status == "failed"
    assert "main.yaml would call itself (main.yaml → main.yaml)" in (
        state.steps["prep"].error or ""
    )
    assert actions.calls == []


def test_validate_checks_the_inputs_passed_to_a_called_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/prepare.yaml").write_text(CALLED)
    (tmp_path / "main.yaml").write_text(CALLER.replace("name: street", "nmae: street"))
    catalog = catalog_of({a.name: a for a in native_actions()} | FakeActions().actions)
    problems = [str(p) for p in validate(tmp_path / "main.yaml", catalog)]
    assert problems == [
        f"{tmp_path / 'main.yaml'}:8:15: run_workflow: lib/prepare.yaml needs the input(s) 'name'",
        f"{tmp_path / 'main.yaml'}:8:16: run_workflow: lib/prepare.yaml has no input 'nmae' "
        "(did you mean 'name'?)",
    ]


def test_validate_checks_references_to_a_called_files_steps(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/prepare.yaml").write_text(CALLED)
    catalog = catalog_of({a.name: a for a in native_actions()} | FakeActions().actions)
    (tmp_path / "main.yaml").write_text(CALLER)  # steps.prep.outputs.steps.say.result
    assert validate(tmp_path / "main.yaml", catalog) == []
    (tmp_path / "main.yaml").write_text(CALLER.replace("steps.say.", "steps.sya."))
    problems = [str(p) for p in validate(tmp_path / "main.yaml", catalog)]
    assert problems == [
        f"{tmp_path / 'main.yaml'}:11:19: step 'prep' calls lib/prepare.yaml, which has no "
        "step 'sya' (did you mean 'say'?)"
    ]


def test_called_workflow_inputs_from_a_template_are_checked_when_it_runs(
    tmp_path: Path, actions: FakeActions
) -> None:
    caller = CALLER.replace("inputs: {name: street}", "inputs: \"{{ {'nmae': 'street'} }}\"")
    state, _ = _run(tmp_path, actions, caller)
    assert state.steps["prep"].status == "failed"
    assert "unknown input(s) nmae" in (state.steps["prep"].error or "")


def test_validate_reports_a_call_that_comes_back_to_the_calling_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/prepare.yaml").write_text(
        CALLED.replace("uses: create", "uses: run_workflow\n    with: {path: ../main.yaml}")
    )
    (tmp_path / "main.yaml").write_text(CALLER)
    catalog = catalog_of({a.name: a for a in native_actions()} | FakeActions().actions)
    problems = [str(p) for p in validate(tmp_path / "main.yaml", catalog)]
    assert problems == [
        f"{tmp_path / 'main.yaml'}:7:13: run_workflow: the call comes back to this file "
        f"({tmp_path / 'main.yaml'} → lib/prepare.yaml → main.yaml)"
    ]


def test_validate_reports_a_called_file_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(CALLER.replace("lib/prepare.yaml", "lib/prepar.yaml"))
    catalog = catalog_of({a.name: a for a in native_actions()} | FakeActions().actions)
    problems = [str(p) for p in validate(tmp_path / "main.yaml", catalog)]
    assert problems == [
        f"{tmp_path / 'main.yaml'}:7:13: run_workflow: no workflow file 'lib/prepar.yaml' "
        f"next to {tmp_path / 'main.yaml'}"
    ]


def test_resume_runs_a_call_again_when_the_called_file_changed(
    tmp_path: Path, actions: FakeActions
) -> None:
    first, _ = _run(tmp_path, actions)
    engine = _engine(tmp_path, actions, io.StringIO())
    workflow = load(tmp_path / "main.yaml", catalog_of(actions.actions))

    def resume() -> Any:
        return engine.run(workflow, {}, resume=engine.store.load(first.run_id))

    assert resume().steps["prep"].reused  # nothing changed
    called = tmp_path / "lib/prepare.yaml"
    called.write_text(called.read_text().replace("prepared", "made"))
    resumed = resume()
    assert not resumed.steps["prep"].reused
    assert resumed.steps["after"].outputs["result"].startswith("made street as ds-")


def test_resume_runs_a_call_again_when_a_file_it_calls_in_turn_changed(
    tmp_path: Path, actions: FakeActions
) -> None:
    """main.yaml → lib/prepare.yaml → lib/inner.yaml: an edit of inner.yaml counts too."""
    inner = tmp_path / "lib/inner.yaml"
    (tmp_path / "lib").mkdir()
    inner.write_text(
        "version: 1\nname: inner\nsteps:\n  - id: say\n    uses: echo\n    with: {value: v1}\n"
    )
    calls_inner = CALLED + "  - id: inner\n    uses: run_workflow\n    with: {path: inner.yaml}\n"
    (tmp_path / "main.yaml").write_text(CALLER)
    (tmp_path / "lib/prepare.yaml").write_text(calls_inner)
    engine = _engine(tmp_path, actions, io.StringIO())
    workflow = load(tmp_path / "main.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.steps["prep"].outputs["steps"]["inner"]["steps"]["say"]["result"] == "v1"

    inner.write_text(inner.read_text().replace("v1", "v2"))
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert not resumed.steps["prep"].reused
    assert resumed.steps["prep"].outputs["steps"]["inner"]["steps"]["say"]["result"] == "v2"


@pytest.mark.parametrize(
    "read",
    [
        "{{ env.TARGET_BUCKET }}",
        "{{ env.get('TARGET_BUCKET', 'none') }}",
        "{{ env[inputs.variable] }}",  # a computed name: all of env counts
    ],
)
def test_resume_runs_a_call_again_when_an_environment_variable_its_file_reads_changed(
    tmp_path: Path, actions: FakeActions, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """main.yaml → lib/prepare.yaml → lib/inner.yaml, whose step writes the variable:
    neither file changed, but what inner.yaml's template gives did."""
    monkeypatch.setenv("TARGET_BUCKET", "prod")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/inner.yaml").write_text(
        "version: 1\nname: inner\ninputs:\n  variable: {type: string, default: TARGET_BUCKET}\n"
        f'steps:\n  - id: say\n    uses: echo\n    with: {{value: "target={read}"}}\n'
    )
    (tmp_path / "lib/prepare.yaml").write_text(
        CALLED + "  - id: inner\n    uses: run_workflow\n    with: {path: inner.yaml}\n"
    )
    (tmp_path / "main.yaml").write_text(CALLER)
    engine = _engine(tmp_path, actions, io.StringIO())
    workflow = load(tmp_path / "main.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})

    def resume() -> Any:
        return engine.run(workflow, {}, resume=engine.store.load(first.run_id))

    assert resume().steps["prep"].reused  # nothing changed
    monkeypatch.setenv("TARGET_BUCKET", "staging")
    resumed = resume()
    assert not resumed.steps["prep"].reused
    inner = resumed.steps["prep"].outputs["steps"]["inner"]["steps"]["say"]
    assert inner["result"] == "target=staging"


def test_resume_runs_a_call_again_when_its_file_calls_one_named_by_a_template(
    tmp_path: Path, actions: FakeActions
) -> None:
    """Which file that is, and so whether it changed, is known only when the step runs."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/inner.yaml").write_text(
        "version: 1\nname: inner\nsteps:\n  - id: say\n    uses: echo\n    with: {value: v1}\n"
    )
    (tmp_path / "lib/prepare.yaml").write_text(
        CALLED + "  - id: inner\n    uses: run_workflow\n"
        "    with: {path: \"{{ inputs.name | replace('street', 'inner') }}.yaml\"}\n"
    )
    (tmp_path / "main.yaml").write_text(CALLER)
    engine = _engine(tmp_path, actions, io.StringIO())
    workflow = load(tmp_path / "main.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.status == "succeeded", first.steps["prep"].error
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert not resumed.steps["prep"].reused
