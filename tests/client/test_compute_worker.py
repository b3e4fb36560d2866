"""Lightly Worker operations on the wire: registry, configs, scheduling, runs, run info."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from runner.client import (
    ApiWorkflowClient,
    ComputeWorkerRunInfo,
    InvalidConfigurationError,
    NotFound,
    selection_config_from_dict,
)
from runner.client import compute_worker as compute_worker_module
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
WORKER, CONFIG, SCHEDULED, RUN = "b" * 24, "c" * 24, "d" * 24, "e" * 24
WAITING = (
    "Waiting for pickup by Lightly Worker. Make sure to start a Lightly Worker connected to "
    "your user token to process the job."
)
SELECTION = {
    "n_samples": 10,
    "strategies": [
        {
            "input": {"type": "RANDOM", "random_seed": 42},
            "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 0.1},
        },
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "THRESHOLD", "threshold": 20, "operation": "BIGGER"},
        },
    ],
}
SELECTION_WIRE = {
    "nSamples": 10,
    "strategies": [
        {
            "input": {"type": "RANDOM", "randomSeed": 42},
            "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 0.1},
        },
        {
            "input": {"type": "METADATA", "key": "lightly.sharpness"},
            "strategy": {"type": "THRESHOLD", "threshold": 20, "operation": "BIGGER"},
        },
    ],
}


def answer(
    mocked: responses.RequestsMock, method: str, path: str, body: Any, status: int = 200
) -> None:
    mocked.add(method, SERVER + path, json=body, status=status)


def not_found(mocked: responses.RequestsMock, method: str, path: str) -> None:
    answer(mocked, method, path, {"code": "NOT_FOUND", "error": "no such thing"}, 404)


@covers("register_compute_worker")
def test_register_defaults(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    answer(mocked, "POST", "/v1/docker/worker", {"id": WORKER}, 201)
    assert client.register_compute_worker() == WORKER
    body = {"name": "Default", "workerType": "FULL", "labels": [], "creator": "USER_PIP"}
    assert_call(mocked.calls[0], "POST", "/v1/docker/worker", body=body)


@covers("get_compute_worker_ids", "get_compute_workers")
def test_worker_listing(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    workers = [
        {"id": WORKER, "name": "a", "state": "IDLE", "labels": ["gpu"]},
        {"id": "f" * 24, "name": "b", "state": "OFFLINE", "labels": []},
    ]
    answer(mocked, "GET", "/v1/docker/worker", workers)
    assert client.get_compute_worker_ids() == [WORKER, "f" * 24]
    listed = client.get_compute_workers()
    assert listed == workers and listed[0].labels == ["gpu"]
    for call in mocked.calls:
        assert_call(call, "GET", "/v1/docker/worker")


@covers("delete_compute_worker")
def test_delete_worker(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    answer(mocked, "DELETE", f"/v1/docker/worker/{WORKER}", None)
    assert client.delete_compute_worker(WORKER) is None
    assert_call(mocked.calls[0], "DELETE", f"/v1/docker/worker/{WORKER}")
    not_found(mocked, "DELETE", "/v1/docker/worker/x%2Fy")
    with pytest.raises(NotFound) as caught:
        client.delete_compute_worker("x/y")
    assert caught.value.status == 404 and caught.value.path == "/v1/docker/worker/x%2Fy"


@covers("create_compute_worker_config")
def test_config_keys_are_camel_cased_recursively(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "POST", "/v1/docker/worker/config/v3", {"id": CONFIG}, 201)
    config_id = client.create_compute_worker_config(
        worker_config={
            "enable_training": True,
            "datasource": {"process_all": True, "bypassVerify": False},
            "training": {"task_name": "det"},
        },
        lightly_config={
            "loader": {"batch_size": 16, "num_workers": -1},
            "model": {"name": "resnet-18", "out_dim": 128},
            "collate": {"rr_degrees": [-10, 10], "input_size": 64},
            "seed": 1,
        },
        selection_config=SELECTION,
    )
    assert config_id == CONFIG
    body = {
        "config": {
            "workerType": "FULL",
            "docker": {
                "enableTraining": True,
                "datasource": {"processAll": True, "bypassVerify": False},
                "training": {"taskName": "det"},
            },
            "lightly": {
                "loader": {"batchSize": 16, "numWorkers": -1},
                "model": {"name": "resnet-18", "outDim": 128},
                "collate": {"rrDegrees": [-10, 10], "inputSize": 64},
                "seed": 1,
            },
            "selection": SELECTION_WIRE,
        },
        "creator": "USER_PIP",
    }
    assert_call(mocked.calls[0], "POST", "/v1/docker/worker/config/v3", body=body)


def test_config_options_set_to_none_are_left_out_unless_nullable(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """As the official models send them (CONTRACT §2.3): only rrDegrees may be null."""
    answer(mocked, "POST", "/v1/docker/worker/config/v3", {"id": CONFIG}, 201)
    strategy = {"type": "DIVERSITY", "stopping_condition_minimum_distance": None}
    client.create_compute_worker_config(
        worker_config={"enable_training": None, "datasource": {"process_all": None}},
        lightly_config={"seed": None, "collate": {"rr_degrees": None}},
        selection_config={
            "n_samples": 5,
            "proportion_samples": None,
            "strategies": [{"input": {"type": "EMBEDDINGS", "task": None}, "strategy": strategy}],
        },
    )
    config = json.loads(mocked.calls[0].request.body)["config"]
    assert config["docker"] == {"datasource": {}}
    assert config["lightly"] == {"collate": {"rrDegrees": None}}
    assert config["selection"] == {
        "nSamples": 5,
        "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
    }


def test_empty_config_sends_only_the_worker_type(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "POST", "/v1/docker/worker/config/v3", {"id": CONFIG}, 201)
    client.create_compute_worker_config()
    body = {"config": {"workerType": "FULL"}, "creator": "USER_PIP"}
    assert_call(mocked.calls[0], "POST", "/v1/docker/worker/config/v3", body=body)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"worker_config": {"enable_trainig": True}},
            "Option 'enable_trainig' does not exist! Did you mean 'enable_training'?",
        ),
        (
            {"worker_config": {"corruptness_check": {"corruption_treshold": 0.1}}},
            "Option 'corruption_treshold' does not exist! Did you mean 'corruption_threshold'?",
        ),
        (
            {"worker_config": {"enableTrainig": True}},  # camelCase: suggested so
            "Option 'enableTrainig' does not exist! Did you mean 'enableTraining'?",
        ),
        (
            {"lightly_config": {"loader": {"batchsize": 4}}},
            "Option 'batchsize' does not exist! Did you mean 'batch_size'?",
        ),
        (
            {"lightly_config": {"trainer": {"max_epoch": 4}}},
            "Option 'max_epoch' does not exist! Did you mean 'max_epochs'?",
        ),
        (
            {"selection_config": {"n_sample": 4, "strategies": []}},
            "Option 'n_sample' does not exist! Did you mean 'n_samples'?",
        ),
        (
            {
                "selection_config": {
                    "strategies": [
                        {
                            "input": {"type": "RANDOM", "random_sed": 1},
                            "strategy": {"type": "WEIGHTS"},
                        }
                    ]
                }
            },
            "Option 'random_sed' does not exist! Did you mean 'random_seed'?",
        ),
        (
            {
                "selection_config": {
                    "strategies": [
                        {
                            "input": {"type": "EMBEDDINGS"},
                            "strategy": {"type": "DIVERSITY"},
                            "strategi": {},
                        }
                    ]
                }
            },
            "Option 'strategi' does not exist! Did you mean 'strategy'?",
        ),
    ],
)
def test_unknown_keys_are_refused_before_any_request(
    kwargs: dict[str, Any],
    message: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    with pytest.raises(InvalidConfigurationError) as caught:
        client.schedule_compute_worker_run(**kwargs)
    assert str(caught.value) == message
    assert isinstance(caught.value, RuntimeError)
    assert not mocked.calls


@pytest.mark.parametrize(
    ("cfg", "fragment"),
    [
        ({"n_samples": 1}, "non-empty list 'strategies'"),
        ({"strategies": [{"input": {"type": "EMBEDDINGS"}}]}, "'strategy' mapping"),
        (
            {"strategies": [{"input": {"type": "EMBEDING"}, "strategy": {"type": "DIVERSITY"}}]},
            "strategies[0].input.type must be one of",
        ),
        (
            {"strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSE"}}]},
            "strategies[0].strategy.type must be one of",
        ),
        ({"strategies": ["EMBEDDINGS"]}, "strategies[0] must be a mapping"),
        (None, "selection_config must be a mapping of options, not NoneType"),
        ([1], "selection_config must be a mapping of options, not list"),
    ],
)
def test_selection_config_shape_errors(cfg: Any, fragment: str) -> None:
    with pytest.raises(InvalidConfigurationError) as caught:
        selection_config_from_dict(cfg)
    assert fragment in str(caught.value)


def test_selection_config_accepts_camel_case_and_keeps_snake_distance() -> None:
    camel = {
        "proportionSamples": 0.5,
        "strategies": [
            {
                "input": {"type": "SCORES", "task": "det", "score": "uncertainty_margin"},
                "strategy": {"type": "WEIGHTS"},
            },
            {
                "input": {"type": "EMBEDDINGS", "datasetId": "f" * 24, "tag_name": "seed-tag"},
                "strategy": {"type": "SIMILARITY", "stopping_condition_minimum_distance": 0.2},
            },
        ],
    }
    wire = selection_config_from_dict(camel)
    assert wire["proportionSamples"] == 0.5
    assert wire["strategies"][1]["input"] == {
        "type": "EMBEDDINGS",
        "datasetId": "f" * 24,
        "tagName": "seed-tag",
    }
    assert wire["strategies"][1]["strategy"]["stopping_condition_minimum_distance"] == 0.2
    # read like the official SelectionConfig
    assert wire.proportion_samples == 0.5 and wire.n_samples is None
    assert wire.strategies[1].input.tag_name == "seed-tag"


@pytest.mark.parametrize("argument", ["worker_config", "lightly_config"])
@pytest.mark.parametrize("value", [[1], "enable_training"])
def test_a_config_that_is_no_mapping_is_refused_before_any_request(
    argument: str, value: object, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(
        InvalidConfigurationError,
        match=f"^{argument} must be a mapping of options, not {type(value).__name__}$",
    ):
        client.schedule_compute_worker_run(**{argument: value})
    assert not mocked.calls


@covers("schedule_compute_worker_run")
def test_schedule_defaults(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    answer(mocked, "POST", "/v1/docker/worker/config/v3", {"id": CONFIG}, 201)
    answer(mocked, "POST", f"{D}/docker/worker/schedule", {"id": SCHEDULED}, 201)
    assert client.schedule_compute_worker_run(worker_config={"pretagging": False}) == SCHEDULED
    assert_call(
        mocked.calls[0],
        "POST",
        "/v1/docker/worker/config/v3",
        body={
            "config": {"workerType": "FULL", "docker": {"pretagging": False}},
            "creator": "USER_PIP",
        },
    )
    assert_call(
        mocked.calls[1],
        "POST",
        f"{D}/docker/worker/schedule",
        body={"configId": CONFIG, "priority": "MID", "runsOn": [], "creator": "USER_PIP"},
    )


def test_schedule_on_unknown_dataset_raises_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "POST", "/v1/docker/worker/config/v3", {"id": CONFIG}, 201)
    not_found(mocked, "POST", f"{D}/docker/worker/schedule")
    with pytest.raises(NotFound, match="HTTP 404"):
        client.schedule_compute_worker_run()
    assert len(mocked.calls) == 2  # a POST is not retried


@covers("get_compute_worker_runs_iter", "get_compute_worker_runs")
def test_runs_are_paginated_and_sorted(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    page = [{"id": str(i), "createdAt": 10 - i} for i in range(3)] + [{"id": "no-date"}]
    answer(mocked, "GET", "/v1/docker/runs", page)
    answer(mocked, "GET", "/v1/docker/runs", [{"id": "late", "createdAt": 99}])
    answer(mocked, "GET", "/v1/docker/runs", [])
    runs = client.get_compute_worker_runs()
    assert [r["id"] for r in runs] == ["no-date", "2", "1", "0", "late"]
    for call, offset in zip(mocked.calls, ("0", "5000", "10000"), strict=True):
        assert_call(call, "GET", "/v1/docker/runs", [("pageSize", "5000"), ("pageOffset", offset)])


def test_runs_iter_is_lazy(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    answer(mocked, "GET", f"/v1/docker/runs/query/datasetId/{DATASET_ID}", [{"id": RUN}])
    runs = client.get_compute_worker_runs_iter(dataset_id=DATASET_ID)
    assert not mocked.calls
    assert next(runs) == {"id": RUN}
    assert len(mocked.calls) == 1


@covers("get_compute_worker_run", "get_compute_worker_run_from_scheduled_run")
def test_run_lookups(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    run = {"id": RUN, "state": "TRAINING", "scheduledId": SCHEDULED, "artifacts": []}
    answer(mocked, "GET", f"/v1/docker/runs/{RUN}", run)
    answer(mocked, "GET", f"/v1/docker/runs/schedule/{SCHEDULED}", run)
    assert client.get_compute_worker_run(RUN).scheduled_id == SCHEDULED
    assert client.get_compute_worker_run_from_scheduled_run(SCHEDULED) == run
    assert_call(mocked.calls[0], "GET", f"/v1/docker/runs/{RUN}")
    assert_call(mocked.calls[1], "GET", f"/v1/docker/runs/schedule/{SCHEDULED}")


def test_run_lookups_raise_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    not_found(mocked, "GET", f"/v1/docker/runs/{RUN}")
    not_found(mocked, "GET", f"/v1/docker/runs/schedule/{SCHEDULED}")
    with pytest.raises(NotFound):
        client.get_compute_worker_run(RUN)
    with pytest.raises(NotFound):
        client.get_compute_worker_run_from_scheduled_run(SCHEDULED)


@covers("get_scheduled_compute_worker_runs")
def test_scheduled_runs_without_state(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    scheduled = [{"id": SCHEDULED, "state": "LOCKED", "runsOn": []}]
    answer(mocked, "GET", f"{D}/docker/worker/schedule", scheduled)
    assert client.get_scheduled_compute_worker_runs() == scheduled
    assert_call(mocked.calls[0], "GET", f"{D}/docker/worker/schedule")


@covers("get_compute_worker_run_info")
@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ({"id": RUN, "state": "COMPLETED", "message": "done"}, ("COMPLETED", "done")),
        ({"id": RUN, "state": "EMBEDDING"}, ("EMBEDDING", None)),
    ],
)
def test_run_info_of_a_started_run(
    run: dict[str, Any],
    expected: tuple[str, str | None],
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    answer(mocked, "GET", f"/v1/docker/runs/schedule/{SCHEDULED}", run)
    assert client.get_compute_worker_run_info(SCHEDULED) == ComputeWorkerRunInfo(*expected)
    assert len(mocked.calls) == 1


def test_run_info_fallbacks(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    not_found(mocked, "GET", f"/v1/docker/runs/schedule/{SCHEDULED}")
    answer(mocked, "GET", f"{D}/docker/worker/schedule", [{"id": SCHEDULED, "state": "OPEN"}])
    info = client.get_compute_worker_run_info(SCHEDULED)
    assert info == ComputeWorkerRunInfo("OPEN", WAITING) and not info.in_end_state()
    assert_call(mocked.calls[1], "GET", f"{D}/docker/worker/schedule")

    mocked.replace("GET", SERVER + f"{D}/docker/worker/schedule", json=[{"id": "other"}])
    info = client.get_compute_worker_run_info(SCHEDULED)
    assert info == ComputeWorkerRunInfo(
        "CANCELED_OR_NOT_EXISTING",
        f"Could not find a job for the given run_id: '{SCHEDULED}'. The scheduled run does not "
        "exist or was canceled before being picked up by a Lightly Worker.",
    )
    assert info.in_end_state() and not info.ended_successfully()


@covers("compute_worker_run_info_generator")
def test_generator_yields_changes_until_an_end_state(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(compute_worker_module.time, "sleep", sleeps.append)
    assert client.run_info_poll_interval == 30  # the official client's pace
    client.run_info_poll_interval = 0.5
    path = f"/v1/docker/runs/schedule/{SCHEDULED}"
    not_found(mocked, "GET", path)
    not_found(mocked, "GET", path)
    for state in ("EMBEDDING", "EMBEDDING", "FAILED", "COMPLETED"):
        answer(mocked, "GET", path, {"id": RUN, "state": state, "message": state.lower()})
    answer(mocked, "GET", f"{D}/docker/worker/schedule", [{"id": SCHEDULED}])
    infos = list(client.compute_worker_run_info_generator(SCHEDULED))
    assert [(i.state, i.message) for i in infos] == [
        ("OPEN", WAITING),
        ("EMBEDDING", "embedding"),
        ("FAILED", "failed"),
    ]
    assert sleeps == [0.5] * 4  # no sleep after the end state
    assert infos[-1].ended_successfully() is False


@covers("get_compute_worker_run_tags")
def test_run_tags_of_the_current_dataset_only(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    tags = [
        {"id": "1" * 24, "name": "new", "datasetId": DATASET_ID},
        {"id": "2" * 24, "name": "elsewhere", "datasetId": "9" * 24},
        {"id": "3" * 24, "name": "old", "datasetId": DATASET_ID},
    ]
    answer(mocked, "GET", f"/v1/docker/runs/{RUN}/tags", tags)
    assert [t.name for t in client.get_compute_worker_run_tags(RUN)] == ["new", "old"]
    assert_call(mocked.calls[0], "GET", f"/v1/docker/runs/{RUN}/tags")
