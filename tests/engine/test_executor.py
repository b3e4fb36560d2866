"""The engine with fake actions: outputs, control flow, failures, resume and state."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest

from runner.actions.native import native_actions
from runner.actions.registry import catalog_of, pause
from runner.client import ComputeWorkerRunInfo
from runner.engine.events import SilentObserver
from runner.engine.executor import Engine
from runner.engine.secrets import Masker
from runner.engine.state import StateStore
from runner.errors import StateError
from runner.workflow.loader import load
from tests.fakes import FakeActions

CATALOG: dict[str, Any] = {
    name: {
        "description": "",
        "parameters": {"type": "object", "properties": {"value": {}, "seconds": {}}},
        "outputs": ["value", "dataset_id"],
    }
    for name in ("echo", "create", "slow", "interrupt")
}


def _workflow(tmp_path: Path, steps: str, inputs: str = "") -> Any:
    path = tmp_path / "wf.yaml"
    path.write_text(f"version: 1\nname: test\n{inputs}steps:\n{steps}")
    return load(path, CATALOG)


@pytest.fixture
def actions() -> FakeActions:
    return FakeActions()


@pytest.fixture
def engine(tmp_path: Path, actions: FakeActions) -> Engine:
    return Engine(
        registry=actions.actions,
        client=None,
        store=StateStore(tmp_path / "state"),
        masker=Masker(),
        observer=SilentObserver(),
        sleep=lambda seconds: None,
    )


def test_outputs_flow_between_steps_with_native_types(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    workflow = _workflow(
        tmp_path,
        """  - id: a
    uses: echo
    with: {value: "{{ inputs.n }}"}
  - id: b
    uses: echo
    with: {value: "{{ steps.a.outputs.value + 1 }}"}
  - id: c
    uses: echo
    with: {value: "name-{{ steps.b.outputs.value }}"}
  - id: d
    uses: echo
    with: {value: "{{ inputs.name }}"}
""",
        "inputs:\n  n: {type: integer, default: 41}\n  name: {type: string, default: '2024'}\n",
    )
    state = engine.run(workflow, {"n": 41, "name": "2024"})
    assert state.status == "succeeded"
    assert [args["value"] for _, args in actions.calls] == [41, 42, "name-42", "2024"]


def test_if_skips_and_for_each_collects(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    workflow = _workflow(
        tmp_path,
        """  - id: never
    uses: echo
    if: "{{ 1 > 2 }}"
  - id: each
    uses: echo
    for_each: [a, b, c]
    with: {value: "{{ item }}!"}
  - id: after
    uses: echo
    with: {value: "{{ steps.each.outputs.result | join(',') }} {{ steps.never.status }}"}
""",
    )
    state = engine.run(workflow, {})
    assert state.steps["never"].status == "skipped"
    assert actions.calls[-1][1]["value"] == "a!,b!,c! skipped"
    assert actions.called("echo") == 4


def test_a_failed_for_each_item_is_named(tmp_path: Path, engine: Engine) -> None:
    workflow = _workflow(
        tmp_path,
        """  - id: each
    uses: echo
    for_each: [1, 2, x]
    with: {value: "{{ 10 // item }}"}
""",
    )
    state = engine.run(workflow, {})
    assert state.steps["each"].error == (
        "item 3 of 3 ('x'): in '{{ 10 // item }}': "
        "unsupported operand type(s) for //: 'int' and 'str'"
    )


def test_reading_outputs_of_a_skipped_step_says_it_was_skipped(
    tmp_path: Path, engine: Engine
) -> None:
    workflow = _workflow(
        tmp_path,
        """  - id: a
    uses: echo
    if: "{{ false }}"
  - id: b
    uses: echo
    with: {value: "{{ steps.a.outputs.value }}"}
