"""Run artifacts: read URLs, streamed downloads, lookups by type, hostile file names."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import responses

from runner.client import ApiWorkflowClient, ArtifactNotExist, NotFound, ServerError
from tests.client.contract import SERVER, assert_call, covers

RUN = "e" * 24
A1, A2, A3 = "1" * 24, "2" * 24, "3" * 24
BLOB = "https://blob.test"

SINGLE = {
    "download_compute_worker_run_checkpoint": "CHECKPOINT",
    "download_compute_worker_run_report_pdf": "REPORT_PDF",
    "download_compute_worker_run_report_json": "REPORT_JSON",
    "download_compute_worker_run_log": "LOG",
    "download_compute_worker_run_memory_log": "MEMLOG",
    "download_compute_worker_run_corruptness_check_information": "CORRUPTNESS_CHECK_INFORMATION",
    "download_compute_worker_run_sequence_information": "SEQUENCE_INFORMATION",
}


def read_url(mocked: responses.RequestsMock, artifact_id: str, content: bytes) -> None:
    """The readurl endpoint of ``artifact_id`` and the signed blob behind it."""
    url = f"{BLOB}/{artifact_id}?sig=s3cr3t"
    mocked.add("GET", f"{SERVER}/v1/docker/runs/{RUN}/artifacts/{artifact_id}/readurl", json=url)
    mocked.add("GET", url, body=content, content_type="application/octet-stream")


def artifact(artifact_id: str, kind: str, name: str) -> dict[str, str]:
    return {"id": artifact_id, "type": kind, "fileName": name}


@covers("download_compute_worker_run_artifacts")
def test_every_artifact_lands_under_output_dir(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    run = {
        "id": RUN,
        "artifacts": [
            artifact(A1, "LOG", "log.txt"),
            artifact(A2, "REPORT_PDF", "report/report.pdf"),
            artifact(A3, "CHECKPOINT", "checkpoints/last.ckpt"),
        ],
    }
    for artifact_id, content in ((A1, b"log"), (A2, b"%PDF"), (A3, b"\x00" * 100_000)):
        read_url(mocked, artifact_id, content)
    assert client.download_compute_worker_run_artifacts(run, str(tmp_path), timeout=5) is None
    assert (tmp_path / "log.txt").read_bytes() == b"log"
    assert (tmp_path / "report" / "report.pdf").read_bytes() == b"%PDF"
    assert (tmp_path / "checkpoints" / "last.ckpt").read_bytes() == b"\x00" * 100_000
    api_calls, blob_calls = mocked.calls[0::2], mocked.calls[1::2]
    for call, artifact_id in zip(api_calls, (A1, A2, A3), strict=True):
        assert_call(call, "GET", f"/v1/docker/runs/{RUN}/artifacts/{artifact_id}/readurl")
    for call in blob_calls:
        assert "token=" not in call.request.url
        assert call.request.req_kwargs["stream"] is True
        assert call.request.req_kwargs["timeout"] == 5
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["log.txt", "report", "report.pdf", "checkpoints", "last.ckpt"]
    )  # no temporary files left behind


def test_run_with_snake_case_attributes(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    """An official DockerRunData-like object works as well as a wire dict."""
    run = SimpleNamespace(
        id=RUN, artifacts=[SimpleNamespace(id=A1, type="LOG", file_name="worker.log")]
    )
    read_url(mocked, A1, b"hello")
    client.download_compute_worker_run_artifacts(run, str(tmp_path))
    assert (tmp_path / "worker.log").read_bytes() == b"hello"
    client.download_compute_worker_run_log(run, str(tmp_path / "again.log"))
    assert (tmp_path / "again.log").read_bytes() == b"hello"


def test_run_without_artifacts_downloads_nothing(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    client.download_compute_worker_run_artifacts({"id": RUN, "artifacts": None}, str(tmp_path))
    client.download_compute_worker_run_artifacts({"id": RUN}, str(tmp_path))
    assert not mocked.calls and not list(tmp_path.iterdir())


HOSTILE = [
    "../evil.txt",
    "/etc/passwd",
    "a/../../b",
    "a/./b",
    "..",
    "",
    "C:\\x",
    "C:x",
    "dir\\..\\x",
    "nul\x00byte",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_name_is_refused_before_any_download(
    name: str, client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    run = {"id": RUN, "artifacts": [artifact(A1, "LOG", "ok.txt"), artifact(A2, "LOG", name)]}
    with pytest.raises(ValueError, match="refusing to write file") as caught:
        client.download_compute_worker_run_artifacts(run, str(tmp_path / "out"))
    assert repr(name) in str(caught.value)
    assert not mocked.calls
    assert not (tmp_path / "out").exists()


def test_symlink_out_of_output_dir_is_refused(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "link")
    run = {"id": RUN, "artifacts": [artifact(A1, "LOG", "link/x.txt")]}
    with pytest.raises(ValueError, match="resolves outside"):
        client.download_compute_worker_run_artifacts(run, str(out))
    assert not mocked.calls


@covers(*SINGLE)
@pytest.mark.parametrize("operation", sorted(SINGLE))
def test_single_artifact_downloads_take_the_first_of_their_type(
    operation: str, client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    kind = SINGLE[operation]
    other = "LOG" if kind != "LOG" else "MEMLOG"
    run = {
        "id": RUN,
        "artifacts": [
            artifact(A1, other, "other"),
            artifact(A2, kind, "../ignored-name"),  # the caller's output_path is used
            artifact(A3, kind, "second"),
        ],
    }
    read_url(mocked, A2, b"first of its type")
    target = tmp_path / "sub" / "file.out"
    assert getattr(client, operation)(run, str(target)) is None
    assert target.read_bytes() == b"first of its type"
    assert_call(mocked.calls[0], "GET", f"/v1/docker/runs/{RUN}/artifacts/{A2}/readurl")
    assert mocked.calls[1].request.req_kwargs["timeout"] == 60


@pytest.mark.parametrize("operation", sorted(SINGLE))
@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        (None, "Run has no artifacts."),
        ([], "No artifact with type '{kind}' in artifacts."),
        (
            [artifact(A1, "RELEVANT_FILENAMES", "r.txt")],
            "No artifact with type '{kind}' in artifacts.",
        ),
    ],
)
def test_missing_artifact_raises_artifact_not_exist(
    operation: str,
    artifacts: list[dict[str, str]] | None,
    message: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
) -> None:
    with pytest.raises(ArtifactNotExist) as caught:
        getattr(client, operation)({"id": RUN, "artifacts": artifacts}, str(tmp_path / "x"))
    assert str(caught.value) == message.format(kind=SINGLE[operation])
    assert not mocked.calls and not (tmp_path / "x").exists()


@pytest.mark.parametrize("operation", ["download_compute_worker_run_artifacts", *sorted(SINGLE)])
@pytest.mark.parametrize("run", [RUN, {"artifacts": []}, None], ids=["run id", "no id", "None"])
def test_something_other_than_a_run_is_refused_before_any_request(
    operation: str,
    run: object,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
) -> None:
    """A run id string would otherwise look like a run without artifacts (nothing
    downloaded, or "Run has no artifacts")."""
    with pytest.raises(ValueError, match=r"^run must be a run \(DockerRunData\), e.g. from get_"):
        getattr(client, operation)(run, str(tmp_path / "x"))
    with pytest.raises(ValueError, match="run must be a run"):
        client.get_compute_worker_run_checkpoint_url(run)
    assert not mocked.calls and not list(tmp_path.iterdir())


@covers("get_compute_worker_run_checkpoint_url")
def test_checkpoint_url(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    run: dict[str, Any] = {"id": RUN, "artifacts": [artifact(A3, "CHECKPOINT", "c.ckpt")]}
    read_url(mocked, A3, b"")
    assert client.get_compute_worker_run_checkpoint_url(run) == f"{BLOB}/{A3}?sig=s3cr3t"
    assert len(mocked.calls) == 1  # nothing downloaded
    with pytest.raises(ArtifactNotExist, match=r"^No artifact with type 'CHECKPOINT'"):
        client.get_compute_worker_run_checkpoint_url({"id": RUN, "artifacts": []})


def test_unknown_artifact_raises_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.add(
        "GET",
        f"{SERVER}/v1/docker/runs/{RUN}/artifacts/{A1}/readurl",
        json={"code": "DOCKER_RUN_ARTIFACT_UNKNOWN", "error": "no artifact"},
        status=404,
    )
    with pytest.raises(NotFound, match="DOCKER_RUN_ARTIFACT_UNKNOWN"):
        client.download_compute_worker_run_log(
            {"id": RUN, "artifacts": [artifact(A1, "LOG", "l")]}, str(tmp_path / "l")
        )
    assert not (tmp_path / "l").exists()


def test_failing_blob_is_retried_then_raised_without_a_partial_file(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    url = f"{BLOB}/{A1}?sig=s3cr3t"
    mocked.add("GET", f"{SERVER}/v1/docker/runs/{RUN}/artifacts/{A1}/readurl", json=url)
    mocked.add("GET", url, body="unavailable", status=503)
    with pytest.raises(ServerError) as caught:
        client.download_compute_worker_run_log(
            {"id": RUN, "artifacts": [artifact(A1, "LOG", "l")]}, str(tmp_path / "l")
        )
    assert "s3cr3t" not in str(caught.value)  # the signature is not leaked into messages
    assert len(mocked.calls) == 1 + 3  # the client fixture allows 3 attempts
    assert list(tmp_path.iterdir()) == []
