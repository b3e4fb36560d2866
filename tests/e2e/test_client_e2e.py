"""Our client against the real local server: every operation that needs no worker run."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest

from runner.client import ApiError, ApiWorkflowClient, NotFound, TagDoesNotExistError
from runner.local.server import RunningServer
from tests.e2e.conftest import make_client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dataset(live_server: RunningServer, demo_images: Path) -> ApiWorkflowClient:
    """A dataset over the demo images, uploaded in full mode (thumbnails + originals)."""
    client = make_client(live_server)
    client.create_dataset("e2e-client")
    client.set_local_config(resource_path=str(demo_images))
    client.upload_dataset(str(demo_images), mode="full", max_workers=4)
    return client


def _groups(filenames: list[str]) -> set[str]:
    return {name.split("/")[0] for name in filenames}


def test_datasets(client: ApiWorkflowClient) -> None:
    client.create_dataset("e2e datasets one")
    first = client.dataset_id
    assert client.dataset_exists(first)
    assert client.get_dataset_by_id(first)["name"] == "e2e datasets one"
    assert client.dataset_type == "Images"
    assert client.dataset_name_exists("e2e datasets one")
    assert [d["id"] for d in client.get_datasets_by_name("e2e datasets one")] == [first]
    with pytest.raises(ValueError, match="already exists"):
        client.create_dataset("e2e datasets one")
    client.create_new_dataset_with_unique_name("e2e datasets one")
    assert client.get_dataset_by_id(client.dataset_id)["name"] == "e2e datasets one_1"
    second = client.dataset_id
    ids = {d["id"] for d in client.get_datasets()}
    assert {first, second} <= ids
    assert {d["id"] for d in client.get_datasets_iter()} == ids
    with pytest.warns(DeprecationWarning):
        assert {first, second} <= {d["id"] for d in client.get_all_datasets()}
    client.set_dataset_id_by_name("e2e datasets one")
    assert client.dataset_id == first
    client.delete_dataset_by_id(second)
    assert not client.dataset_exists(second)
    with pytest.raises(ValueError, match="does not exist"):
        client.set_dataset_id_by_name("no such dataset here")


def test_upload_and_filenames(dataset: ApiWorkflowClient, demo_images: Path) -> None:
    filenames = dataset.get_filenames()
    assert len(filenames) == 22
    assert _groups(filenames) == {"group-00", "group-01", "group-02", "group-03", "corrupt"}
    data = dataset.get_dataset_by_id(dataset.dataset_id)
    assert data["nSamples"] == 22 and data["imgType"] == "full"
    assert [t["name"] for t in dataset.get_all_tags()] == ["initial-tag"]
    # a second upload skips everything already on the server
    dataset.upload_dataset(str(demo_images), mode="full")
    assert dataset.get_filenames() == filenames


def test_download_dataset(dataset: ApiWorkflowClient, demo_images: Path, tmp_path: Path) -> None:
    dataset.create_tag_from_filenames(
        ["group-00/frame-000.jpg", "group-01/frame-001.jpg"], "to-download"
    )
    dataset.download_dataset(str(tmp_path), tag_name="to-download")
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.jpg"))
    assert written == ["group-00/frame-000.jpg", "group-01/frame-001.jpg"]
    dataset.delete_tag_by_name("to-download")


def test_tags(dataset: ApiWorkflowClient) -> None:
    names = dataset.get_filenames()
    picked = names[2:6]
    created = dataset.create_tag_from_filenames(picked, "e2e-picked")
    tag = dataset.get_tag_by_name("e2e-picked")
    assert tag["id"] == created["id"] == dataset.get_tag_by_id(created["id"])["id"]
    assert tag["bitMaskData"] == hex(sum(1 << i for i in range(2, 6)))
    assert dataset.get_filenames_in_tag(tag) == picked
    assert dataset.get_filenames_in_tag(tag, exclude_parent_tag=True) == []
    child = dataset.create_tag_from_filenames(picked[:2], "e2e-child", parent_tag_id=tag["id"])
    child_tag = dataset.get_tag_by_id(child["id"])
    assert dataset.get_filenames_in_tag(child_tag, filenames_on_server=names) == picked[:2]
    with pytest.raises(RuntimeError):
        dataset.create_tag_from_filenames(["not-there.jpg"], "e2e-bad")
    dataset.delete_tag_by_id(child["id"])
    dataset.delete_tag_by_name("e2e-picked")
    with pytest.raises(TagDoesNotExistError):
        dataset.get_tag_by_name("e2e-picked")


def _unsigned(value: Any) -> Any:
    """``value`` with the query strings of URLs (their signature and expiry) cut off."""
    if isinstance(value, dict):
        return {key: _unsigned(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unsigned(item) for item in value]
    if isinstance(value, str) and value.startswith("http"):
        return value.split("?", 1)[0]
    return value


def test_exports(dataset: ApiWorkflowClient) -> None:
    names = [n for n in dataset.get_filenames() if not n.startswith("corrupt/")]
    dataset.create_tag_from_filenames(names[:3], "e2e-export")
    tag_id = dataset.get_tag_by_name("e2e-export")["id"]
    tasks = dataset.export_label_studio_tasks_by_tag_name("e2e-export")
    assert [t["data"]["lightlyFileName"] for t in tasks] == names[:3]
    assert [t["id"] for t in tasks] == [0, 1, 2]
    # signed URLs carry their expiry time, so two calls a second apart differ only there
    assert _unsigned(tasks) == _unsigned(dataset.export_label_studio_tasks_by_tag_id(tag_id))
    with pytest.warns(DeprecationWarning):
        rows = dataset.export_label_box_data_rows_by_tag_name("e2e-export")
    assert [r["externalId"] for r in rows] == names[:3]
    with pytest.warns(DeprecationWarning):
        assert _unsigned(dataset.export_label_box_data_rows_by_tag_id(tag_id)) == _unsigned(rows)
    v4 = dataset.export_label_box_v4_data_rows_by_tag_id(tag_id)
    assert [r["global_key"] for r in v4] == names[:3]
    assert _unsigned(v4) == _unsigned(
        dataset.export_label_box_v4_data_rows_by_tag_name("e2e-export")
    )
    assert dataset.export_filenames_by_tag_name("e2e-export") == "\n".join(names[:3])
    assert dataset.export_filenames_by_tag_id(tag_id) == "\n".join(names[:3])
    with_urls = dataset.export_filenames_and_read_urls_by_tag_name("e2e-export")
    assert [r["fileName"] for r in with_urls] == names[:3]
    assert _unsigned(with_urls) == _unsigned(
        dataset.export_filenames_and_read_urls_by_tag_id(tag_id)
    )
    # a read URL really serves the image
    image = dataset._http.get_signed(with_urls[0]["readUrl"])
    assert image[:2] == b"\xff\xd8"


def test_datasources(dataset: ApiWorkflowClient, demo_images: Path) -> None:
    assert dataset.get_datasource()["type"] == "LOCAL"
    permissions = dataset.list_datasource_permissions()
    assert permissions["can_read"] and permissions["can_list"]
    samples = dataset.download_raw_samples()
    assert len(samples) == 22 and all(url.startswith("http") for _, url in samples)
    assert dataset.get_processed_until_timestamp() == 0
    new = dataset.download_new_raw_samples()
    assert len(new) == 22
    assert dataset.get_processed_until_timestamp() > 0
    assert dataset.download_new_raw_samples() == []
    dataset.update_processed_until_timestamp(5)
    assert dataset.get_processed_until_timestamp() == 5
    for url in (
        dataset.get_prediction_read_url("tasks.json"),
        dataset.get_metadata_read_url("schema.json"),
        dataset.get_custom_embedding_read_url("emb.csv"),
    ):
        assert url.startswith("http")
    assert dataset.download_raw_predictions("my-task") == []
    assert dataset.download_raw_metadata() == []


def test_cloud_datasource_configs(client: ApiWorkflowClient) -> None:
    client.create_dataset("e2e-cloud")
    client.set_s3_config("s3://bucket/p/", "eu-central-1", "AKIA", "s3-secret")
    assert client.get_datasource()["type"] == "S3"
    client.set_s3_delegated_access_config(
        "s3://bucket/p/", "eu-central-1", "arn:aws:iam::123456789012:role/x", "external-id-0123"
    )
    assert client.get_datasource()["type"] == "S3DelegatedAccess"
    client.set_gcs_config("gs://bucket/p/", "project", '{"type": "service_account"}')
    assert client.get_datasource()["type"] == "GCS"
    client.set_azure_config("container", "account", "sas-token")
    assert client.get_datasource()["type"] == "AZURE"
    client.set_obs_config("obs://bucket/p/", "https://obs.example.com", "id", "obs-secret")
    assert client.get_datasource()["type"] == "OBS"
    client.delete_dataset_by_id(client.dataset_id)


def test_embeddings(dataset: ApiWorkflowClient, tmp_path: Path) -> None:
    names = dataset.get_filenames()
    path = tmp_path / "embeddings.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filenames", "embedding_0", "embedding_1", "labels"])
        for i, name in enumerate(reversed(names)):
            writer.writerow([name, i, -i, 0])
    dataset.upload_embeddings(str(path), name="default")
    embedding = dataset.get_embedding_data_by_name("default")
    assert dataset.get_embedding_by_name("default")["id"] == embedding["id"]
    assert [e["name"] for e in dataset.get_all_embedding_data()] == ["default"]
    dataset.set_embedding_id_to_latest()
    assert dataset.embedding_id == embedding["id"]
    out = tmp_path / "out.csv"
    dataset.download_embeddings_csv(str(out))
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["filenames", "embedding_0", "embedding_1", "labels"]
    assert [r[0] for r in rows[1:]] == names  # reordered into server sample order
    dataset.download_embeddings_csv_by_id(embedding["id"], str(tmp_path / "by-id.csv"))
    assert (tmp_path / "by-id.csv").read_bytes() == out.read_bytes()
    dataset.append_embeddings(str(path), embedding["id"])
    assert len(path.read_text().splitlines()) == len(names) + 1


def test_custom_metadata(dataset: ApiWorkflowClient) -> None:
    names = dataset.get_filenames()
    metadata = {
        "images": [{"file_name": n, "id": i} for i, n in enumerate(names)],
        "metadata": [{"image_id": i, "weather": {"scenario": "rain"}} for i in range(len(names))],
    }
    dataset.verify_custom_metadata_format(metadata)
    assert dataset.index_custom_metadata_by_filename(metadata)[names[0]]["image_id"] == 0
    dataset.upload_custom_metadata(metadata)
    sample = dataset._http.get(dataset._dataset_path("/samples/partial"), params={"mode": "full"})
    assert all(s["customMetaData"]["weather"]["scenario"] == "rain" for s in sample)
    config = dataset.create_custom_metadata_config(
        "weather",
        [
            {
                "name": "Weather",
                "path": "weather.scenario",
                "defaultValue": "unknown",
                "valueDataType": "CATEGORICAL_STRING",
            }
        ],
    )
    assert len(config["id"]) == 24


def test_predictions(dataset: ApiWorkflowClient) -> None:
    version = int(time.time())
    dataset.create_or_update_prediction_task_schema(
        {
            "name": "cls",
            "type": "CLASSIFICATION",
            "categories": [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}],
        },
        prediction_version_id=version,
    )
    ids = dataset._http.get(dataset._dataset_path("/mappings"), params={"field": "_id"})
    singleton = {
        "type": "CLASSIFICATION",
        "taskName": "cls",
        "categoryId": 1,
        "score": 0.7,
        "probabilities": [0.3, 0.7],
    }
    dataset.create_or_update_prediction(ids[0], [singleton], prediction_version_id=version)
    dataset.create_or_update_predictions(
        {i: [singleton] for i in ids[1:4]}, prediction_version_id=version
    )
    stored = dataset._http.get(
        dataset._dataset_path("/predictions/samples/{}", ids[2]),
        params={"predictionUUIDTimestamp": version},
    )
    assert stored[0]["categoryId"] == 1
    with pytest.raises(ValueError, match="prediction_version_id"):
        dataset.create_or_update_prediction(ids[0], [singleton])


def test_compute_worker_registry_and_schedule(dataset: ApiWorkflowClient) -> None:
    worker_id = dataset.register_compute_worker(name="e2e-worker", labels=["e2e"])
    assert dataset.register_compute_worker(name="e2e-worker", labels=["e2e"]) == worker_id
    assert worker_id in dataset.get_compute_worker_ids()
    assert any(w["name"] == "e2e-worker" for w in dataset.get_compute_workers())
    config_id = dataset.create_compute_worker_config(
        selection_config={
            "n_samples": 2,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        }
    )
    assert len(config_id) == 24
    scheduled = dataset.schedule_compute_worker_run(
        selection_config={
            "n_samples": 2,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
        runs_on=["nobody-has-this-label"],
    )
    assert scheduled in [r["id"] for r in dataset.get_scheduled_compute_worker_runs()]
    assert [r["id"] for r in dataset.get_scheduled_compute_worker_runs(state="OPEN")] == [scheduled]
    info = dataset.get_compute_worker_run_info(scheduled)
    assert info.state == "OPEN" and not info.in_end_state()
    with pytest.raises(NotFound):
        dataset.get_compute_worker_run_from_scheduled_run(scheduled)
    assert dataset.get_compute_worker_run_info("0" * 24).state == "CANCELED_OR_NOT_EXISTING"
    assert isinstance(dataset.get_compute_worker_runs(dataset_id=dataset.dataset_id), list)
    assert isinstance(list(dataset.get_compute_worker_runs_iter()), list)
    dataset.delete_compute_worker(worker_id)
    assert worker_id not in dataset.get_compute_worker_ids()


def test_scores_and_legacy_selection(dataset: ApiWorkflowClient) -> None:
    initial = dataset.get_tag_by_name("initial-tag")
    n = len(dataset.get_filenames())
    dataset.upload_scores({"uncertainty_margin": [i / n for i in range(n)]}, initial["id"])
    with pytest.warns(DeprecationWarning):
        tag = dataset.selection({"method": "RANDOM", "n_samples": 5, "name": "e2e-random"})
    assert tag["name"] == "e2e-random"
    assert len(dataset.get_filenames_in_tag(tag)) == 5


def test_sharing_and_access(
    dataset: ApiWorkflowClient, live_server: RunningServer, second_user_token: str
) -> None:
    other = make_client(live_server, token=second_user_token)
    assert not other.dataset_exists(dataset.dataset_id)
    dataset.share_dataset_only_with(dataset.dataset_id, ["b@example.com"])
    assert dataset.get_shared_users(dataset.dataset_id) == ["b@example.com"]
    assert other.dataset_exists(dataset.dataset_id)
    assert dataset.dataset_id in {d["id"] for d in other.get_datasets(shared=True)}
    dataset.share_dataset_only_with(dataset.dataset_id, [])
    assert not other.dataset_exists(dataset.dataset_id)
    with pytest.raises(ApiError) as error:
        other.get_dataset_by_id(dataset.dataset_id)
    assert error.value.status in (403, 404)


def test_upload_file_with_signed_url(dataset: ApiWorkflowClient, tmp_path: Path) -> None:
    sample_id = dataset._http.get(dataset._dataset_path("/mappings"), params={"field": "_id"})[0]
    url = dataset._http.get(
        dataset._dataset_path("/samples/{}/writeurl", sample_id), params={"isThumbnail": True}
    )
    path = tmp_path / "thumb.webp"
    path.write_bytes(b"RIFF-thumbnail-bytes")
    with path.open("rb") as handle:
        assert dataset.upload_file_with_signed_url(handle, url).status_code == 200
    read = dataset._http.get(
        dataset._dataset_path("/samples/{}/readurl", sample_id), params={"type": "thumbnail"}
    )
    assert dataset._http.get_signed(read) == b"RIFF-thumbnail-bytes"


def test_a_real_run(client: ApiWorkflowClient, demo_images: Path, tmp_path: Path) -> None:
    """The run-dependent operations on a run of the server's local worker."""
    client.create_dataset("e2e-run")
    client.set_local_config(resource_path=str(demo_images))
    scheduled = client.schedule_compute_worker_run(
        selection_config={
            "n_samples": 4,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        }
    )
    client.run_info_poll_interval = 0.2  # type: ignore[attr-defined]
    infos = list(client.compute_worker_run_info_generator(scheduled))
    assert infos[-1].ended_successfully(), infos[-1]
    run = client.get_compute_worker_run_from_scheduled_run(scheduled)
    assert client.get_compute_worker_run(run["id"])["state"] == "COMPLETED"
    assert run["id"] in {
        r["id"] for r in client.get_compute_worker_runs(dataset_id=client.dataset_id)
    }
    tags = client.get_compute_worker_run_tags(run["id"])
    assert len(client.get_filenames_in_tag(tags[0])) == 4
    client.download_compute_worker_run_artifacts(run, str(tmp_path / "all"))
    assert (tmp_path / "all" / "report.json").is_file()
    client.download_compute_worker_run_report_json(run, str(tmp_path / "r.json"))
    client.download_compute_worker_run_report_pdf(run, str(tmp_path / "r.pdf"))
    client.download_compute_worker_run_log(run, str(tmp_path / "log.txt"))
    client.download_compute_worker_run_memory_log(run, str(tmp_path / "mem.txt"))
    client.download_compute_worker_run_corruptness_check_information(run, str(tmp_path / "c.json"))
    client.download_compute_worker_run_sequence_information(run, str(tmp_path / "s.json"))
    client.download_compute_worker_run_checkpoint(run, str(tmp_path / "ckpt"))
    assert client.get_compute_worker_run_checkpoint_url(run).startswith("http")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