""",
    )
    state = engine.run(workflow, {})
    assert state.steps["b"].error == (
        "in '{{ steps.a.outputs.value }}': the mapping has no attribute 'value' "
        "(step 'a' skipped: no outputs)"
    )


def test_retry_then_success(tmp_path: Path, engine: Engine, actions: FakeActions) -> None:
    actions.failures["echo"] = 2
    workflow = _workflow(
        tmp_path, "  - id: a\n    uses: echo\n    retry: {attempts: 3, backoff: 1s}\n"
    )
    state = engine.run(workflow, {})
    assert state.status == "succeeded" and state.steps["a"].attempts == 3


def test_retry_gives_up_with_the_error(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    actions.failures["echo"] = 5
    workflow = _workflow(
        tmp_path, "  - id: a\n    uses: echo\n    retry: {attempts: 2}\n  - id: b\n    uses: echo\n"
    )
    state = engine.run(workflow, {})
    assert state.status == "failed"
    assert state.steps["a"].attempts == 2 and "echo failed" in (state.steps["a"].error or "")
    assert state.steps["b"].status == "pending"


class _Permanent(RuntimeError):
    transient = False  # as the client's TLSFailure says of itself


def test_an_error_that_says_it_is_not_transient_is_retried_only_on_any(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    def refuse(args: dict[str, object]) -> dict[str, object]:
        raise _Permanent("certificate verify failed")

    actions.add("echo", refuse)
    retries = "    retry: {attempts: 3, backoff: 1s%s}\n    continue_on_error: true\n"
    workflow = _workflow(
        tmp_path,
        "".join(
            f"  - id: {step_id}\n    uses: echo\n" + retries % on
            for step_id, on in (("a", ""), ("b", ", on: [connection, 5xx]"), ("c", ", on: [any]"))
        ),
    )
    state = engine.run(workflow, {})
    assert [state.steps[s].attempts for s in "abc"] == [1, 1, 3]


def test_timeout(tmp_path: Path, engine: Engine) -> None:
    workflow = _workflow(
        tmp_path, "  - id: a\n    uses: slow\n    timeout: 100ms\n    with: {seconds: 0.5}\n"
    )
    state = engine.run(workflow, {})
    assert state.status == "failed"
    assert "did not finish within 100ms" in (state.steps["a"].error or "")


def test_a_timed_out_wait_stops_polling_and_a_retry_does_not_leave_two_pollers(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    polls: list[tuple[int, float]] = []  # (attempt, time)

    def poll_forever(args: dict[str, Any]) -> dict[str, Any]:
        attempt = actions.called("poll")
        while True:
            polls.append((attempt, time.monotonic()))
            pause(0.01)

    actions.add("poll", poll_forever)
    engine.registry = actions.actions
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: t\nsteps:\n  - id: a\n    uses: poll\n    timeout: 100ms\n"
        "    retry: {attempts: 2, backoff: 1ms}\n"
    )
    workflow = load(tmp_path / "wf.yaml", {**CATALOG, "poll": CATALOG["echo"]})
    state = engine.run(workflow, {})
    assert state.steps["a"].attempts == 2 and "did not finish within 100ms" in (
        state.steps["a"].error or ""
    )
    stopped_at = time.monotonic()
    time.sleep(0.2)
    assert {attempt for attempt, _ in polls} == {1, 2}
    assert not [t for _, t in polls if t > stopped_at + 0.05]  # nobody polls any more


def test_continue_on_error(tmp_path: Path, engine: Engine, actions: FakeActions) -> None:
    actions.failures["create"] = 1
    workflow = _workflow(
        tmp_path,
        "  - id: a\n    uses: create\n    continue_on_error: true\n  - id: b\n    uses: echo\n    with: {value: '{{ steps.a.status }}'}\n",
    )
    state = engine.run(workflow, {})
    assert state.status == "succeeded"
    assert actions.calls[-1] == ("echo", {"value": "failed"})


def test_resume_skips_completed_steps(tmp_path: Path, engine: Engine, actions: FakeActions) -> None:
    steps = """  - id: a
    uses: create
  - id: b
    uses: echo
    with: {value: "{{ steps.a.outputs.dataset_id }}"}
  - id: c
    uses: echo
    with: {value: "{{ steps.b.outputs.value }}-c"}
