"""Active-learning scores and the deprecated legacy selection (jobs API) on the wire."""

from __future__ import annotations

import enum
import json
import re
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import responses

from runner.client import ApiWorkflowClient, NotFound
from runner.client import selection as selection_module
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
INITIAL, QUERY, PRESELECTED, NEW = "0" * 24, "1" * 24, "2" * 24, "3" * 24
EMBEDDING, JOB = "e" * 24, "f" * 24
TAGS = [{"id": INITIAL, "name": "initial-tag", "totSize": 7}]
NEW_TAG = {"id": NEW, "name": "sel", "totSize": 7, "bitMaskData": "0x5"}


def answer(
    mocked: responses.RequestsMock, method: str, path: str, body: Any, status: int = 200
) -> None:
    mocked.add(method, SERVER + path, json=body, status=status)


def job(status: str, wait: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": JOB, "status": status, "waitTimeTillNextPoll": wait, "createdAt": 1, **extra}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(selection_module.time, "sleep", recorded.append)
    return recorded


@covers("upload_scores")
def test_scores_per_type(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    path = f"{D}/tags/{QUERY}/scores"
    answer(mocked, "POST", path, {"id": "c" * 24}, 201)
    scores = {
        "uncertainty_margin": np.array([0.1, 0.25], dtype=np.float32),
        "uncertainty_entropy": [1, 0.5],
    }
    assert client.upload_scores(scores, QUERY) is None
    assert_call(
        mocked.calls[0],
        "POST",
        path,
        body={"scoreType": "uncertainty_margin", "scores": [float(np.float32(0.1)), 0.25]},
    )
    assert_call(
        mocked.calls[1],
        "POST",
        path,
        body={"scoreType": "uncertainty_entropy", "scores": [1.0, 0.5]},
    )


def test_scores_for_an_unknown_tag(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "POST", f"{D}/tags/{QUERY}/scores", {"code": "TAG_UNKNOWN", "error": "x"}, 404)
    with pytest.raises(NotFound):
        client.upload_scores({"s": [0.5]}, QUERY)


def selection_answers(mocked: responses.RequestsMock, *statuses: dict[str, Any]) -> None:
    answer(mocked, "GET", f"{D}/tags", TAGS)
    answer(mocked, "POST", f"{D}/embeddings/{EMBEDDING}/sampling", {"jobId": JOB})
    for status in statuses:
        answer(mocked, "GET", f"/v1/jobs/{JOB}", status)
    answer(mocked, "GET", f"{D}/tags/{NEW}", NEW_TAG)


@covers("selection")
def test_selection_polls_the_job_and_returns_the_new_tag(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    client.embedding_id = EMBEDDING  # known: no GET D/embeddings
    client.wait_time_till_next_poll = 0.25
    selection_answers(
        mocked,
        job("WAITING", 3),
        job("RUNNING", 2),
        job("UNKNOWN", 1),
        job("FINISHED", 1, result={"type": "SAMPLING", "data": NEW}),
    )
    config = {"method": "CORESET", "n_samples": 3, "min_distance": 0.5, "name": "sel"}
    with pytest.warns(DeprecationWarning, match="deprecated"):
        tag = client.selection(config, preselected_tag_id=PRESELECTED, query_tag_id=QUERY)
    assert tag == NEW_TAG and tag.bit_mask_data == "0x5"
    assert sleeps == [0.25, 3, 2, 1]  # first the attribute, then the server's hint
    calls = list(mocked.calls)
    assert_call(calls[0], "GET", f"{D}/tags")
    assert_call(calls[1], "GET", f"{D}/tags")
    assert_call(
        calls[2],
        "POST",
        f"{D}/embeddings/{EMBEDDING}/sampling",
        body={
            "newTagName": "sel",
            "method": "CORESET",
            "config": {"stoppingCondition": {"nSamples": 3, "minDistance": 0.5}},
            "preselectedTagId": PRESELECTED,
            "queryTagId": QUERY,
            "rowCount": 7,
        },
    )
    for call in calls[3:7]:
        assert_call(call, "GET", f"/v1/jobs/{JOB}")
    assert_call(calls[7], "GET", f"{D}/tags/{NEW}")


class SamplingMethod(str, enum.Enum):
    RANDOM = "RANDOM"


def test_selection_defaults_and_legacy_config_objects(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    client.embedding_id = EMBEDDING
    selection_answers(mocked, job("FINISHED", result={"type": "SAMPLING", "data": NEW}))
    legacy = SimpleNamespace(method=SamplingMethod.RANDOM, n_samples=2, min_distance=-1, name=None)
    with pytest.warns(DeprecationWarning):
        client.selection(legacy)  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning):
        client.selection({})
    first, second = (c for c in mocked.calls if c.request.method == "POST")

    body = json.loads(first.request.body)
    assert body["method"] == "RANDOM"
    assert body["config"] == {"stoppingCondition": {"nSamples": 2, "minDistance": -1}}
    assert re.fullmatch(r"RANDOM_2_-1_\d\d_\d\d_\d{4}__\d\d_\d\d_\d\d", body["newTagName"])
    defaults = json.loads(second.request.body)
    assert defaults["config"] == {"stoppingCondition": {"nSamples": 32, "minDistance": -1}}
    assert defaults["newTagName"].startswith("CORESET_32_-1_")
    assert "preselectedTagId" not in defaults and "queryTagId" not in defaults


def test_selection_fetches_the_latest_embedding_when_unset(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    answer(mocked, "GET", f"{D}/embeddings", [{"id": EMBEDDING, "name": "default"}])
    selection_answers(mocked, job("FINISHED", result={"type": "SAMPLING", "data": NEW}))
    with pytest.warns(DeprecationWarning):
        client.selection({"name": "sel"})
    assert client.embedding_id == EMBEDDING
    assert [c.request.url.split("?")[0].removeprefix(SERVER) for c in mocked.calls][:3] == [
        f"{D}/tags",
        f"{D}/embeddings",
        f"{D}/tags",
    ]


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([], "There exists no initial-tag for this dataset."),
        (
            [*TAGS, {"id": NEW, "name": "sel", "totSize": 7}],
            "There already exists a tag with tag_name sel.",
        ),
    ],
)
def test_selection_refuses_before_starting_a_job(
    tags: list[dict[str, Any]],
    message: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    answer(mocked, "GET", f"{D}/tags", tags)
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError) as caught:
        client.selection({"name": "sel"})
    assert str(caught.value) == message
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("final", "message"),
    [
        (
            job("FAILED", error="out of memory"),
            f"Selection job with job_id {JOB} failed with error out of memory",
        ),
        (
            job("FINISHED", result={"type": "SAMPLING", "data": None}),
            f"TagId returned by job with job_id {JOB} is None.",
        ),
    ],
)
def test_selection_job_failures(
    final: dict[str, Any],
    message: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    sleeps: list[float],
) -> None:
    client.embedding_id = EMBEDDING
    selection_answers(mocked, final)
    with pytest.warns(DeprecationWarning), pytest.raises(RuntimeError) as caught:
        client.selection({"name": "sel"})
    assert str(caught.value) == message


@pytest.mark.parametrize(("failures", "succeeds"), [(19, True), (20, False)])
def test_selection_tolerates_19_failed_polls(
    failures: int,
    succeeds: bool,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    sleeps: list[float],
) -> None:
    client.embedding_id = EMBEDDING
    gone = {"code": "JOB_UNKNOWN", "error": "not yet"}
    answer(mocked, "GET", f"{D}/tags", TAGS)
    answer(mocked, "POST", f"{D}/embeddings/{EMBEDDING}/sampling", {"jobId": JOB})
    for _ in range(failures):
        answer(mocked, "GET", f"/v1/jobs/{JOB}", gone, 404)
    answer(
        mocked, "GET", f"/v1/jobs/{JOB}", job("FINISHED", result={"type": "SAMPLING", "data": NEW})
    )
    answer(mocked, "GET", f"{D}/tags/{NEW}", NEW_TAG)
    with pytest.warns(DeprecationWarning):
        if succeeds:
            assert client.selection({"name": "sel"}) == NEW_TAG
        else:
            with pytest.raises(NotFound, match="JOB_UNKNOWN"):
                client.selection({"name": "sel"})
    polls = [c for c in mocked.calls if "/v1/jobs/" in c.request.url]
    assert len(polls) == (failures + 1 if succeeds else 20)
