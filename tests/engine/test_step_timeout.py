"""A client operation whose step times out stops at its next request: a retry of the
step never uploads alongside it, and no later step runs beside it."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import responses
from PIL import Image

from runner.actions.registry import catalog_of, registry
from runner.client import ApiWorkflowClient, RetryPolicy
from runner.engine.events import SilentObserver
from runner.engine.executor import Engine
from runner.engine.secrets import Masker
from runner.engine.state import StateStore
from runner.workflow.loader import load

SERVER = "https://api.test"
D = f"/v1/datasets/{'a' * 24}"

WORKFLOW = """version: 1
name: slow-upload
steps:
  - id: up
    uses: upload_dataset
    timeout: 300ms
    retry: {attempts: 2, backoff: 10ms, on: [any]}
    with: {input: "%s", max_workers: 2}
"""


def test_a_timed_out_upload_stops_and_its_retry_runs_alone(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i in range(200):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(images / f"{i:03d}.jpg")
    running = 0
    most_at_once = 0
    created = 0
    lock = threading.Lock()

    def create(request: Any) -> tuple[int, dict[str, str], str]:
        nonlocal running, most_at_once, created
        with lock:
            running += 1
            created += 1
            most_at_once = max(most_at_once, running)
            sample = f"{created:024x}"
        time.sleep(0.05)  # a slow platform: 200 images take far longer than the timeout
        with lock:
            running -= 1
        urls = {"thumb": f"https://blobs.test/{sample}?sig=1"}
        return (
            201,
            {"Content-Type": "application/json"},
            json.dumps({"id": sample, "sampleWriteUrls": urls}),
        )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(f"{SERVER}{D}/tags", json=[])
        mocked.get(f"{SERVER}{D}/samples/partial", json=[])
        mocked.get(f"{SERVER}/v1/quota", json="25000")
        mocked.get(f"{SERVER}{D}/datasource", status=404, json={"code": "X", "error": "x"})
        mocked.put(f"{SERVER}{D}/registerDatasetUpload", body="")
        mocked.add_callback("POST", f"{SERVER}{D}/samples/withWriteUrls", callback=create)
        mocked.add(responses.PUT, url=re.compile(r"https://blobs\.test/.*"))

        client = ApiWorkflowClient(
            token="tok", dataset_id="a" * 24, server_location=SERVER, retry=RetryPolicy(1)
        )
        (tmp_path / "wf.yaml").write_text(WORKFLOW % images)
        actions = registry()
        engine = Engine(
            registry=actions,
            client=client,
            store=StateStore(tmp_path / "state"),
            masker=Masker(),
            observer=SilentObserver(),
        )
        state = engine.run(load(tmp_path / "wf.yaml", catalog_of(actions)), {})
        after_run = created
        time.sleep(0.3)  # were anything still uploading, it would create more samples

    assert state.steps["up"].status == "failed" and state.steps["up"].attempts == 2
    assert "did not finish within 300ms" in (state.steps["up"].error or "")
    assert created == after_run < 200  # both attempts stopped, and stayed stopped
    assert most_at_once <= 2  # max_workers: the retry never ran beside the first attempt


def test_ctrl_c_during_a_timed_step_stops_its_work_before_the_run_ends(tmp_path: Path) -> None:
    import _thread

    import pytest

    from runner.actions.registry import StepCancelled, pause
    from tests.fakes import FakeActions

    seen: list[str] = []

    def busy(args: dict[str, Any]) -> dict[str, Any]:
        _thread.interrupt_main()  # Ctrl-C, while the engine waits for this step
        try:
            while True:
                pause(0.01)  # as a client operation between requests
        except StepCancelled:
            seen.append("stopped")
            raise

    fakes = FakeActions()
    fakes.add("echo", busy)
    (tmp_path / "wf.yaml").write_text(
        "version: 1\nname: t\nsteps:\n  - id: a\n    uses: echo\n    timeout: 1m\n"
    )
    engine = Engine(
        registry=fakes.actions,
        client=None,
        store=StateStore(tmp_path / "state"),
        masker=Masker(),
        observer=SilentObserver(),
    )
    with pytest.raises(KeyboardInterrupt):
        engine.run(load(tmp_path / "wf.yaml", catalog_of(fakes.actions)), {})
    assert seen == ["stopped"]  # before the run ended, not when the process exits