"""
    actions.failures["echo"] = 1
    workflow = _workflow(tmp_path, steps)
    first = engine.run(workflow, {})
    assert first.status == "failed" and actions.called("create") == 1
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded" and resumed.run_id == first.run_id
    assert actions.called("create") == 1  # not called again
    assert resumed.steps["a"].reused
    assert actions.calls[-1] == ("echo", {"value": "ds-1-c"})


def test_resume_reruns_a_changed_step(tmp_path: Path, engine: Engine, actions: FakeActions) -> None:
    workflow = _workflow(tmp_path, "  - id: a\n    uses: echo\n    with: {value: 1}\n")
    first = engine.run(workflow, {})
    changed = _workflow(tmp_path, "  - id: a\n    uses: echo\n    with: {value: 2}\n")
    engine.run(changed, {}, resume=engine.store.load(first.run_id))
    assert [args["value"] for _, args in actions.calls] == [1, 2]


def test_resume_reruns_a_step_whose_inputs_or_environment_changed(
    tmp_path: Path, engine: Engine, actions: FakeActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGION", "eu")
    workflow = _workflow(
        tmp_path,
        """  - id: a
    uses: echo
    with: {value: "{{ inputs.n }}-{{ env.REGION }}"}
  - id: b
    uses: echo
    with: {value: b}
""",
        "inputs:\n  n: {type: integer, default: 1}\n",
    )
    first = engine.run(workflow, {"n": 1})

    def resume(inputs: dict[str, Any]) -> None:
        engine.run(workflow, inputs, resume=engine.store.load(first.run_id))

    resume({"n": 1})  # nothing changed: nothing runs
    resume({"n": 2})
    monkeypatch.setenv("REGION", "us")
    resume({"n": 2})
    monkeypatch.setenv("UNREAD", "x")
    resume({"n": 2})
    values = [args["value"] for _, args in actions.calls]
    assert values == ["1-eu", "b", "2-eu", "b", "2-us", "b"]


def test_resume_leaves_secrets_out_of_the_step_digest(
    tmp_path: Path, engine: Engine, actions: FakeActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_KEY", "first-secret-value")
    workflow = _workflow(  # create: its outputs do not hold the secret it was given
        tmp_path,
        '  - id: a\n    uses: create\n    with: {value: "{{ secrets.API_KEY }}{{ inputs.pin }}"}\n',
        "inputs:\n  pin: {type: string, secret: true}\n",
    )
    first = engine.run(workflow, {"pin": "12"})  # too short for the masker, secret all the same
    monkeypatch.setenv("API_KEY", "second-secret-value")
    engine.run(workflow, {"pin": "34"}, resume=engine.store.load(first.run_id))
    assert len(actions.calls) == 1  # a changed secret alone does not run a step again
    saved = next((tmp_path / "state" / "runs").glob("*/state.json")).read_text()
    digest = json.loads(saved)["steps"]["a"]["digest"]
    assert digest == workflow.step_digests["a"]  # the definition only, no trace of the value
    assert "secret-value" not in saved


def test_later_steps_read_secrets_in_outputs_unmasked_and_resume_runs_such_a_step_again(
    tmp_path: Path, engine: Engine, actions: FakeActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Masking is for what is shown and stored: step b must get the value itself,
    also on --resume, where a's recorded outputs hold only ***."""
    monkeypatch.setenv("API_KEY", "the-secret-value")
    workflow = _workflow(
        tmp_path,
        '  - id: a\n    uses: echo\n    with: {value: "key={{ secrets.API_KEY }}"}\n'
        '  - id: b\n    uses: echo\n    with: {value: "{{ steps.a.outputs.value }}"}\n',
    )
    first = engine.run(workflow, {})
    assert actions.calls[1] == ("echo", {"value": "key=the-secret-value"})
    assert first.steps["a"].outputs["value"] == "key=***" and first.steps["a"].masked
    actions.calls.clear()
    engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert actions.calls[:2] == [
        ("echo", {"value": "key=the-secret-value"}),
        ("echo", {"value": "key=the-secret-value"}),
    ]
    assert (
        "the-secret-value"
        not in next((tmp_path / "state" / "runs").glob("*/state.json")).read_text()
    )


