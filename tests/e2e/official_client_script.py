"""Drives the OFFICIAL lightly 1.4.10 client against our local server.

Runs inside a separate virtualenv (see tests/e2e/conftest.py); reads
LIGHTLY_SERVER_LOCATION / LIGHTLY_TOKEN from the environment. ``phase1`` creates
a dataset and its datasources; the test then uploads samples with our client;
``phase2`` exercises everything else and prints one JSON object of results.
"""

from __future__ import annotations

import csv
import json
import sys
import time
import warnings
from pathlib import Path

from lightly.api import ApiWorkflowClient
from lightly.openapi_generated.swagger_client.models import (
    ConfigurationEntry,
    PredictionSingleton,
    PredictionSingletonClassification,
    PredictionTaskSchema,
    PredictionTaskSchemaCategory,
)

warnings.simplefilter("ignore")


def phase1(name: str, local_dir: str) -> dict:
    client = ApiWorkflowClient()
    client.create_dataset(name)
    client.set_s3_config(
        resource_path="s3://bucket/prefix/",
        region="eu-central-1",
        access_key="AKIAEXAMPLE",
        secret_access_key="not-a-real-secret",
        purpose="INPUT",
    )
    s3 = client.get_datasource()
    client.set_local_config(resource_path=local_dir)
    local = client.get_datasource()
    return {
        "dataset_id": client.dataset_id,
        "dataset_type": client.dataset_type,
        "exists": client.dataset_exists(client.dataset_id),
        "name_exists": client.dataset_name_exists(name),
        "s3_type": s3.actual_instance.type if hasattr(s3, "actual_instance") else s3.type,
        "local_type": local.actual_instance.type
        if hasattr(local, "actual_instance")
        else local.type,
        "permissions": str(client.list_datasource_permissions()),
        "processed_until": client.get_processed_until_timestamp(),
    }


def phase2(dataset_id: str, workdir: str) -> dict:
    client = ApiWorkflowClient(dataset_id=dataset_id)
    out: dict = {}
    filenames = client.get_filenames()
    out["filenames"] = filenames
    chosen = filenames[:3]
    client.create_tag_from_filenames(chosen, "picked")
    tag = client.get_tag_by_name("picked")
    out["tag_filenames"] = client.get_filenames_in_tag(tag)
    out["tags"] = sorted(t.name for t in client.get_all_tags())
    out["label_studio"] = [
        t if isinstance(t, dict) else t.to_dict(by_alias=True)
        for t in client.export_label_studio_tasks_by_tag_name("picked")
    ]
    out["label_box"] = [
        r if isinstance(r, dict) else r.to_dict(by_alias=True)
        for r in client.export_label_box_data_rows_by_tag_name("picked")
    ]
    out["label_box_v4"] = [
        r if isinstance(r, dict) else r.to_dict(by_alias=True)
        for r in client.export_label_box_v4_data_rows_by_tag_name("picked")
    ]
    out["export_filenames"] = client.export_filenames_by_tag_name("picked")
    out["filenames_and_urls"] = client.export_filenames_and_read_urls_by_tag_name("picked")

    metadata = {
        "images": [{"file_name": f, "id": i} for i, f in enumerate(filenames)],
        "metadata": [
            {"image_id": i, "weather": {"scenario": "rain" if i % 2 else "sun"}}
            for i in range(len(filenames))
        ],
    }
    client.upload_custom_metadata(metadata)
    config = client.create_custom_metadata_config(
        "weather",
        [
            ConfigurationEntry(
                name="Weather",
                path="weather.scenario",
                default_value="unknown",
                value_data_type="CATEGORICAL_STRING",
            )
        ],
    )
    out["metadata_config_id"] = config.id

    csv_path = Path(workdir) / "embeddings.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filenames", "embedding_0", "embedding_1", "labels"])
        for i, name in enumerate(filenames):
            writer.writerow([name, i * 0.5, 1.0 - i * 0.25, 0])
    client.upload_embeddings(str(csv_path), name="default")
    downloaded = Path(workdir) / "downloaded.csv"
    client.download_embeddings_csv(str(downloaded))
    out["embeddings_rows"] = len(downloaded.read_text().strip().splitlines()) - 1
    out["embedding_names"] = [e.name for e in client.get_all_embedding_data()]

    version = int(time.time())
    schema = PredictionTaskSchema(
        name="weather-cls",
        type="CLASSIFICATION",
        categories=[
            PredictionTaskSchemaCategory(id=0, name="sun"),
            PredictionTaskSchemaCategory(id=1, name="rain"),
        ],
    )
    client.create_or_update_prediction_task_schema(schema, prediction_version_id=version)
    sample_ids = {
        s.file_name: s.id
        for s in client._samples_api.get_samples_partial_by_dataset_id(
            dataset_id=dataset_id, mode="fileNames"
        )
    }
    singleton = PredictionSingleton(
        actual_instance=PredictionSingletonClassification(
            type="CLASSIFICATION",
            task_name="weather-cls",
            category_id=1,
            score=0.8,
            probabilities=[0.2, 0.8],
        )
    )
    client.create_or_update_prediction(
        sample_ids[filenames[0]], [singleton], prediction_version_id=version
    )
    out["prediction_ok"] = True

    worker_id = client.register_compute_worker(name="conformance-worker", labels=["conf"])
    out["worker_ids"] = client.get_compute_worker_ids()
    out["worker_id"] = worker_id
    config_id = client.create_compute_worker_config(
        worker_config={"enable_training": False},
        selection_config={
            "n_samples": 2,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
    )
    out["config_id"] = config_id
    scheduled = client.schedule_compute_worker_run(
        selection_config={
            "n_samples": 2,
            "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
        },
        runs_on=["no-such-worker"],
    )
    out["scheduled_id"] = scheduled
    out["scheduled_states"] = [r.state for r in client.get_scheduled_compute_worker_runs()]
    info = client.get_compute_worker_run_info(scheduled)
    out["run_info_state"] = info.state

    client.share_dataset_only_with(dataset_id, ["colleague@example.com"])
    out["shared_users"] = client.get_shared_users(dataset_id)
    client.delete_tag_by_name("picked")
    out["tags_after_delete"] = sorted(t.name for t in client.get_all_tags())
    client.delete_compute_worker(worker_id)
    out["worker_ids_after_delete"] = client.get_compute_worker_ids()
    client.delete_dataset_by_id(dataset_id)
    out["exists_after_delete"] = client.dataset_exists(dataset_id)
    return out


if __name__ == "__main__":
    phase = sys.argv[1]
    result = (
        phase1(sys.argv[2], sys.argv[3]) if phase == "phase1" else phase2(sys.argv[2], sys.argv[3])
    )
    print(json.dumps(result, default=str))
