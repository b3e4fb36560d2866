"""Predictions on the wire: task schemas, per-sample singletons, parallel uploads, version ids."""

from __future__ import annotations

import contextlib
import json
import threading
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import responses

from runner.client import ApiWorkflowClient, BadRequest
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
VERSION = 1_700_000_000
SCHEMA = {
    "name": "det",
    "type": "OBJECT_DETECTION",
    "categories": [{"id": 0, "name": "dog"}, {"id": 1, "name": "cat"}],
}


def singleton(i: int) -> dict[str, Any]:
    return {
        "type": "OBJECT_DETECTION",
        "taskName": "det",
        "categoryId": i % 2,
        "score": 0.5,
        "bbox": [i, i, 10, 10],
    }


class FakeModel:
    """Stands in for an official pydantic model: ``to_dict(by_alias=True)`` gives wire keys."""

    def __init__(self, wire: dict[str, Any]) -> None:
        self._wire = wire

    def to_dict(self, by_alias: bool = False) -> dict[str, Any]:
        assert by_alias, "wire keys are needed"
        return dict(self._wire)


@covers("create_or_update_prediction_task_schema")
def test_task_schema(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.add("POST", f"{SERVER}{D}/predictions/tasks", json={"id": "c" * 24}, status=201)
    assert client.create_or_update_prediction_task_schema(SCHEMA, VERSION) is None
    client.create_or_update_prediction_task_schema(FakeModel(SCHEMA), prediction_version_id=0)  # type: ignore[arg-type]
    for call, version in zip(mocked.calls, (VERSION, 0), strict=True):
        assert_call(
            call,
            "POST",
            f"{D}/predictions/tasks",
            [("predictionUUIDTimestamp", str(version))],
            SCHEMA,
        )


@covers("create_or_update_prediction")
def test_prediction_of_one_sample(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    sample = "d" * 24
    path = f"{D}/predictions/samples/{sample}"
    mocked.add("POST", SERVER + path, json={"id": "c" * 24}, status=201)
    singletons = [singleton(0), FakeModel(singleton(1))]
    client.create_or_update_prediction(sample, singletons, np.int64(VERSION))  # type: ignore[arg-type]
    assert_call(
        mocked.calls[0],
        "POST",
        path,
        [("predictionUUIDTimestamp", str(VERSION))],
        [singleton(0), singleton(1)],
    )


def test_fields_set_to_none_are_left_out(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """No prediction field is nullable (MODELS.md): the official models omit None ones."""
    sample = "d" * 24
    mocked.add("POST", f"{SERVER}{D}/predictions/tasks", json={"id": "c" * 24}, status=201)
    mocked.add("POST", f"{SERVER}{D}/predictions/samples/{sample}", json={}, status=201)
    category = {"id": 0, "name": "cat", "extra": None}
    client.create_or_update_prediction_task_schema({**SCHEMA, "categories": [category]}, 1)
    client.create_or_update_prediction(
        sample, [{**singleton(0), "probabilities": None, "crop_sample_id": None}], 1
    )
    schema_sent, prediction_sent = (json.loads(call.request.body) for call in mocked.calls)
    assert schema_sent == {**SCHEMA, "categories": [{"id": 0, "name": "cat"}]}
    assert prediction_sent == [singleton(0)]


def test_snake_case_keys_of_a_prediction_are_sent_as_wire_names(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """Like the official models' attribute names (task_name): the server would read the
    prediction as having no taskName."""
    sample = "d" * 24
    path = f"{D}/predictions/samples/{sample}"
    mocked.add("POST", SERVER + path, json={"id": "c" * 24}, status=201)
    snake = {"type": "OBJECT_DETECTION", "task_name": "det", "category_id": 0, "score": 0.5}
    client.create_or_update_prediction(sample, [{**snake, "bbox": [0, 0, 10, 10]}], VERSION)
    assert_call(
        mocked.calls[0],
        "POST",
        path,
        [("predictionUUIDTimestamp", str(VERSION))],
        [singleton(0)],
    )


@covers("create_or_update_predictions")
def test_predictions_of_many_samples_in_parallel(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    samples = {f"{i:024x}": [singleton(i)] for i in range(40)}
    threads: set[str] = set()
    lock = threading.Lock()
    waiting = [0]
    two_at_once = threading.Barrier(2, timeout=10)  # broken unless two uploads overlap

    def record(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            threads.add(threading.current_thread().name)
            waiting[0] += 1
            first_two = waiting[0] <= 2
        if first_two:
            with contextlib.suppress(threading.BrokenBarrierError):
                two_at_once.wait()
        return 201, {}, json.dumps({"id": "c" * 24})

    for sample in samples:
        mocked.add_callback("POST", f"{SERVER}{D}/predictions/samples/{sample}", callback=record)

    class Bar:
        n = 0

        def update(self, k: int) -> None:
            self.n += k

    bar = Bar()
    client.create_or_update_predictions(samples, VERSION, progress_bar=bar, max_workers=4)
    assert bar.n == 40
    assert 1 < len(threads) <= 4 and not two_at_once.broken
    sent = {}
    for call in mocked.calls:
        sample = urlsplit(call.request.url).path.rsplit("/", 1)[1]
        assert_call(
            call,
            "POST",
            f"{D}/predictions/samples/{sample}",
            [("predictionUUIDTimestamp", str(VERSION))],
        )
        sent[sample] = json.loads(call.request.body)
    assert sent == samples


def test_no_predictions_no_requests(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    client.create_or_update_predictions({}, VERSION)
    assert not mocked.calls


@pytest.mark.parametrize("version", [-1, -5, 1.5, True, "3", None])
def test_invalid_version_is_refused_before_any_request(
    version: Any, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match=r"^prediction_version_id must be an integer >= 0"):
        client.create_or_update_prediction_task_schema(SCHEMA, version)
    with pytest.raises(ValueError, match=r"^prediction_version_id"):
        client.create_or_update_prediction("d" * 24, [singleton(0)], version)
    with pytest.raises(ValueError, match=r"^prediction_version_id"):
        client.create_or_update_predictions({"d" * 24: [singleton(0)]}, version)
    assert not mocked.calls


def test_default_version_is_kept_but_refused(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """CONTRACT §10.2: the -1 default of 1.4.10 stays in the signature and never reaches the wire."""
    with pytest.raises(ValueError, match="not -1"):
        client.create_or_update_prediction("d" * 24, [singleton(0)])
    assert not mocked.calls


def test_server_refusal_is_raised(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    sample = "d" * 24
    mocked.add(
        "POST",
        f"{SERVER}{D}/predictions/samples/{sample}",
        json={"code": "PREDICTION_TASK_SCHEMA_UNKNOWN", "error": "no schema"},
        status=400,
    )
    with pytest.raises(BadRequest, match="PREDICTION_TASK_SCHEMA_UNKNOWN") as caught:
        client.create_or_update_predictions({sample: [singleton(0)]}, VERSION)
    assert caught.value.status == 400
    assert len(mocked.calls) == 1


def test_predictions_and_schemas_replace_so_a_transient_failure_is_retried(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """On a flaky link, 1 in 10 failing stopped the upload of many samples at the first."""
    sample = "d" * 24
    for path in (f"{D}/predictions/tasks", f"{D}/predictions/samples/{sample}"):
        mocked.add("POST", SERVER + path, status=503, body="busy")
        mocked.add("POST", SERVER + path, status=201, json={"id": "c" * 24})
    client.create_or_update_prediction_task_schema(SCHEMA, VERSION)
    client.create_or_update_predictions({sample: [singleton(0)]}, VERSION)
    assert [c.response.status_code for c in mocked.calls] == [503, 201, 503, 201]