def test_resume_keeps_the_steps_of_the_workflow_as_it_is_now(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    actions.failures["echo"] = 1
    first = engine.run(
        _workflow(tmp_path, "  - id: a\n    uses: create\n  - id: b\n    uses: echo\n"), {}
    )
    assert first.steps["b"].status == "failed"
    renamed = _workflow(tmp_path, "  - id: a\n    uses: create\n  - id: c\n    uses: echo\n")
    resumed = engine.run(renamed, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded"
    assert {i: r.status for i, r in resumed.steps.items()} == {"a": "succeeded", "c": "succeeded"}


def test_latest_run_is_found_by_the_workflow_files_absolute_path(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _workflow(tmp_path, "  - id: a\n    uses: echo\n")
    workflow = load("wf.yaml", CATALOG)  # as given on the command line
    first = engine.run(workflow, {})
    assert engine.store.latest("wf.yaml").run_id == first.run_id
    other = tmp_path / "other"
    other.mkdir()
    (other / "wf.yaml").write_text((tmp_path / "wf.yaml").read_text())
    monkeypatch.chdir(other)  # the same relative name, another file
    with pytest.raises(StateError, match=r"no earlier run of wf\.yaml"):
        engine.store.latest("wf.yaml")


def test_ctrl_c_saves_state(tmp_path: Path, engine: Engine) -> None:
    workflow = _workflow(tmp_path, "  - id: a\n    uses: echo\n  - id: b\n    uses: interrupt\n")
    with pytest.raises(KeyboardInterrupt):
        engine.run(workflow, {})
    saved = json.loads(next((tmp_path / "state" / "runs").glob("*/state.json")).read_text())
    assert saved["status"] == "interrupted"
    assert saved["steps"]["a"]["status"] == "succeeded"
    assert saved["steps"]["b"]["status"] == "interrupted"


def test_sandbox_escape_fails_clearly(tmp_path: Path, engine: Engine) -> None:
    workflow = _workflow(
        tmp_path,
        "  - id: a\n    uses: echo\n    with: {value: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"}\n",
    )
    state = engine.run(workflow, {})
    assert state.status == "failed"
    assert "unsafe template" in (state.steps["a"].error or "")


def test_a_second_run_of_the_same_state_dir_is_refused(tmp_path: Path) -> None:
    first, second = StateStore(tmp_path), StateStore(tmp_path)
    first.lock()
    try:
        with pytest.raises(StateError, match="another lightly-run is using"):
            second.lock()
    finally:
        first.unlock()
    second.lock()
    second.unlock()


def test_state_is_masked(tmp_path: Path, actions: FakeActions) -> None:
    engine = Engine(
        registry=actions.actions,
        client=None,
        store=StateStore(tmp_path / "s"),
        masker=Masker(["hunter2-secret"]),
        observer=SilentObserver(),
    )
    actions.failures["echo"] = 1
    workflow = _workflow(tmp_path, "  - id: a\n    uses: echo\n    with: {value: hunter2-secret}\n")
    engine.run(workflow, {})
    text = next((tmp_path / "s" / "runs").glob("*/state.json")).read_text()
    assert "hunter2-secret" not in text and "***" in text


@pytest.mark.parametrize("content", ['{"broken', "{}", "[1]", '"text"', '{"steps": {"a": 3}}'])
def test_a_damaged_state_file_is_named_with_what_to_do(tmp_path: Path, content: str) -> None:
    store = StateStore(tmp_path)
    state_file = store.path("20260101-000000-abcdef")
    state_file.parent.mkdir(parents=True)
    state_file.write_text(content)
    with pytest.raises(StateError) as info:
        store.load("20260101-000000-abcdef")
    message = str(info.value)
    assert message.startswith(
        f"the state of run '20260101-000000-abcdef' ({state_file}) is unreadable ("
    )
    assert message.endswith(
        "remove its folder to forget that run, or resume another with --resume RUN_ID"
    )
    assert state_file.read_text() == content  # left as it was


def test_another_workflows_damaged_state_does_not_block_resuming_this_one(
    tmp_path: Path, engine: Engine
) -> None:
    workflow = _workflow(tmp_path, "  - id: a\n    uses: echo\n    with: {value: 1}\n")
    state = engine.run(workflow, {})
    store = engine.store
    broken, ours_damaged = (
        store.path("20990101-000000-aaaaaa"),
        store.path("20990101-000000-bbbbbb"),
    )
    broken.parent.mkdir(parents=True)
    broken.write_text('{"broken')  # newest, unreadable, of no telling which file
    assert store.latest(workflow.path).run_id == state.run_id
    assert store.latest(str(workflow.path)).run_id == state.run_id

    # the newest run of this very file is damaged: that is said, not an older one resumed
    ours_damaged.parent.mkdir(parents=True)
    ours_damaged.write_text(json.dumps({"workflow_path": str(workflow.path)}))
    with pytest.raises(StateError, match="20990101-000000-bbbbbb"):
        store.latest(workflow.path)
    with pytest.raises(StateError, match=r"to resume \(2 unreadable: "):
        store.latest(str(tmp_path / "other.yaml"))


def test_rendered_arguments_that_do_not_fit_the_action_fail_the_step_before_the_call(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    typed = {"type": "object", "properties": {"value": {"type": "integer"}}}
    actions.actions["echo"] = dataclasses.replace(actions.actions["echo"], params_schema=typed)
    workflow = _workflow(
        tmp_path,
        '  - id: a\n    uses: echo\n    with: {value: "{{ inputs.n }}"}\n'
        "    retry: {attempts: 3}\n",
        "inputs:\n  n: {type: string, default: '8'}\n",
    )
    state = engine.run(workflow, {"n": "8"})
    assert state.steps["a"].error == (
        "argument value, as rendered: '8' is not of type 'integer' "
        "(a template gives text: add | int to it)"
    )
    assert actions.calls == [] and state.steps["a"].attempts == 0  # not called, not retried


def test_for_each_takes_a_range_or_a_tuple(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    workflow = _workflow(
        tmp_path,
        '  - id: a\n    uses: echo\n    for_each: "{{ range(3) }}"\n'
        '    with: {value: "{{ item }}"}\n',
    )
    state = engine.run(workflow, {})
    assert state.status == "succeeded" and state.steps["a"].outputs["result"] == [0, 1, 2]


def test_a_for_each_item_shown_in_an_error_is_masked_before_it_is_cut(
    tmp_path: Path, engine: Engine, actions: FakeActions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", "tok-abcdefghijklmnop")
    engine.masker.add("tok-abcdefghijklmnop")
    actions.failures["echo"] = 1
    workflow = _workflow(
        tmp_path,
        "  - id: a\n    uses: echo\n"
        "    for_each: [\"{{ 'x' * 60 ~ secrets.API_TOKEN }}\"]\n"
        '    with: {value: "{{ item }}"}\n',
    )
    state = engine.run(workflow, {})
    error = state.steps["a"].error or ""
    assert error.startswith("item 1 of 1 ('" + "x" * 60 + "***')")
    assert "tok-abc" not in error


def test_resume_runs_again_the_step_whose_output_a_failed_step_used_up(
    tmp_path: Path, engine: Engine, actions: FakeActions
) -> None:
    """A worker run that ended FAILED: waiting on it again would fail again, so --resume
    schedules anew (the scheduling step runs again) and then waits on the new run."""

    class RunEnded(Exception):
        spends_inputs = True

    scheduled: list[str] = []

    def schedule(args: dict[str, object]) -> dict[str, object]:
        scheduled.append(f"run-{len(scheduled) + 1}")
        return {"result": scheduled[-1]}

    def wait(args: dict[str, object]) -> dict[str, object]:
        if args["value"] == "run-1":
            raise RunEnded("run-1 ended FAILED")
        return {"result": "COMPLETED"}

    actions.add("schedule", schedule)
    actions.add("wait", wait)
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: test\nsteps:\n"
        "  - id: make\n    uses: create\n"
        "  - id: sched\n    uses: schedule\n"
        '  - id: wait\n    uses: wait\n    with: {value: "{{ steps.sched.outputs.result }}"}\n'
    )
    workflow = load(tmp_path / "wf.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.steps["wait"].status == "failed" and first.steps["wait"].spent_inputs
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded" and scheduled == ["run-1", "run-2"]
    assert resumed.steps["make"].reused and not resumed.steps["sched"].reused


class _Worker:
    """Worker runs in memory: each scheduled run ends at once, FAILED while the input
    folder is empty, COMPLETED once it holds images."""

    def __init__(self) -> None:
        self.images = 0
        self.ended: dict[str, str] = {}

    def schedule(self, args: dict[str, object]) -> dict[str, object]:
        scheduled_run_id = f"sched-{len(self.ended) + 1}"
        self.ended[scheduled_run_id] = "COMPLETED" if self.images else "FAILED"
        return {"result": scheduled_run_id}

    def get_compute_worker_run_info(self, scheduled_run_id: str) -> ComputeWorkerRunInfo:
        state = self.ended[scheduled_run_id]
        return ComputeWorkerRunInfo(state, "no images" if state == "FAILED" else "")

    def get_compute_worker_run_from_scheduled_run(self, scheduled_run_id: str) -> dict[str, str]:
        return {"id": f"run-of-{scheduled_run_id}"}

    def get_compute_worker_run_tags(self, run_id: str) -> list[dict[str, str]]:
        return []


def _worker_engine(tmp_path: Path, actions: FakeActions) -> tuple[_Worker, Engine]:
    """An engine whose ``schedule`` and native wait, assert and run_workflow use ``_Worker``."""
    worker = _Worker()
    actions.add("schedule", worker.schedule)
    wanted = ("wait_compute_worker_run", "assert", "run_workflow")
    actions.actions.update({a.name: a for a in native_actions() if a.name in wanted})
    engine = Engine(
        registry=actions.actions,
        client=worker,
        store=StateStore(tmp_path / "state"),
        masker=Masker(),
        observer=SilentObserver(),
    )
    return worker, engine


def test_resume_schedules_anew_when_a_wait_allowed_the_runs_failure_and_an_assert_failed(
    tmp_path: Path, actions: FakeActions
) -> None:
    """The README's pattern: wait with allow_failure, then assert on outputs.succeeded. The
    wait succeeded, but the run it waited on ended FAILED: waiting on it again gives the
    same answer, so --resume schedules anew (and waits and asserts again)."""
    worker, engine = _worker_engine(tmp_path, actions)
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: test\nsteps:\n"
        "  - id: make\n    uses: create\n"
        "  - id: run\n    uses: schedule\n"
        "  - id: wait\n    uses: wait_compute_worker_run\n"
        "    with:\n"
        '      scheduled_run_id: "{{ steps.run.outputs.result }}"\n'
        "      allow_failure: true\n"
        "  - id: check\n    uses: assert\n"
        "    with:\n"
        '      that: "{{ steps.wait.outputs.succeeded }}"\n'
        '      message: "selection {{ steps.wait.outputs.state }}"\n'
    )
    workflow = load(tmp_path / "wf.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.status == "failed" and first.steps["check"].error == "selection FAILED"
    assert first.steps["wait"].status == "succeeded"

    worker.images = 10  # the folder is filled; the run is resumed
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded", resumed.steps["check"].error
    assert list(worker.ended) == ["sched-1", "sched-2"]
    assert resumed.steps["make"].reused and actions.called("create") == 1
    assert not resumed.steps["run"].reused and not resumed.steps["wait"].reused
    assert resumed.steps["wait"].outputs["state"] == "COMPLETED"
    assert not resumed.steps["wait"].spent_inputs

    again = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert all(record.reused for record in again.steps.values())  # nothing used up now
    assert list(worker.ended) == ["sched-1", "sched-2"]


def test_resume_calls_a_file_again_whose_wait_allowed_its_runs_failure(
    tmp_path: Path, actions: FakeActions
) -> None:
    """The same pattern with the scheduling and the wait in a called file: the call
    succeeded, yet what it waited on is used up, so --resume calls the file again."""
    worker, engine = _worker_engine(tmp_path, actions)
    (tmp_path / "select.yaml").write_text(
        "version: 1\nname: select\nsteps:\n"
        "  - id: run\n    uses: schedule\n"
        "  - id: wait\n    uses: wait_compute_worker_run\n"
        "    with:\n"
        '      scheduled_run_id: "{{ steps.run.outputs.result }}"\n'
        "      allow_failure: true\n"
    )
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: test\nsteps:\n"
        "  - id: make\n    uses: create\n"
        "  - id: call\n    uses: run_workflow\n    with: {path: select.yaml}\n"
        "  - id: check\n    uses: assert\n"
        '    with: {that: "{{ steps.call.outputs.steps.wait.succeeded }}"}\n'
    )
    workflow = load(tmp_path / "wf.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.status == "failed" and first.steps["call"].status == "succeeded"

    worker.images = 10
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded", resumed.steps["check"].error
    assert resumed.steps["make"].reused and not resumed.steps["call"].reused
    assert list(worker.ended) == ["sched-1", "sched-2"]
    again = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert all(record.reused for record in again.steps.values())


@pytest.mark.parametrize("allow_failure", [True, False])
def test_resume_schedules_anew_when_a_called_file_waited_on_the_callers_run(
    tmp_path: Path, actions: FakeActions, allow_failure: bool
) -> None:
    """The caller schedules, the called file waits (failing, or allowing the failure):
    the caller's scheduling step runs again on --resume."""
    worker, engine = _worker_engine(tmp_path, actions)
    (tmp_path / "wait.yaml").write_text(
        "version: 1\nname: wait\ninputs:\n  id: {type: string}\nsteps:\n"
        "  - id: wait\n    uses: wait_compute_worker_run\n"
        f"    with: {{scheduled_run_id: '{{{{ inputs.id }}}}', allow_failure: {str(allow_failure).lower()}}}\n"
    )
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: test\nsteps:\n"
        "  - id: run\n    uses: schedule\n"
        "  - id: call\n    uses: run_workflow\n"
        '    with: {path: wait.yaml, inputs: {id: "{{ steps.run.outputs.result }}"}}\n'
        "  - id: check\n    uses: assert\n"
        '    with: {that: "{{ steps.call.outputs.steps.wait.succeeded }}"}\n'
    )
    workflow = load(tmp_path / "wf.yaml", catalog_of(actions.actions))
    first = engine.run(workflow, {})
    assert first.status == "failed"
    worker.images = 10
    resumed = engine.run(workflow, {}, resume=engine.store.load(first.run_id))
    assert resumed.status == "succeeded"
    assert list(worker.ended) == ["sched-1", "sched-2"]


@pytest.mark.parametrize(
    "value",
    [
        "target={{ env.get('TARGET_BUCKET', 'none') }}",
        "target={{ env['TARGET_BUCKET'] }}",
        "target={{ env.get(inputs.variable, 'none') }}",  # a computed name: all of env
    ],
)
def test_resume_reruns_a_step_whose_environment_variable_read_by_get_changed(
    tmp_path: Path,
    engine: Engine,
    actions: FakeActions,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
) -> None:
    monkeypatch.setenv("TARGET_BUCKET", "prod")
    workflow = _workflow(
        tmp_path,
        f'  - id: a\n    uses: echo\n    with: {{value: "{value}"}}\n',
        "inputs:\n  variable: {type: string, default: TARGET_BUCKET}\n",
    )
    first = engine.run(workflow, {"variable": "TARGET_BUCKET"})

    def resume() -> Any:
        return engine.run(
            workflow, {"variable": "TARGET_BUCKET"}, resume=engine.store.load(first.run_id)
        )

    assert resume().steps["a"].reused  # nothing changed
    monkeypatch.setenv("TARGET_BUCKET", "staging")
    resumed = resume()
    assert not resumed.steps["a"].reused
    assert [args["value"] for _, args in actions.calls] == ["target=prod", "target=staging"]
