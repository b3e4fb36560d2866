"""The local compute worker: runs on a LOCAL datasource, failures, cancelling, labels, races."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runner.local import runs
from runner.local.demo import make_demo_images
from runner.local.store import Store
from runner.local.worker import loop
from tests.local.conftest import TOKEN_A, Api, assert_model
from tests.local.test_docker import WORKER

DIVERSITY_3 = {
    "nSamples": 3,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
END = ("COMPLETED", "FAILED", "ABORTED", "CRASHED")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    """30 images in 3 colour groups of near-duplicates, and 3 corrupt files."""
    folder = tmp_path / "images"
    make_demo_images(folder, groups=3, per_group=10, corrupt=3)
    return folder


@pytest.fixture
def dataset(api: Api, images: Path) -> str:
    dataset_id: str = api.post(
        "/v1/datasets", json={"name": "worker-ds", "type": "Images"}
    ).get_json()["id"]
    body = {"type": "LOCAL", "fullPath": str(images), "purpose": "INPUT_OUTPUT"}
    assert api.put(f"/v1/datasets/{dataset_id}/datasource", json=body).status_code == 200
    return dataset_id


@pytest.fixture
def workers(app: Flask, user_a: str) -> Iterator[Callable[..., Callable[[], None]]]:
    stops: list[Callable[[], None]] = []

    def start(count: int = 1, labels: list[str] | None = None) -> Callable[[], None]:
        stop = loop.start_workers(app, "http://localhost", TOKEN_A, count, labels)
        stops.append(stop)
        return stop

    yield start
    for stop in stops:
        stop()


def schedule(
    api: Api, dataset_id: str, selection: dict[str, Any] = DIVERSITY_3, **extra: Any
) -> str:
    config = {"workerType": "FULL", "selection": selection, **extra.pop("config", {})}
    config_id = api.post("/v1/docker/worker/config/v3", json={"config": config}).get_json()["id"]
    body = {"configId": config_id, "priority": "MID", **extra}
    response = api.post(f"/v1/datasets/{dataset_id}/docker/worker/schedule", json=body)
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def wait_run(api: Api, scheduled_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/v1/docker/runs/schedule/{scheduled_id}")
        if response.status_code == 200 and response.get_json()["state"] in END:
            run: dict[str, Any] = response.get_json()
            return run
        time.sleep(0.05)
    raise AssertionError(f"scheduled run {scheduled_id} did not end in {timeout} s")


def download(client: FlaskClient, api: Api, run: dict[str, Any], kind: str) -> bytes:
    artifact = next(a for a in run["artifacts"] if a["type"] == kind)
    url = api.get(f"/v1/docker/runs/{run['id']}/artifacts/{artifact['id']}/readurl").get_json()
    parts = urlsplit(url)
    response = client.get(parts.path, query_string=parts.query)
    assert response.status_code == 200
    data: bytes = response.get_data()
    return data


def test_diversity_run_completes_with_tag_and_artifacts(
    api: Api, client: FlaskClient, dataset: str, workers: Callable[..., Any]
) -> None:
    workers(1)
    scheduled_id = schedule(api, dataset)
    run = wait_run(api, scheduled_id)
    assert run["state"] == "COMPLETED", run.get("message")
    assert run["message"].startswith("Selected 3 of 30 samples")

    # every readable image became a sample; the corrupt ones did not
    names = api.get(f"/v1/datasets/{dataset}/mappings", query={"field": "fileName"}).get_json()
    assert len(names) == 30 and not any(n.startswith("corrupt/") for n in names)
    sample = api.get(f"/v1/datasets/{dataset}/samples").get_json()[0]
    assert sample["metaData"]["shape"] == [64, 64, 3] and sample["metaData"]["sizeInBytes"] > 0

    tags = api.get(f"/v1/docker/runs/{run['id']}/tags").get_json()
    assert [t["name"] for t in tags][1:] == ["initial-tag"]
    selected = api.get(f"/v1/datasets/{dataset}/tags/{tags[0]['id']}/filenames").get_json()
    assert sorted(name.split("/")[0] for name in selected) == ["group-00", "group-01", "group-02"]

    states = [e["state"] for e in api.get(f"/v1/docker/runs/{run['id']}/logs").get_json()["logs"]]
    expected = ["STARTED", "INITIALIZING", "LOADING_DATASET", "CHECKING_CORRUPTNESS", "EMBEDDING",
                "SAMPLING", "SAVING_RESULTS", "GENERATING_REPORT", "UPLOADING_ARTIFACTS", "COMPLETED"]  # fmt: skip
    assert [s for s in states if s in expected] == expected
    assert states == sorted(states, key=runs.RUN_STATES.index)

    kinds = {a["type"] for a in run["artifacts"]}
    assert kinds >= {
        "REPORT_JSON",
        "REPORT_PDF",
        "LOG",
        "MEMLOG",
        "CORRUPTNESS_CHECK_INFORMATION",
        "CHECKPOINT",
    }
    report = json.loads(download(client, api, run, "REPORT_JSON"))
    assert report
    assert download(client, api, run, "REPORT_PDF").startswith(b"%PDF")
    corrupt = json.loads(download(client, api, run, "CORRUPTNESS_CHECK_INFORMATION"))
    assert sorted(corrupt["corrupt_samples"]) == [
        "corrupt/empty.png",
        "corrupt/not-an-image.jpg",
        "corrupt/truncated.jpg",
    ]
    log_text = download(client, api, run, "LOG").decode()
    assert "[SAMPLING] Selecting from 30 samples." in log_text
    assert "corrupt: corrupt/empty.png" in log_text
    assert download(client, api, run, "MEMLOG").startswith(b"time,phase,rss_mib,max_rss_mib\n")
    worker = api.get("/v1/docker/worker").get_json()[0]
    assert worker["name"] == "local-worker-1" and worker["state"] in ("IDLE", "BUSY")


def test_the_image_metadata_the_worker_computes_can_be_selected_on(
    api: Api, dataset: str, workers: Callable[..., Any]
) -> None:
    # as in the Lightly docs: lightly.sharpness of samples the worker found in the datasource
    workers(1)
    selection = {
        "nSamples": 3,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 0, "operation": "BIGGER_EQUAL"},
            },
            {"input": {"type": "METADATA", "key": "lightly.snr"}, "strategy": {"type": "WEIGHTS"}},
        ],
    }
    run = wait_run(api, schedule(api, dataset, selection))
    assert run["state"] == "COMPLETED", run.get("message")
    sample = api.get(f"/v1/datasets/{dataset}/samples").get_json()[0]
    assert set(sample["metaData"]) >= {"mean", "std", "snr", "sharpness", "shape", "sizeInBytes"}


def test_second_run_reuses_samples_and_uses_uploaded_embeddings(
    api: Api, client: FlaskClient, dataset: str, workers: Callable[..., Any]
) -> None:
    workers(1)
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"
    names = api.get(f"/v1/datasets/{dataset}/mappings", query={"field": "fileName"}).get_json()
    # uploaded 1-d embeddings: the three farthest points are known
    rows = ["filenames,embedding_0,labels"] + [f"{n},{i * i},0" for i, n in enumerate(names)]
    write = api.get(
        f"/v1/datasets/{dataset}/embeddings/writeCSVUrl", query={"name": "default"}
    ).get_json()
    parts = urlsplit(write["signedWriteUrl"])
    client.put(parts.path, query_string=parts.query, data="\n".join(rows).encode())
    selection = {"nSamples": 2, "strategies": DIVERSITY_3["strategies"]}
    raw = {"docker": {"normalizeEmbeddings": False}}  # 1-d rows of unit length are all 1
    run = wait_run(api, schedule(api, dataset, selection, config=raw))
    assert run["state"] == "COMPLETED", run.get("message")
    tags = api.get(f"/v1/docker/runs/{run['id']}/tags").get_json()
    assert len(tags) == 1  # no new samples: no initial or upsize tag this time
    picked = api.get(f"/v1/datasets/{dataset}/tags/{tags[0]['id']}/filenames").get_json()
    assert set(picked) == {names[0], names[-1]}
    assert "CHECKPOINT" not in {a["type"] for a in run["artifacts"]}  # embeddings not ours
    assert (
        len(api.get(f"/v1/datasets/{dataset}/mappings", query={"field": "fileName"}).get_json())
        == 30
    )


def test_cloud_datasource_fails_with_a_clear_message(api: Api, workers: Callable[..., Any]) -> None:
    dataset_id = api.post("/v1/datasets", json={"name": "cloud-ds", "type": "Images"}).get_json()[
        "id"
    ]
    s3 = {
        "type": "S3",
        "fullPath": "s3://bucket/images/",
        "purpose": "INPUT_OUTPUT",
        "s3Region": "eu-central-1",
        "s3AccessKeyId": "AKIA",
        "s3SecretAccessKey": "secret",
    }
    assert api.put(f"/v1/datasets/{dataset_id}/datasource", json=s3).status_code == 200
    workers(1)
    run = wait_run(api, schedule(api, dataset_id))
    assert run["state"] == "FAILED"
    assert run["message"] == (
        "The local worker cannot read s3://bucket/images/ (S3 datasource); "
        "use a LOCAL datasource or the real Lightly Worker."
    )
    done = api.get(f"/v1/datasets/{dataset_id}/docker/worker/schedule", query={"state": "DONE"})
    assert len(done.get_json()) == 1


def test_invalid_selection_fails_and_the_worker_goes_on(
    api: Api, client: FlaskClient, dataset: str, workers: Callable[..., Any]
) -> None:
    workers(1)
    bad = {
        "nSamples": 2,
        "strategies": [
            {"input": {"type": "METADATA", "key": "nope"}, "strategy": {"type": "WEIGHTS"}}
        ],
    }
    failed = wait_run(api, schedule(api, dataset, bad))
    assert failed["state"] == "FAILED"
    assert (
        failed["message"].startswith("The selection cannot run:") and "'nope'" in failed["message"]
    )
    # its log is there to debug it by (download_compute_worker_run_log)
    assert [a["type"] for a in failed["artifacts"]] == ["LOG"]
    log_text = download(client, api, failed, "LOG").decode()
    assert "[LOADING_DATASET]" in log_text and failed["message"] in log_text
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"


def test_cancel_while_open_and_abort_while_running(
    api: Api, dataset: str, workers: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"/v1/datasets/{dataset}/docker/worker/schedule"
    cancelled = schedule(api, dataset)
    assert api.put(f"{path}/{cancelled}").status_code == 200
    workers(1)
    time.sleep(0.5)
    assert api.get(f"/v1/docker/runs/schedule/{cancelled}").status_code == 404
    assert api.get(path, query={"state": "CANCELED"}).get_json()[0]["id"] == cancelled

    # aborting a running run: the worker stops at its next state change, then goes on
    original = loop.RunJob.state
    entered, release = threading.Event(), threading.Event()

    def slow_state(job: loop.RunJob, state: str, message: str) -> None:
        if state == "SAMPLING" and not release.is_set():
            entered.set()
            release.wait(10)
        original(job, state, message)

    monkeypatch.setattr(loop.RunJob, "state", slow_state)
    scheduled_id = schedule(api, dataset)
    assert entered.wait(30)
    run_id = api.get(f"/v1/docker/runs/schedule/{scheduled_id}").get_json()["id"]
    abort = {"state": "ABORTED", "message": "stop"}
    assert api.put(f"/v1/docker/runs/{run_id}", json=abort).status_code == 200
    release.set()
    next_run = wait_run(api, schedule(api, dataset))
    assert next_run["state"] == "COMPLETED"
    run = api.get(f"/v1/docker/runs/{run_id}").get_json()
    assert (run["state"], run["message"]) == ("ABORTED", "stop")
    assert "artifacts" not in run
    assert api.get(f"/v1/docker/runs/{run_id}/tags").get_json()[0]["name"] == "initial-tag"
    assert api.get(path, query={"state": "DONE"}).get_json()[0]["id"] == scheduled_id


def test_a_run_aborted_while_it_scans_leaves_the_dataset_unchanged(
    api: Api, dataset: str, workers: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = loop.scan_images
    scanning, release = threading.Event(), threading.Event()

    def slow_scan(*args: Any, **kwargs: Any) -> Any:
        scanning.set()
        release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "scan_images", slow_scan)
    workers(1)
    scheduled_id = schedule(api, dataset)
    assert scanning.wait(30)
    run_id = api.get(f"/v1/docker/runs/schedule/{scheduled_id}").get_json()["id"]
    abort = {"state": "ABORTED", "message": "stop"}
    assert api.put(f"/v1/docker/runs/{run_id}", json=abort).status_code == 200
    release.set()
    assert wait_run(api, scheduled_id)["state"] == "ABORTED"
    time.sleep(0.3)  # what the worker would still do, it would do now
    assert api.get(f"/v1/datasets/{dataset}").get_json()["nSamples"] == 0
    assert api.get(f"/v1/datasets/{dataset}/tags").get_json() == []
    assert api.get(f"/v1/docker/runs/{run_id}/tags").get_json() == []


def test_workers_take_only_runs_for_their_labels(
    api: Api, dataset: str, workers: Callable[..., Any]
) -> None:
    gpu_run = schedule(api, dataset, runsOn=["gpu"])
    cpu_run = schedule(api, dataset, runsOn=["cpu"])
    workers(1, ["cpu"])
    assert wait_run(api, cpu_run)["state"] == "COMPLETED"
    time.sleep(0.5)
    assert api.get(f"/v1/docker/runs/schedule/{gpu_run}").status_code == 404
    open_runs = api.get(f"/v1/datasets/{dataset}/docker/worker/schedule").get_json()
    assert [s["id"] for s in open_runs] == [gpu_run]
    workers(1, ["gpu", "cpu"])  # registers as local-worker-1 again with the new labels
    assert wait_run(api, gpu_run)["state"] == "COMPLETED"
    registry = api.get("/v1/docker/worker").get_json()
    assert [(w["name"], w["labels"]) for w in registry] == [("local-worker-1", ["gpu", "cpu"])]
    assert_model(registry[0], WORKER)


def test_four_workers_take_each_of_twenty_runs_once(
    api: Api,
    store: Store,
    dataset: str,
    workers: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taken: list[str] = []
    lock = threading.Lock()

    def record(scheduled: dict[str, Any]) -> None:
        with lock:
            taken.append(scheduled["id"])
        run = runs.start_run(store, scheduled)
        runs.set_run_state(store, run["id"], "COMPLETED", "recorded")

    monkeypatch.setattr(loop, "execute", record)
    scheduled = {schedule(api, dataset) for _ in range(20)}
    workers(4)
    deadline = time.monotonic() + 30
    while len(taken) < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert sorted(taken) == sorted(scheduled)
    assert len(api.get("/v1/docker/worker").get_json()) == 4


def test_a_run_that_selects_nothing_fails_and_creates_no_tag(
    api: Api, dataset: str, workers: Callable[..., Any]
) -> None:
    # as the Lightly Worker since 2.8: no silent success with an empty selection
    workers(1)
    sharp = {
        "nSamples": 3,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "lightly.sharpness"},
                "strategy": {"type": "THRESHOLD", "threshold": 1e9, "operation": "BIGGER"},
            },
            DIVERSITY_3["strategies"][0],
        ],
    }
    run = wait_run(api, schedule(api, dataset, sharp))
    assert run["state"] == "FAILED"
    assert run["message"] == (
        "The selection selected no sample, so no tag was created: strategy 1 (THRESHOLD on "
        "METADATA lightly.sharpness BIGGER 1000000000.0: 30 removed) left none of the 30 "
        "candidates."
    )
    tags = api.get(f"/v1/docker/runs/{run['id']}/tags").get_json()
    assert [t["name"] for t in tags] == ["initial-tag"]  # the samples it registered
    states = [e["state"] for e in api.get(f"/v1/docker/runs/{run['id']}/logs").get_json()["logs"]]
    assert "SAMPLING" in states and "SAVING_RESULTS" not in states


def upload_embeddings(client: FlaskClient, api: Api, dataset: str, rows: list[str]) -> None:
    write = api.get(
        f"/v1/datasets/{dataset}/embeddings/writeCSVUrl", query={"name": "default"}
    ).get_json()
    parts = urlsplit(write["signedWriteUrl"])
    client.put(parts.path, query_string=parts.query, data="\n".join(rows).encode())


@pytest.mark.parametrize(("normalize", "selected"), [(None, 3), (True, 3), (False, 5)])
def test_uploaded_embeddings_are_normalised_unless_configured_not_to(
    api: Api,
    client: FlaskClient,
    dataset: str,
    workers: Callable[..., Any],
    normalize: bool | None,
    selected: int,
) -> None:
    workers(1)
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"
    names = api.get(f"/v1/datasets/{dataset}/mappings", query={"field": "fileName"}).get_json()
    # three directions at 30 lengths: of unit length, only three distinct vectors are left
    directions = ["1,0", "0,1", "-1,0"]
    rows = ["filenames,embedding_0,embedding_1,labels"] + [
        f"{n},{','.join(str((i + 1) * float(v)) for v in directions[i % 3].split(','))},0"
        for i, n in enumerate(names)
    ]
    upload_embeddings(client, api, dataset, rows)
    docker = {} if normalize is None else {"docker": {"normalizeEmbeddings": normalize}}
    selection = {"nSamples": 5, "strategies": DIVERSITY_3["strategies"]}
    run = wait_run(api, schedule(api, dataset, selection, config=docker))
    assert run["state"] == "COMPLETED", run.get("message")
    assert run["message"].startswith(f"Selected {selected} of 30 samples")
    # fewer than asked: the message says why (not only report.json)
    shortfall = " (5 were asked: the other candidates' embeddings equal those of selected samples)."
    assert run["message"].endswith(shortfall) == (selected < 5)


def test_empty_prediction_lists_are_images_with_zero_objects(
    api: Api, dataset: str, images: Path, workers: Callable[..., Any]
) -> None:
    workers(1)
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"
    d = f"/v1/datasets/{dataset}"
    names = api.get(f"{d}/mappings", query={"field": "fileName"}).get_json()
    ids = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()
    version = {"predictionUUIDTimestamp": 1}
    task = {"name": "det", "type": "OBJECT_DETECTION", "categories": [{"id": 0, "name": "dog"}]}
    assert api.post(f"{d}/predictions/tasks", query=version, json=task).status_code == 201
    box = {"type": "OBJECT_DETECTION", "taskName": "det", "categoryId": 0, "score": 0.9, "bbox": [1, 2, 3, 4]}  # fmt: skip
    for i in range(10):  # samples 0-9 through the API, 5-9 without objects
        body = [box] if i < 5 else []
        response = api.post(f"{d}/predictions/samples/{ids[i]}", query=version, json=body)
        assert response.status_code == 201
    folder = images / ".lightly/predictions"
    (folder / "det").mkdir(parents=True)
    (folder / "tasks.json").write_text('["det"]')
    schema = {"task_type": "object-detection", "categories": [{"id": 0, "name": "dog"}]}
    (folder / "det/schema.json").write_text(json.dumps(schema))
    for i in range(10, 20):  # samples 10-19 in the datasource, 15-19 without objects
        found = [{"category_id": 0, "bbox": [1, 2, 3, 4], "score": 0.9}] if i < 15 else []
        path = folder / "det" / Path(names[i]).with_suffix(".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"file_name": names[i], "predictions": found}))
    no_objects = {
        "nSamples": -1,
        "strategies": [
            {
                "input": {"type": "PREDICTIONS", "task": "det", "name": "CATEGORY_COUNT"},
                "strategy": {"type": "THRESHOLD", "threshold": 1, "operation": "SMALLER"},
            }
        ],
    }
    run = wait_run(api, schedule(api, dataset, no_objects))
    assert run["state"] == "COMPLETED", run.get("message")
    tag = api.get(f"/v1/docker/runs/{run['id']}/tags").get_json()[0]
    picked = api.get(f"{d}/tags/{tag['id']}/filenames").get_json()
    assert sorted(picked) == sorted(names[5:10] + names[15:20])  # 20-29: no predictions


def test_custom_metadata_from_the_datasource_s_lightly_metadata_folder(
    api: Api, dataset: str, images: Path, workers: Callable[..., Any]
) -> None:
    """The Lightly Worker's format: schema.json and one <file>.json per image; the
    samples have no customMetaData through the API."""
    workers(1)
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"
    d = f"/v1/datasets/{dataset}"
    names = api.get(f"{d}/mappings", query={"field": "fileName"}).get_json()
    folder = images / ".lightly/metadata"
    folder.mkdir(parents=True)
    schema = [{"name": "Weather", "path": "weather", "defaultValue": "", "valueDataType": "CATEGORICAL_STRING"}]  # fmt: skip
    (folder / "schema.json").write_text(json.dumps(schema))
    for i, name in enumerate(names[:20]):
        path = folder / Path(name).with_suffix(".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        weather = "rainy" if i < 4 else "sunny"
        path.write_text(json.dumps({"file_name": name, "type": "image", "metadata": {"weather": weather}}))  # fmt: skip
    rainy = {
        "nSamples": 4,
        "strategies": [
            {
                "input": {"type": "METADATA", "key": "weather"},
                "strategy": {"type": "BALANCE", "target": {"rainy": 1.0}},
            }
        ],
    }
    run = wait_run(api, schedule(api, dataset, rainy))
    assert run["state"] == "COMPLETED", run.get("message")
    tag = api.get(f"/v1/docker/runs/{run['id']}/tags").get_json()[0]
    picked = api.get(f"{d}/tags/{tag['id']}/filenames").get_json()
    assert sorted(picked) == sorted(names[:4])

    (folder / Path(names[0]).with_suffix(".json")).write_text('{"metadata": 5}')
    run = wait_run(api, schedule(api, dataset, rainy))
    assert run["state"] == "FAILED"
    assert "must be a JSON object with a 'metadata' object" in run["message"]


@pytest.mark.parametrize("listed", ["../outside.txt", "/etc/hostname"])
def test_a_relevant_filenames_file_outside_the_datasource_is_not_read(
    api: Api, dataset: str, images: Path, workers: Callable[..., Any], listed: str
) -> None:
    (images.parent / "outside.txt").write_text("group-00/frame-000.jpg\n")
    workers(1)
    run = wait_run(
        api, schedule(api, dataset, config={"docker": {"relevantFilenamesFile": listed}})
    )
    assert run["state"] == "FAILED"
    assert f"relevantFilenamesFile {listed!r} is not in {images}" in run["message"]


def test_a_symlinked_file_out_of_the_datasource_is_not_read(
    api: Api, dataset: str, images: Path, workers: Callable[..., Any], tmp_path: Path
) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((next(images.rglob("*.jpg"))).read_bytes())
    (images / "link.jpg").symlink_to(outside)
    (images / "inside.jpg").symlink_to(next(images.rglob("frame-000.jpg")))
    workers(1)
    assert wait_run(api, schedule(api, dataset))["state"] == "COMPLETED"
    names = api.get(f"/v1/datasets/{dataset}/mappings", query={"field": "fileName"}).get_json()
    assert "link.jpg" not in names and "inside.jpg" in names


BALANCE_ON_EMBEDDINGS = {
    "nSamples": 2,
    "strategies": [
        {"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "BALANCE", "target": {"a": 1}}}
    ],
}


@pytest.mark.parametrize(
    "selection",
    [
        BALANCE_ON_EMBEDDINGS,
        {"nSamples": 0, "strategies": DIVERSITY_3["strategies"]},
        {"strategies": DIVERSITY_3["strategies"]},
        {"nSamples": 2, "strategies": [{"input": {"type": "SCORES"}, "strategy": {"type": "THRESHOLD"}}]},
    ],
)  # fmt: skip
def test_scheduling_refuses_a_selection_no_run_could_make(
    api: Api, dataset: str, selection: dict[str, Any]
) -> None:
    config = {"workerType": "FULL", "selection": selection}
    config_id = api.post("/v1/docker/worker/config/v3", json={"config": config}).get_json()["id"]
    body = {"configId": config_id, "priority": "MID"}
    response = api.post(f"/v1/datasets/{dataset}/docker/worker/schedule", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "DOCKER_WORKER_CONFIG_INVALID"
    assert response.get_json()["error"].startswith("config.selection: ")
    assert api.get(f"/v1/datasets/{dataset}/docker/worker/schedule").get_json() == []


def test_a_run_of_an_unchecked_bad_selection_fails_before_touching_the_dataset(
    api: Api, dataset: str, workers: Callable[..., Any]
) -> None:
    workers(1)
    config = {"workerType": "FULL", "selection": BALANCE_ON_EMBEDDINGS}
    config_id = api.post("/v1/docker/worker/config/v3", json={"config": config}).get_json()["id"]
    response = api.post(
        f"/v1/datasets/{dataset}/docker/worker/schedule",
        query={"disableConfigValidation": "true"},
        json={"configId": config_id, "priority": "MID"},
    )
    assert response.status_code == 201
    failed = wait_run(api, response.get_json()["id"])
    assert failed["state"] == "FAILED"
    assert failed["message"] == (
        "The selection cannot run: strategy 1: strategy BALANCE cannot use input type "
        "EMBEDDINGS; it takes METADATA, PREDICTIONS"
    )
    assert api.get(f"/v1/datasets/{dataset}").get_json()["nSamples"] == 0
    assert api.get(f"/v1/datasets/{dataset}/tags").get_json() == []


def test_the_worker_registers_no_hidden_image(tmp_path: Path) -> None:
    """It would not be served (blobs.hidden): a sample whose image answers 403."""
    from runner.local.worker.inputs import DirectorySource

    for name in ("a.jpg", "sub/.b.jpg", ".cache/c.jpg", "sub/d.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    source = DirectorySource(tmp_path, None, tmp_path / "data")
    assert source.image_names() == ["a.jpg", "sub/d.png"]
