"""Lightly Worker endpoints: registry, configs, scheduling, runs, artifacts, the worker side."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from runner.local import runs
from runner.local.store import Store
from tests.local.conftest import Api, assert_model

WORKER = {
    "id": (str, True),
    "userId": (str, True),
    "name": (str, True),
    "workerType": (str, True),
    "state": (str, True),
    "createdAt": (int, True),
    "lastModifiedAt": (int, True),
    "labels": (list, True),
    "dockerVersion": (str, False),
}
SCHEDULED = {
    "id": (str, True),
    "datasetId": (str, True),
    "userId": (str, False),
    "configId": (str, True),
    "priority": (str, True),
    "runsOn": (list, True),
    "state": (str, True),
    "createdAt": (int, True),
    "lastModifiedAt": (int, True),
    "owner": (str, False),
}
RUN = {
    "id": (str, True),
    "userId": (str, True),
    "dockerVersion": (str, True),
    "state": (str, True),
    "datasetId": (str, False),
    "configId": (str, False),
    "scheduledId": (str, False),
    "createdAt": (int, True),
    "lastModifiedAt": (int, True),
    "message": (str, False),
    "artifacts": (list, False),
}
ARTIFACT = {
    "id": (str, True),
    "type": (str, True),
    "fileName": (str, True),
    "storageLocation": (str, False),
    "createdAt": (int, False),
}
SELECTION = {
    "nSamples": 2,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}


def _config(api: Api, config: dict[str, Any] | None = None) -> str:
    body = {
        "config": config or {"workerType": "FULL", "selection": SELECTION},
        "creator": "USER_PIP",
    }
    response = api.post("/v1/docker/worker/config/v3", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def _schedule(api: Api, dataset_id: str, **body: Any) -> str:
    body = {"configId": _config(api), "priority": "MID", **body}
    response = api.post(f"/v1/datasets/{dataset_id}/docker/worker/schedule", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


@pytest.fixture
def dataset(make_dataset: Callable[..., str]) -> str:
    return make_dataset("runs-ds", 3)


# -- registry ------------------------------------------------------------------------------------


def test_register_worker_same_name_same_id(api: Api, api_b: Api) -> None:
    body = {"name": "gpu-box", "workerType": "FULL", "labels": ["gpu"], "creator": "USER_PIP"}
    first = api.post("/v1/docker/worker", json=body)
    assert first.status_code == 201
    worker_id = first.get_json()["id"]
    assert api.post("/v1/docker/worker", json=body).get_json() == {"id": worker_id}
    other = api_b.post("/v1/docker/worker", json=body).get_json()["id"]
    assert other != worker_id

    listed = api.get("/v1/docker/worker").get_json()
    assert [w["id"] for w in listed] == [worker_id]
    assert_model(listed[0], WORKER)
    assert listed[0]["state"] == "OFFLINE" and listed[0]["labels"] == ["gpu"]
    assert api.get("/v1/docker/worker", query={"getAssetsOfTeam": "True"}).get_json() == []
    assert api.get(f"/v1/docker/worker/{worker_id}").get_json() == listed[0]
    assert api_b.get(f"/v1/docker/worker/{worker_id}").status_code == 404

    assert api.put(f"/v1/docker/worker/{worker_id}", json={"state": "IDLE"}).status_code == 200
    assert api.get(f"/v1/docker/worker/{worker_id}").get_json()["state"] == "IDLE"
    assert api.put(f"/v1/docker/worker/{worker_id}", json={"state": "ASLEEP"}).status_code == 400
    assert api_b.delete(f"/v1/docker/worker/{worker_id}").status_code == 404
    assert api.delete(f"/v1/docker/worker/{worker_id}").status_code == 200
    assert api.get(f"/v1/docker/worker/{worker_id}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "ab", "workerType": "FULL"},
        {"name": "-bad name", "workerType": "FULL"},
        {"name": "worker", "workerType": "HALF"},
        {"name": "worker", "workerType": "FULL", "labels": "gpu"},
        {"name": "worker", "workerType": "FULL", "labels": [1]},
        {"workerType": "FULL"},
    ],
)
def test_register_worker_refuses_bad_bodies(
    api: Api, body: dict[str, Any], stored: Callable[[], str]
) -> None:
    before = stored()
    assert api.post("/v1/docker/worker", json=body).status_code == 400
    assert stored() == before


def test_auth_is_required(client: FlaskClient, user_a: str) -> None:
    assert client.get("/v1/docker/worker").status_code == 401
    assert client.get("/v1/docker/runs?token=nope").status_code == 403


# -- configs ----------------------------------------------------------------------------------------


def test_config_round_trip(api: Api, api_b: Api) -> None:
    config = {
        "workerType": "FULL",
        "docker": {"corruptnessCheck": {"corruptionThreshold": 0.1}, "numThreads": -1},
        "lightly": {"seed": 3, "collate": {"rrDegrees": None, "sigmas": [0.1, 2]}},
        "selection": {
            "proportionSamples": 0.5,
            "strategies": [
                {
                    "input": {"type": "SCORES", "task": "det", "score": "uncertainty_margin"},
                    "strategy": {"type": "THRESHOLD", "threshold": 0.2, "operation": "BIGGER"},
                },
                {
                    "input": {"type": "EMBEDDINGS"},
                    "strategy": {"type": "DIVERSITY", "stopping_condition_minimum_distance": 0.1},
                },
            ],
        },
    }
    config_id = _config(api, config)
    data = api.get(f"/v1/docker/worker/config/v3/{config_id}").get_json()
    assert set(data) <= {"id", "version", "config", "configOrig", "createdAt"}
    assert data["id"] == config_id and isinstance(data["createdAt"], int)
    assert data["config"] == config
    assert api_b.get(f"/v1/docker/worker/config/v3/{config_id}").status_code == 404
    assert api.get("/v1/docker/worker/config/v3/" + "0" * 24).status_code == 404


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"workerType": "FULL", "docker": {"enable_training": True}}, "config.docker: unknown key 'enable_training'; did you mean 'enableTraining'?"),
        ({"workerType": "FULL", "docker": {"numThreads": "4"}}, "config.docker.numThreads: must be of type int, not str"),
        ({"workerType": "FULL", "docker": {"numThreads": 1.5}}, "config.docker.numThreads: must be of type int, not float"),
        ({"workerType": "FULL", "docker": {"enableTraining": 1}}, "config.docker.enableTraining: must be of type bool, not int"),
        ({"workerType": "FULL", "docker": {"corruptnessCheck": {"corruptionThreshold": 2}}}, "config.docker.corruptnessCheck.corruptionThreshold: must be <= 1.0, got 2"),
        ({"workerType": "FULL", "lightly": {"model": {"name": "vit"}}}, "config.lightly.model.name: must be one of resnet-18"),
        ({"workerType": "FULL", "lightly": {"trainer": {"precision": 16.0}}}, "config.lightly.trainer.precision: must be one of 16, 32, not 16.0"),
        ({"workerType": "FULL", "lightly": {"collate": {"sigmas": [1]}}}, "config.lightly.collate.sigmas: must have exactly 2 entries, has 1"),
        ({"docker": {}}, "config.workerType: is required"),
        ({"workerType": "FULL", "selection": {"nSamples": 3}}, "config.selection.strategies: is required"),
        ({"workerType": "FULL", "selection": {"strategies": []}}, "config.selection.strategies: must have at least 1 entries"),
        ({"workerType": "FULL", "selection": {"n_samples": 3, "strategies": []}}, "did you mean 'nSamples'?"),
        ({"workerType": "FULL", "selection": {"strategies": [{"input": {"type": "EMBEDDINGS"}}]}}, "config.selection.strategies[0].strategy: is required"),
        ({"workerType": "FULL", "selection": {"strategies": [{"input": {"type": "PIXELS"}, "strategy": {"type": "DIVERSITY"}}]}}, "config.selection.strategies[0].input.type: must be one of EMBEDDINGS"),
        ({"workerType": "FULL", "gpu": True}, "config: unknown key 'gpu'"),
        ("FULL", "config: must be an object, not str"),
    ],
)  # fmt: skip
def test_config_validation_names_the_field(
    api: Api, config: Any, message: str, stored: Callable[[], str]
) -> None:
    before = stored()
    response = api.post("/v1/docker/worker/config/v3", json={"config": config})
    assert response.status_code == 400
    assert response.get_json()["code"] == "DOCKER_WORKER_CONFIG_INVALID"
    assert message in response.get_json()["error"]
    assert stored() == before


def test_config_needs_a_json_object(api: Api) -> None:
    bad = api.post("/v1/docker/worker/config/v3", data="{", content_type="application/json")
    assert bad.status_code == 400
    assert api.post("/v1/docker/worker/config/v3", json={}).status_code == 400


# -- scheduling ----------------------------------------------------------------------------------------


def test_schedule_list_and_cancel(api: Api, api_b: Api, dataset: str) -> None:
    scheduled_id = _schedule(api, dataset, priority="HIGH", runsOn=["gpu"])
    path = f"/v1/datasets/{dataset}/docker/worker/schedule"
    listed = api.get(path).get_json()
    assert len(listed) == 1
    assert_model(listed[0], SCHEDULED)
    assert listed[0]["state"] == "OPEN" and listed[0]["priority"] == "HIGH"
    assert listed[0]["runsOn"] == ["gpu"] and listed[0]["datasetId"] == dataset
    assert api.get(path, query={"state": "OPEN"}).get_json() == listed
    assert api.get(path, query={"state": "DONE"}).get_json() == []
    assert api.get(path, query={"state": "SOON"}).status_code == 400

    # 404 before pickup: the client's run info falls back to the schedule listing
    assert api.get(f"/v1/docker/runs/schedule/{scheduled_id}").status_code == 404
    assert api_b.put(f"{path}/{scheduled_id}").status_code == 404
    assert api.put(f"{path}/{scheduled_id}").status_code == 200
    assert api.get(path).get_json() == []
    assert api.get(path, query={"state": "CANCELED"}).get_json()[0]["id"] == scheduled_id
    again = api.put(f"{path}/{scheduled_id}")
    assert again.status_code == 400
    assert again.get_json()["code"] == "DOCKER_WORKER_SCHEDULE_UPDATE_FAILED"


def test_cancel_refused_once_picked_up(api: Api, store: Store, dataset: str) -> None:
    scheduled_id = _schedule(api, dataset)
    assert runs.claim_next_run(store, "w", []) is not None
    response = api.put(f"/v1/datasets/{dataset}/docker/worker/schedule/{scheduled_id}")
    assert response.status_code == 400
    assert "LOCKED" in response.get_json()["error"]


def test_schedule_refuses_unknown_config_and_bad_bodies(
    api: Api, api_b: Api, dataset: str, stored: Callable[[], str]
) -> None:
    path = f"/v1/datasets/{dataset}/docker/worker/schedule"
    config_id = _config(api)
    before = stored()
    unknown = api.post(path, json={"configId": "0" * 24, "priority": "MID"})
    assert unknown.status_code == 404
    assert unknown.get_json()["code"] == "DOCKER_WORKER_CONFIG_UNKNOWN"
    assert api.post(path, json={"configId": config_id, "priority": "URGENT"}).status_code == 400
    assert api.post(path, json={"configId": config_id}).status_code == 400
    bad_labels = {"configId": config_id, "priority": "MID", "runsOn": "gpu"}
    assert api.post(path, json=bad_labels).status_code == 400
    foreign = api_b.post(path, json={"configId": config_id, "priority": "MID"})
    assert foreign.status_code == 404
    assert foreign.get_json()["code"] == "DATASET_UNKNOWN"
    assert stored() == before


def test_claim_order_priority_then_age_and_labels(api: Api, store: Store, dataset: str) -> None:
    low = _schedule(api, dataset, priority="LOW")
    mid_1 = _schedule(api, dataset, priority="MID")
    gpu = _schedule(api, dataset, priority="CRITICAL", runsOn=["gpu"])
    mid_2 = _schedule(api, dataset, priority="MID")
    critical = _schedule(api, dataset, priority="CRITICAL")
    taken = []
    while (claimed := runs.claim_next_run(store, "cpu-worker", ["cpu"])) is not None:
        taken.append(claimed["id"])
    assert taken == [critical, mid_1, mid_2, low]
    claimed = runs.claim_next_run(store, "gpu-worker", ["gpu", "cpu"])
    assert claimed is not None and claimed["id"] == gpu and claimed["state"] == "LOCKED"


def test_claims_race_exactly_once(api: Api, store: Store, dataset: str) -> None:
    scheduled = {_schedule(api, dataset) for _ in range(20)}
    taken: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while (claimed := runs.claim_next_run(store, f"w{n}", [])) is not None:
            with lock:
                taken.append(claimed["id"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(scheduled)


# -- runs, tags, artifacts -------------------------------------------------------------------------------


def _started_run(api: Api, store: Store, dataset: str) -> tuple[str, str]:
    scheduled_id = _schedule(api, dataset)
    claimed = runs.claim_next_run(store, "w", [])
    assert claimed is not None
    return scheduled_id, runs.start_run(store, claimed)["id"]


def test_run_lifecycle_and_listings(
    api: Api, api_b: Api, store: Store, dataset: str, client: FlaskClient
) -> None:
    scheduled_id, run_id = _started_run(api, store, dataset)
    run = api.get(f"/v1/docker/runs/schedule/{scheduled_id}").get_json()
    assert_model(run, RUN)
    assert run["id"] == run_id and run["state"] == "STARTED" and run["datasetId"] == dataset
    assert api.get(f"/v1/docker/runs/{run_id}").get_json() == run
    assert api_b.get(f"/v1/docker/runs/{run_id}").status_code == 404

    runs.set_run_state(store, run_id, "EMBEDDING", "Embedding 3 images.")
    runs.set_run_state(store, run_id, "COMPLETED", "Selected 2 of 3 samples.")
    run = api.get(f"/v1/docker/runs/{run_id}").get_json()
    assert (run["state"], run["message"]) == ("COMPLETED", "Selected 2 of 3 samples.")
    assert runs.set_run_state(store, run_id, "FAILED", "late") is None  # ended runs stay ended
    schedule = f"/v1/datasets/{dataset}/docker/worker/schedule"
    assert api.get(schedule, query={"state": "DONE"}).get_json()[0]["id"] == scheduled_id

    assert api.get("/v1/docker/runs", query={"pageSize": 5000, "pageOffset": 0}).get_json() == [run]
    assert api.get("/v1/docker/runs", query={"pageSize": 5000, "pageOffset": 5000}).get_json() == []
    by_dataset = f"/v1/docker/runs/query/datasetId/{dataset}"
    assert api.get(by_dataset, query={"pageSize": 1, "pageOffset": 0}).get_json() == [run]
    assert api.get(by_dataset, query={"pageSize": 1, "pageOffset": 1}).get_json() == []
    assert api.get("/v1/docker/runs", query={"pageSize": "x"}).status_code == 400
    count = api.get("/v1/docker/runs/count")
    assert count.mimetype == "text/plain" and count.get_data(as_text=True) == "1"
    assert api_b.get("/v1/docker/runs/count").get_data(as_text=True) == "0"
    logs = api.get(f"/v1/docker/runs/{run_id}/logs").get_json()
    assert [e["state"] for e in logs["logs"]] == ["STARTED", "EMBEDDING", "COMPLETED"]
    assert logs["logs"][1]["msg"] == "Embedding 3 images." and logs["logs"][1]["level"] == "INFO"
    tail = api.get(f"/v1/docker/runs/{run_id}/logs", query={"cursor": 2}).get_json()
    assert tail == {"cursor": 3, "logs": logs["logs"][2:]}


def test_run_tags_newest_first(api: Api, store: Store, dataset: str) -> None:
    _, run_id = _started_run(api, store, dataset)
    initial = api.get(f"/v1/datasets/{dataset}/tags").get_json()[0]
    for name, mask in (("picked-a", "0x1"), ("picked-b", "0x3"), ("by-hand", "0x4")):
        body = {"name": name, "prevTagId": initial["id"], "bitMaskData": mask, "totSize": 3}
        if name != "by-hand":
            body["runId"] = run_id
        assert api.post(f"/v1/datasets/{dataset}/tags", json=body).status_code == 201
    tags = api.get(f"/v1/docker/runs/{run_id}/tags").get_json()
    assert [t["name"] for t in tags] == ["picked-b", "picked-a"]
    assert all(t["runId"] == run_id for t in tags)


def _fetch(client: FlaskClient, url: str, method: str = "GET", **kwargs: Any) -> Any:
    parts = urlsplit(url)
    return client.open(parts.path, method=method, query_string=parts.query, **kwargs)


def test_artifact_upload_confirm_and_read(
    api: Api, api_b: Api, store: Store, dataset: str, client: FlaskClient
) -> None:
    _, run_id = _started_run(api, store, dataset)
    path = f"/v1/docker/runs/{run_id}/artifacts"
    created = api.post(path, json={"fileName": "report.json", "type": "REPORT_JSON"})
    assert created.status_code == 201
    body = created.get_json()
    assert set(body) == {"signedWriteUrl", "artifactId"} and re.fullmatch(
        r"[a-f0-9]{24}", body["artifactId"]
    )
    artifact_id = body["artifactId"]
    assert "artifacts" not in api.get(f"/v1/docker/runs/{run_id}").get_json()
    early = api.put(f"{path}/{artifact_id}/confirmUpload")
    assert early.status_code == 400  # nothing uploaded yet
    assert _fetch(client, body["signedWriteUrl"], "PUT", data=b'{"ok": 1}').status_code == 200
    assert api.get(f"{path}/{artifact_id}/readurl").status_code == 404  # not confirmed yet
    assert api.put(f"{path}/{artifact_id}/confirmUpload").status_code == 200
    assert api.put(f"{path}/{artifact_id}/confirmUpload").status_code == 200  # idempotent

    run = api.get(f"/v1/docker/runs/{run_id}").get_json()
    assert_model(run, RUN)
    assert len(run["artifacts"]) == 1
    assert_model(run["artifacts"][0], ARTIFACT)
    assert run["artifacts"][0]["fileName"] == "report.json"
    url = api.get(f"{path}/{artifact_id}/readurl").get_json()
    assert isinstance(url, str) and url.startswith("http://localhost/blobs/")
    assert _fetch(client, url).get_data() == b'{"ok": 1}'
    assert api_b.get(f"{path}/{artifact_id}/readurl").status_code == 404
    assert api.get(f"{path}/{'0' * 24}/readurl").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"fileName": "../escape.json", "type": "LOG"},
        {"fileName": "a/b.txt", "type": "LOG"},
        {"fileName": "", "type": "LOG"},
        {"fileName": "log.txt", "type": "VIDEO"},
        {"fileName": 3, "type": "LOG"},
    ],
)
def test_artifact_create_refuses_bad_bodies(
    api: Api, store: Store, dataset: str, body: dict[str, Any]
) -> None:
    _, run_id = _started_run(api, store, dataset)
    assert api.post(f"/v1/docker/runs/{run_id}/artifacts", json=body).status_code == 400


# -- worker side -------------------------------------------------------------------------------------------


def test_worker_side_flow(api: Api, api_b: Api, dataset: str) -> None:
    worker_id = api.post(
        "/v1/docker/worker", json={"name": "ext-worker", "workerType": "FULL", "labels": ["cpu"]}
    ).get_json()["id"]
    mine = _schedule(api, dataset, runsOn=["cpu"])
    _schedule(api, dataset, runsOn=["gpu"])
    offered = api.get(f"/v1/docker/worker/{worker_id}/schedule").get_json()
    assert [s["id"] for s in offered] == [mine]
    query = [("labels", "cpu"), ("labels", "gpu"), ("token", api.token)]
    by_labels = api.client.get("/v1/docker/worker/schedule", query_string=query).get_json()
    assert len(by_labels) == 2

    lock = f"/v1/datasets/{dataset}/docker/worker/{worker_id}/schedule/{mine}"
    assert api.put(lock, json={"state": "LOCKED"}).status_code == 200
    taken = api.put(lock, json={"state": "LOCKED"})
    assert (
        taken.status_code == 400
        and taken.get_json()["code"] == "DOCKER_WORKER_SCHEDULE_UPDATE_FAILED"
    )

    created = api.post("/v1/docker/runs", json={"dockerVersion": "2.6.0", "scheduledId": mine})
    assert created.status_code == 201
    run_id = created.get_json()["id"]
    assert (
        api.post(
            "/v1/docker/runs", json={"dockerVersion": "2.6.0", "scheduledId": mine}
        ).status_code
        == 400
    )
    run = api.get(f"/v1/docker/runs/schedule/{mine}").get_json()
    assert (run["id"], run["datasetId"], run["dockerVersion"]) == (run_id, dataset, "2.6.0")
    # another user learns nothing, not even that a run exists or its id
    refused = api_b.get(f"/v1/docker/runs/schedule/{mine}")
    assert refused.status_code == 404 and run_id not in refused.get_data(as_text=True)
    update = f"/v1/docker/runs/{run_id}"
    assert (
        api.put(update, json={"state": "LOADING_DATASET", "message": "reading"}).status_code == 200
    )
    assert api.put(update, json={"state": "DANCING"}).status_code == 400
    assert (
        api.put(update, json={"state": "ABORTED", "message": "stopped by user"}).status_code == 200
    )
    assert api.put(update, json={"state": "COMPLETED"}).status_code == 400
    assert api.get(update).get_json()["state"] == "ABORTED"
    done = api.get(f"/v1/datasets/{dataset}/docker/worker/schedule", query={"state": "DONE"})
    assert [s["id"] for s in done.get_json()] == [mine]


def test_worker_start_up_calls(api: Api) -> None:
    for path in ("/v1/docker/authorization", "/v1/docker/workerAuthorization", "/v1/docker"):
        assert api.post(path, json={}).status_code == 200
    info = api.get("/v1/docker/licenseInformation").get_json()
    assert set(info) == {"licenseType", "licenseExpirationDate", "licenseIsValid"}
    assert info["licenseIsValid"] is True and isinstance(info["licenseExpirationDate"], int)
