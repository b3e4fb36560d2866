"""Wire contract of the worker, datasource, export, prediction, artifact and selection operations.

Each case calls one operation against `responses` and checks every request it
made (method, path, query with the token last, JSON body) and the parsed result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import responses

from runner.client import (
    ApiWorkflowClient,
    ArtifactNotExist,
    ComputeWorkerRunInfo,
    InvalidConfigurationError,
)
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
W, C, S, R, A, T, E, J = (
    "b" * 24,
    "c" * 24,
    "d" * 24,
    "e" * 24,
    "f" * 24,
    "1" * 24,
    "2" * 24,
    "3" * 24,
)
THUMB = ".lightly/thumbnails/[filename]_thumb.[extension]"
SELECTION = {
    "n_samples": 2,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
SELECTION_WIRE = {
    "nSamples": 2,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
TAG = {
    "id": T,
    "name": "picked",
    "datasetId": DATASET_ID,
    "prevTagId": None,
    "bitMaskData": "0x3",
    "totSize": 2,
    "createdAt": 1,
}
RUN = {
    "id": R,
    "state": "COMPLETED",
    "artifacts": [{"id": A, "type": "LOG", "fileName": "log.txt"}],
}


@dataclass
class Case:
    operation: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: (method, path or absolute URL, JSON answer or text, status, content type)
    answers: list[tuple[str, str, Any, int, str]] = field(default_factory=list)
    #: (method, path, query or None to skip, body or None, authenticated)
    requests: list[tuple[str, str, list[tuple[str, str]] | None, Any, bool]] = field(
        default_factory=list
    )
    result: Any = None
    warns: type[Warning] | None = None


def ok(
    method: str,
    path: str,
    answer: Any = None,
    status: int = 200,
    content_type: str = "application/json",
) -> tuple[str, str, Any, int, str]:
    return (method, path, answer, status, content_type)


def call(
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: Any = None,
    auth: bool = True,
) -> tuple[str, str, Any, Any, bool]:
    return (method, path, [] if query is None else query, body, auth)


def datasource_setter(op: str, args: tuple[Any, ...], body: dict[str, Any]) -> Case:
    return Case(
        op,
        args,
        answers=[ok("PUT", f"{D}/datasource", {})],
        requests=[call("PUT", f"{D}/datasource", body=body)],
    )


def tag_lookup() -> list[tuple[str, str, Any, int, str]]:
    return [ok("GET", f"{D}/tags", [TAG]), ok("GET", f"{D}/tags/{T}", TAG)]


def export_pages(
    kind: str, rows: list[Any], by_name: bool = False, warns: type[Warning] | None = None
) -> Case:
    path = f"{D}/tags/{T}/export/{kind}"
    lookups = tag_lookup() if by_name else []
    pages = [ok("GET", path, rows), ok("GET", path, [])]
    name = {
        "LabelStudio/tasks": "label_studio_tasks",
        "LabelBox/datarows": "label_box_data_rows",
        "LabelBoxV4/datarows": "label_box_v4_data_rows",
    }[kind]
    op = f"export_{name}_by_tag_{'name' if by_name else 'id'}"
    requests = [call("GET", f"{D}/tags"), call("GET", f"{D}/tags/{T}")] if by_name else []
    requests += [
        call("GET", path, [("pageSize", "20000"), ("pageOffset", "0")]),
        call("GET", path, [("pageSize", "20000"), ("pageOffset", "20000")]),
    ]
    return Case(
        op,
        ("picked" if by_name else T,),
        answers=lookups + pages,
        requests=requests,
        result=rows,
        warns=warns,
    )


CASES = [
    Case(
        "get_datasource",
        answers=[
            ok(
                "GET",
                f"{D}/datasource",
                {"type": "LOCAL", "fullPath": "/d", "purpose": "INPUT_OUTPUT"},
            )
        ],
        requests=[call("GET", f"{D}/datasource")],
        result={"type": "LOCAL", "fullPath": "/d", "purpose": "INPUT_OUTPUT"},
    ),
    datasource_setter(
        "set_s3_config",
        ("s3://b/p/", "eu-central-1", "AK", "SK"),
        {
            "type": "S3",
            "fullPath": "s3://b/p/",
            "s3Region": "eu-central-1",
            "s3AccessKeyId": "AK",
            "s3SecretAccessKey": "SK",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": THUMB,
        },
    ),
    datasource_setter(
        "set_s3_delegated_access_config",
        (
            "s3://b/p/",
            "eu-central-1",
            "arn:aws:iam::123456789012:role/x",
            "external-id-1",
            None,
            "INPUT",
        ),
        {
            "type": "S3DelegatedAccess",
            "fullPath": "s3://b/p/",
            "s3Region": "eu-central-1",
            "s3ARN": "arn:aws:iam::123456789012:role/x",
            "s3ExternalId": "external-id-1",
            "purpose": "INPUT",
        },
    ),
    datasource_setter(
        "set_gcs_config",
        ("gs://b/p/", "proj", "{}"),
        {
            "type": "GCS",
            "fullPath": "gs://b/p/",
            "gcsProjectId": "proj",
            "gcsCredentials": "{}",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": THUMB,
        },
    ),
    datasource_setter(
        "set_azure_config",
        ("container/p/", "account", "sas"),
        {
            "type": "AZURE",
            "fullPath": "container/p/",
            "accountName": "account",
            "accountKey": "sas",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": THUMB,
        },
    ),
    datasource_setter(
        "set_obs_config",
        ("obs://b/p/", "https://obs.example.com", "id", "key"),
        {
            "type": "OBS",
            "fullPath": "obs://b/p/",
            "obsEndpoint": "https://obs.example.com",
            "obsAccessKeyId": "id",
            "obsSecretAccessKey": "key",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": THUMB,
        },
    ),
    datasource_setter(
        "set_local_config",
        ("/data/images",),
        {
            "type": "LOCAL",
            "fullPath": "/data/images",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": THUMB,
        },
    ),
    Case(
        "list_datasource_permissions",
        answers=[
            ok(
                "GET",
                f"{D}/datasource/verify",
                {
                    "canRead": True,
                    "canWrite": False,
                    "canList": True,
                    "canOverwrite": False,
                    "errors": {"canWrite": "denied"},
                },
            )
        ],
        requests=[call("GET", f"{D}/datasource/verify")],
        result={
            "can_list": True,
            "can_overwrite": False,
            "can_read": True,
            "can_write": False,
            "errors": {"can_write": "denied"},
        },
    ),
    Case(
        "get_processed_until_timestamp",
        answers=[
            ok("GET", f"{D}/datasource/processedUntilTimestamp", {"processedUntilTimestamp": 5})
        ],
        requests=[call("GET", f"{D}/datasource/processedUntilTimestamp")],
        result=5,
    ),
    Case(
        "update_processed_until_timestamp",
        (7,),
        answers=[ok("PUT", f"{D}/datasource/processedUntilTimestamp", {})],
        requests=[
            call(
                "PUT",
                f"{D}/datasource/processedUntilTimestamp",
                body={"processedUntilTimestamp": 7},
            )
        ],
    ),
    *[
        Case(
            op,
            ("file.json",),
            answers=[ok("GET", f"{D}/datasource/{kind}/file", "https://blob.test/x")],
            requests=[call("GET", f"{D}/datasource/{kind}/file", [("fileName", "file.json")])],
            result="https://blob.test/x",
        )
        for op, kind in (
            ("get_prediction_read_url", "predictions"),
            ("get_metadata_read_url", "metadata"),
            ("get_custom_embedding_read_url", "embeddings"),
        )
    ],
    Case(
        "download_raw_samples",
        kwargs={"from_": 1, "to": 2},
        answers=[
            ok(
                "GET",
                f"{D}/datasource/list",
                {"hasMore": True, "cursor": "c1", "data": [{"fileName": "a.jpg", "readUrl": "u1"}]},
            ),
            ok(
                "GET",
                f"{D}/datasource/list",
                {
                    "hasMore": False,
                    "cursor": "c2",
                    "data": [
                        {"fileName": "b.jpg", "readUrl": "u2"},
                        {"fileName": "../x.jpg", "readUrl": "u3"},
                    ],
                },
            ),
        ],
        requests=[
            call(
                "GET",
                f"{D}/datasource/list",
                [("from", "1"), ("to", "2"), ("useRedirectedReadUrl", "False")],
            ),
            call(
                "GET", f"{D}/datasource/list", [("cursor", "c1"), ("useRedirectedReadUrl", "False")]
            ),
        ],
        result=[("a.jpg", "u1"), ("b.jpg", "u2")],
        warns=UserWarning,
    ),
    Case(
        "download_raw_predictions",
        ("task",),
        {"from_": 1, "to": 2},
        answers=[
            ok(
                "GET",
                f"{D}/datasource/predictions/list",
                {
                    "hasMore": False,
                    "cursor": "c",
                    "data": [{"fileName": ".lightly/predictions/task/a.json", "readUrl": "u"}],
                },
            )
        ],
        requests=[
            call(
                "GET",
                f"{D}/datasource/predictions/list",
                [
                    ("taskName", "task"),
                    ("from", "1"),
                    ("to", "2"),
                    ("useRedirectedReadUrl", "False"),
                ],
            )
        ],
        result=[(".lightly/predictions/task/a.json", "u")],
    ),
    Case(
        "download_raw_metadata",
        kwargs={"from_": 1, "to": 2, "run_id": R, "relevant_filenames_artifact_id": A},
        answers=[
            ok(
                "GET",
                f"{D}/datasource/metadata/list",
                {"hasMore": False, "cursor": "c", "data": []},
            )
        ],
        requests=[
            call(
                "GET",
                f"{D}/datasource/metadata/list",
                [
                    ("from", "1"),
                    ("to", "2"),
                    ("useRedirectedReadUrl", "False"),
                    ("relevantFilenamesRunId", R),
                    ("relevantFilenamesArtifactId", A),
                ],
            )
        ],
        result=[],
    ),
    Case(
        "download_new_raw_samples",
        answers=[
            ok("GET", f"{D}/datasource/processedUntilTimestamp", {"processedUntilTimestamp": 10}),
            ok(
                "GET",
                f"{D}/datasource/list",
                {"hasMore": False, "cursor": "c", "data": [{"fileName": "n.jpg", "readUrl": "u"}]},
            ),
            ok("PUT", f"{D}/datasource/processedUntilTimestamp", {}),
        ],
        requests=[
            call("GET", f"{D}/datasource/processedUntilTimestamp"),
            ("GET", f"{D}/datasource/list", None, None, True),
            ("PUT", f"{D}/datasource/processedUntilTimestamp", None, None, True),
        ],
        result=[("n.jpg", "u")],
    ),
    Case(
        "create_or_update_prediction_task_schema",
        ({"name": "det", "type": "OBJECT_DETECTION", "categories": [{"id": 0, "name": "dog"}]}, 3),
        answers=[ok("POST", f"{D}/predictions/tasks", {"id": C}, 201)],
        requests=[
            call(
                "POST",
                f"{D}/predictions/tasks",
                [("predictionUUIDTimestamp", "3")],
                {
                    "name": "det",
                    "type": "OBJECT_DETECTION",
                    "categories": [{"id": 0, "name": "dog"}],
                },
            )
        ],
    ),
    Case(
        "create_or_update_prediction",
        (S, [{"type": "CLASSIFICATION", "taskName": "c", "categoryId": 1, "score": 0.5}], 3),
        answers=[ok("POST", f"{D}/predictions/samples/{S}", {"id": C}, 201)],
        requests=[
            call(
                "POST",
                f"{D}/predictions/samples/{S}",
                [("predictionUUIDTimestamp", "3")],
                [{"type": "CLASSIFICATION", "taskName": "c", "categoryId": 1, "score": 0.5}],
            )
        ],
    ),
    Case(
        "create_or_update_predictions",
        ({S: [{"type": "CLASSIFICATION", "taskName": "c", "categoryId": 0, "score": 1.0}]}, 4),
        answers=[ok("POST", f"{D}/predictions/samples/{S}", {"id": C}, 201)],
        requests=[
            call(
                "POST",
                f"{D}/predictions/samples/{S}",
                [("predictionUUIDTimestamp", "4")],
                [{"type": "CLASSIFICATION", "taskName": "c", "categoryId": 0, "score": 1.0}],
            )
        ],
    ),
    export_pages(
        "LabelStudio/tasks", [{"id": 0, "data": {"image": "u", "lightlyFileName": "a.jpg"}}]
    ),
    export_pages(
        "LabelStudio/tasks",
        [{"id": 0, "data": {"image": "u", "lightlyFileName": "a.jpg"}}],
        by_name=True,
    ),
    export_pages(
        "LabelBox/datarows", [{"externalId": "a.jpg", "imageUrl": "u"}], warns=DeprecationWarning
    ),
    export_pages(
        "LabelBox/datarows",
        [{"externalId": "a.jpg", "imageUrl": "u"}],
        by_name=True,
        warns=DeprecationWarning,
    ),
    export_pages(
        "LabelBoxV4/datarows", [{"row_data": "u", "global_key": "a.jpg", "media_type": "IMAGE"}]
    ),
    export_pages(
        "LabelBoxV4/datarows",
        [{"row_data": "u", "global_key": "a.jpg", "media_type": "IMAGE"}],
        by_name=True,
    ),
    Case(
        "export_filenames_by_tag_id",
        (T,),
        answers=[
            ok(
                "GET",
                f"{D}/tags/{T}/export/basic/filenames",
                "1e3\ntrue",
                content_type="text/plain",
            )
        ],
        requests=[call("GET", f"{D}/tags/{T}/export/basic/filenames")],
        result="1e3\ntrue",
    ),
    Case(
        "export_filenames_by_tag_name",
        ("picked",),
        answers=[
            *tag_lookup(),
            ok("GET", f"{D}/tags/{T}/export/basic/filenames", "a.jpg", content_type="text/plain"),
        ],
        requests=[
            call("GET", f"{D}/tags"),
            call("GET", f"{D}/tags/{T}"),
            call("GET", f"{D}/tags/{T}/export/basic/filenames"),
        ],
        result="a.jpg",
    ),
    *[
        Case(
            op,
            (key,),
            answers=[
                *(tag_lookup() if key == "picked" else []),
                ok(
                    "GET",
                    f"{D}/tags/{T}/export/basic/filenames",
                    "a.jpg\nb.jpg",
                    content_type="text/plain",
                ),
                ok(
                    "GET",
                    f"{D}/tags/{T}/export/basic/filenames",
                    "ua\nub",
                    content_type="text/plain",
                ),
                ok(
                    "GET",
                    f"{D}/tags/{T}/export/basic/filenames",
                    "s3://b/a.jpg\ns3://b/b.jpg",
                    content_type="text/plain",
                ),
            ],
            requests=[
                *(
                    [call("GET", f"{D}/tags"), call("GET", f"{D}/tags/{T}")]
                    if key == "picked"
                    else []
                ),
                *[
                    call("GET", f"{D}/tags/{T}/export/basic/filenames", [("fileNameFormat", f)])
                    for f in ("NAME", "REDIRECTED_READ_URL", "DATASOURCE_FULL")
                ],
            ],
            result=[
                {"fileName": "a.jpg", "readUrl": "ua", "datasourceUrl": "s3://b/a.jpg"},
                {"fileName": "b.jpg", "readUrl": "ub", "datasourceUrl": "s3://b/b.jpg"},
            ],
        )
        for op, key in (
            ("export_filenames_and_read_urls_by_tag_id", T),
            ("export_filenames_and_read_urls_by_tag_name", "picked"),
        )
    ],
    Case(
        "register_compute_worker",
        ("gpu-box", ["gpu"]),
        answers=[ok("POST", "/v1/docker/worker", {"id": W}, 201)],
        requests=[
            call(
                "POST",
                "/v1/docker/worker",
                body={
                    "name": "gpu-box",
                    "workerType": "FULL",
                    "labels": ["gpu"],
                    "creator": "USER_PIP",
                },
            )
        ],
        result=W,
    ),
    Case(
        "get_compute_worker_ids",
        answers=[ok("GET", "/v1/docker/worker", [{"id": W, "name": "w"}])],
        requests=[call("GET", "/v1/docker/worker")],
        result=[W],
    ),
    Case(
        "get_compute_workers",
        answers=[ok("GET", "/v1/docker/worker", [{"id": W, "name": "w"}])],
        requests=[call("GET", "/v1/docker/worker")],
        result=[{"id": W, "name": "w"}],
    ),
    Case(
        "delete_compute_worker",
        (W,),
        answers=[ok("DELETE", f"/v1/docker/worker/{W}")],
        requests=[call("DELETE", f"/v1/docker/worker/{W}")],
    ),
    Case(
        "create_compute_worker_config",
        kwargs={
            "worker_config": {
                "enable_training": False,
                "corruptness_check": {"corruption_threshold": 0.1},
            },
            "selection_config": SELECTION,
        },
        answers=[ok("POST", "/v1/docker/worker/config/v3", {"id": C}, 201)],
        requests=[
            call(
                "POST",
                "/v1/docker/worker/config/v3",
                body={
                    "config": {
                        "workerType": "FULL",
                        "docker": {
                            "enableTraining": False,
                            "corruptnessCheck": {"corruptionThreshold": 0.1},
                        },
                        "selection": SELECTION_WIRE,
                    },
                    "creator": "USER_PIP",
                },
            )
        ],
        result=C,
    ),
    Case(
        "schedule_compute_worker_run",
        kwargs={"selection_config": SELECTION, "priority": "HIGH", "runs_on": ["gpu"]},
        answers=[
            ok("POST", "/v1/docker/worker/config/v3", {"id": C}, 201),
            ok("POST", f"{D}/docker/worker/schedule", {"id": S}, 201),
        ],
        requests=[
            call(
                "POST",
                "/v1/docker/worker/config/v3",
                body={
                    "config": {"workerType": "FULL", "selection": SELECTION_WIRE},
                    "creator": "USER_PIP",
                },
            ),
            call(
                "POST",
                f"{D}/docker/worker/schedule",
                body={"configId": C, "priority": "HIGH", "runsOn": ["gpu"], "creator": "USER_PIP"},
            ),
        ],
        result=S,
    ),
    Case(
        "get_compute_worker_runs_iter",
        answers=[ok("GET", "/v1/docker/runs", [RUN]), ok("GET", "/v1/docker/runs", [])],
        requests=[
            call("GET", "/v1/docker/runs", [("pageSize", "5000"), ("pageOffset", "0")]),
            call("GET", "/v1/docker/runs", [("pageSize", "5000"), ("pageOffset", "5000")]),
        ],
        result=[RUN],
    ),
    Case(
        "get_compute_worker_runs",
        (DATASET_ID,),
        answers=[
            ok(
                "GET",
                f"/v1/docker/runs/query/datasetId/{DATASET_ID}",
                [{"id": "2", "createdAt": 2}, {"id": "1", "createdAt": 1}],
            ),
            ok("GET", f"/v1/docker/runs/query/datasetId/{DATASET_ID}", []),
        ],
        requests=[
            call(
                "GET",
                f"/v1/docker/runs/query/datasetId/{DATASET_ID}",
                [("pageSize", "5000"), ("pageOffset", "0")],
            ),
            call(
                "GET",
                f"/v1/docker/runs/query/datasetId/{DATASET_ID}",
                [("pageSize", "5000"), ("pageOffset", "5000")],
            ),
        ],
        result=[{"id": "1", "createdAt": 1}, {"id": "2", "createdAt": 2}],
    ),
    Case(
        "get_compute_worker_run",
        (R,),
        answers=[ok("GET", f"/v1/docker/runs/{R}", RUN)],
        requests=[call("GET", f"/v1/docker/runs/{R}")],
        result=RUN,
    ),
    Case(
        "get_compute_worker_run_from_scheduled_run",
        (S,),
        answers=[ok("GET", f"/v1/docker/runs/schedule/{S}", RUN)],
        requests=[call("GET", f"/v1/docker/runs/schedule/{S}")],
        result=RUN,
    ),
    Case(
        "get_scheduled_compute_worker_runs",
        ("OPEN",),
        answers=[ok("GET", f"{D}/docker/worker/schedule", [{"id": S, "state": "OPEN"}])],
        requests=[call("GET", f"{D}/docker/worker/schedule", [("state", "OPEN")])],
        result=[{"id": S, "state": "OPEN"}],
    ),
    Case(
        "get_compute_worker_run_info",
        (S,),
        answers=[
            ok(
                "GET",
                f"/v1/docker/runs/schedule/{S}",
                {"code": "DOCKER_RUN_UNKNOWN", "error": "not yet"},
                404,
            ),
            ok("GET", f"{D}/docker/worker/schedule", [{"id": S}]),
        ],
        requests=[
            call("GET", f"/v1/docker/runs/schedule/{S}"),
            call("GET", f"{D}/docker/worker/schedule"),
        ],
        result=ComputeWorkerRunInfo(
            "OPEN",
            "Waiting for pickup by Lightly Worker. Make sure to start a Lightly Worker connected to your user token to process the job.",
        ),
    ),
    Case(
        "compute_worker_run_info_generator",
        (S,),
        answers=[
            ok("GET", f"/v1/docker/runs/schedule/{S}", {"state": "COMPLETED", "message": "done"})
        ],
        requests=[call("GET", f"/v1/docker/runs/schedule/{S}")],
        result=[ComputeWorkerRunInfo("COMPLETED", "done")],
    ),
    Case(
        "get_compute_worker_run_tags",
        (R,),
        answers=[ok("GET", f"/v1/docker/runs/{R}/tags", [TAG, {**TAG, "datasetId": "9" * 24}])],
        requests=[call("GET", f"/v1/docker/runs/{R}/tags")],
        result=[TAG],
    ),
    Case(
        "get_compute_worker_run_checkpoint_url",
        ({"id": R, "artifacts": [{"id": A, "type": "CHECKPOINT", "fileName": "c.ckpt"}]},),
        answers=[ok("GET", f"/v1/docker/runs/{R}/artifacts/{A}/readurl", "https://blob.test/c")],
        requests=[call("GET", f"/v1/docker/runs/{R}/artifacts/{A}/readurl")],
        result="https://blob.test/c",
    ),
    Case(
        "upload_scores",
        ({"uncertainty": [0.1, 0.2]}, T),
        answers=[ok("POST", f"{D}/tags/{T}/scores", {"id": C}, 201)],
        requests=[
            call(
                "POST",
                f"{D}/tags/{T}/scores",
                body={"scoreType": "uncertainty", "scores": [0.1, 0.2]},
            )
        ],
    ),
    Case(
        "selection",
        ({"method": "RANDOM", "n_samples": 2, "name": "sel-1"},),
        answers=[
            ok("GET", f"{D}/tags", [{**TAG, "name": "initial-tag"}]),
            ok("GET", f"{D}/embeddings", [{"id": E, "name": "default"}]),
            ok("GET", f"{D}/tags", [{**TAG, "name": "initial-tag"}]),
            ok("POST", f"{D}/embeddings/{E}/sampling", {"jobId": J}),
            ok(
                "GET",
                f"/v1/jobs/{J}",
                {
                    "id": J,
                    "status": "FINISHED",
                    "waitTimeTillNextPoll": 0,
                    "result": {"type": "SAMPLING", "data": T},
                },
            ),
            ok("GET", f"{D}/tags/{T}", TAG),
        ],
        requests=[
            call("GET", f"{D}/tags"),
            call("GET", f"{D}/embeddings"),
            call("GET", f"{D}/tags"),
            call(
                "POST",
                f"{D}/embeddings/{E}/sampling",
                body={
                    "newTagName": "sel-1",
                    "method": "RANDOM",
                    "config": {"stoppingCondition": {"nSamples": 2, "minDistance": -1}},
                    "rowCount": 2,
                },
            ),
            call("GET", f"/v1/jobs/{J}"),
            call("GET", f"{D}/tags/{T}"),
        ],
        result=TAG,
        warns=DeprecationWarning,
    ),
]

ARTIFACT_DOWNLOADS = {
    "download_compute_worker_run_checkpoint": "CHECKPOINT",
    "download_compute_worker_run_report_pdf": "REPORT_PDF",
    "download_compute_worker_run_report_json": "REPORT_JSON",
    "download_compute_worker_run_log": "LOG",
    "download_compute_worker_run_memory_log": "MEMLOG",
    "download_compute_worker_run_corruptness_check_information": "CORRUPTNESS_CHECK_INFORMATION",
    "download_compute_worker_run_sequence_information": "SEQUENCE_INFORMATION",
}


def _register(
    mocked: responses.RequestsMock, answers: list[tuple[str, str, Any, int, str]]
) -> None:
    for method, path, answer, status, content_type in answers:
        url = path if path.startswith("http") else SERVER + path
        body = (
            answer
            if isinstance(answer, (str, bytes)) and content_type != "application/json"
            else json.dumps(answer)
        )
        mocked.add(method, url, body=body, status=status, content_type=content_type)


def _plain(value: Any) -> Any:
    return (
        json.loads(json.dumps(value))
        if isinstance(value, (dict, list))
        and not (
            value
            and isinstance(value, list)
            and isinstance(value[0], (tuple, ComputeWorkerRunInfo))
        )
        else value
    )


@covers(*(case.operation for case in CASES))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.operation)
def test_operation_on_the_wire(
    case: Case, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    client.run_info_poll_interval = 0  # type: ignore[attr-defined]
    client.wait_time_till_next_poll = 0  # type: ignore[attr-defined]
    _register(mocked, case.answers)
    method = getattr(client, case.operation)
    if case.warns is not None:
        with pytest.warns(case.warns):
            result = method(*case.args, **case.kwargs)
    else:
        result = method(*case.args, **case.kwargs)
    if case.operation in ("compute_worker_run_info_generator", "get_compute_worker_runs_iter"):
        result = list(result)
    assert _plain(result) == _plain(case.result)
    assert len(mocked.calls) == len(case.requests), [c.request.url for c in mocked.calls]
    for recorded, (method_name, path, query, body, auth) in zip(
        mocked.calls, case.requests, strict=True
    ):
        if query is None:
            assert recorded.request.method == method_name and path in recorded.request.url
            continue
        assert_call(recorded, method_name, path, query, body, authenticated=auth)


@covers("download_compute_worker_run_artifacts", *ARTIFACT_DOWNLOADS)
@pytest.mark.parametrize(
    "operation", ["download_compute_worker_run_artifacts", *ARTIFACT_DOWNLOADS]
)
def test_artifact_downloads(
    operation: str, client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    artifact_type = ARTIFACT_DOWNLOADS.get(operation, "LOG")
    run = {"id": R, "artifacts": [{"id": A, "type": artifact_type, "fileName": "out/file.bin"}]}
    _register(
        mocked,
        [
            ok("GET", f"/v1/docker/runs/{R}/artifacts/{A}/readurl", "https://blob.test/a?sig=1"),
            ok("GET", "https://blob.test/a", "payload", content_type="application/octet-stream"),
        ],
    )
    if operation == "download_compute_worker_run_artifacts":
        getattr(client, operation)(run, str(tmp_path))
        written = tmp_path / "out" / "file.bin"
    else:
        written = tmp_path / "x.bin"
        getattr(client, operation)(run, str(written))
    assert written.read_text() == "payload"
    assert_call(mocked.calls[0], "GET", f"/v1/docker/runs/{R}/artifacts/{A}/readurl")
    assert "token=" not in mocked.calls[1].request.url


def test_artifact_errors(client: ApiWorkflowClient, tmp_path: Path) -> None:
    with pytest.raises(ArtifactNotExist, match=r"^Run has no artifacts\.$"):
        client.download_compute_worker_run_log({"id": R, "artifacts": None}, str(tmp_path / "x"))
    with pytest.raises(ArtifactNotExist, match=r"^No artifact with type 'LOG' in artifacts\.$"):
        client.download_compute_worker_run_log({"id": R, "artifacts": []}, str(tmp_path / "x"))


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a/../../b", "C:\\x", "dir\\..\\x"])
def test_hostile_artifact_name_is_refused(
    name: str, client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    run = {"id": R, "artifacts": [{"id": A, "type": "LOG", "fileName": name}]}
    with pytest.raises(ValueError, match="refusing to write file"):
        client.download_compute_worker_run_artifacts(run, str(tmp_path / "out"))
    assert not mocked.calls


def test_unknown_config_key_suggests_the_right_one(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(
        InvalidConfigurationError,
        match=r"Option 'enable_trainig' does not exist.*Did you mean 'enable_training'",
    ):
        client.create_compute_worker_config(worker_config={"enable_trainig": True})
    with pytest.raises(InvalidConfigurationError, match="strategies"):
        client.schedule_compute_worker_run(selection_config={"n_samples": 2})
    assert not mocked.calls


def test_run_info_of_unknown_run(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    _register(
        mocked,
        [
            ok("GET", f"/v1/docker/runs/schedule/{S}", {"code": "NOT_FOUND", "error": "x"}, 404),
            ok("GET", f"{D}/docker/worker/schedule", []),
        ],
    )
    info = client.get_compute_worker_run_info(S)
    assert info.state == "CANCELED_OR_NOT_EXISTING" and info.in_end_state()
    with pytest.raises(ValueError, match="still in progress"):
        ComputeWorkerRunInfo("OPEN", None).ended_successfully()


def test_negative_prediction_version_is_refused_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match="prediction_version_id"):
        client.create_or_update_prediction_task_schema(
            {"name": "x", "type": "CLASSIFICATION", "categories": []}
        )
    with pytest.raises(ValueError, match="prediction_version_id"):
        client.create_or_update_predictions({S: []}, prediction_version_id=-5)
    assert not mocked.calls


def test_datasource_arguments_are_checked_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(ValueError, match="region"):
        client.set_s3_config("s3://b/", "mars-north-1", "a", "b")
    with pytest.raises(ValueError, match="obs_endpoint"):
        client.set_obs_config("obs://b/", "obs.example.com", "a", "b")
    with pytest.raises(ValueError, match="run_id and relevant_filenames_artifact_id"):
        client.download_raw_metadata(run_id=R)
    assert not mocked.calls
