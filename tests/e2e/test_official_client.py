"""Conformance: the official lightly 1.4.10 client, unchanged, against our local server.

The official client runs in a virtualenv of its own (it pins pydantic<2 and
numpy<2; see ``official_python``). Samples are uploaded with our client in
between, because the official ``upload_dataset`` cannot succeed (CONTRACT §10.1).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from runner.local.server import RunningServer
from tests.e2e.conftest import make_client

pytestmark = [pytest.mark.e2e, pytest.mark.conformance]

SCRIPT = Path(__file__).with_name("official_client_script.py")


def _official(python: Path, server: RunningServer, *args: str) -> dict:
    env = {
        **os.environ,
        "LIGHTLY_SERVER_LOCATION": server.url,
        "LIGHTLY_TOKEN": server.token,
        "LIGHTLY_DID_VERSION_CHECK": "True",
    }
    done = subprocess.run(
        [str(python), str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_official_client_conformance(
    official_python: Path, live_server: RunningServer, demo_images: Path, tmp_path: Path
) -> None:
    first = _official(
        official_python, live_server, "phase1", "official-conformance", str(demo_images)
    )
    assert first["dataset_type"] == "Images" and first["exists"] and first["name_exists"]
    assert (first["s3_type"], first["local_type"]) == ("S3", "LOCAL")
    assert first["processed_until"] == 0

    ours = make_client(live_server)
    ours.dataset_id = first["dataset_id"]
    ours.upload_dataset(str(demo_images))
    uploaded = ours.get_filenames()

    second = _official(official_python, live_server, "phase2", first["dataset_id"], str(tmp_path))
    filenames = second["filenames"]
    assert filenames == uploaded and len(filenames) == 22
    assert second["tag_filenames"] == filenames[:3]
    assert second["tags"] == ["initial-tag", "picked"]
    assert [t["data"]["lightlyFileName"] for t in second["label_studio"]] == filenames[:3]
    assert [r["externalId"] for r in second["label_box"]] == filenames[:3]
    assert [r["global_key"] for r in second["label_box_v4"]] == filenames[:3]
    assert second["export_filenames"] == "\n".join(filenames[:3])
    assert [r["fileName"] for r in second["filenames_and_urls"]] == filenames[:3]
    assert second["embeddings_rows"] == 22 and second["embedding_names"] == ["default"]
    assert second["prediction_ok"] and len(second["metadata_config_id"]) == 24
    assert second["worker_id"] in second["worker_ids"]
    assert second["scheduled_states"] == ["OPEN"] and second["run_info_state"] == "OPEN"
    assert second["shared_users"] == ["colleague@example.com"]
    assert second["tags_after_delete"] == ["initial-tag"]
    assert second["worker_id"] not in second["worker_ids_after_delete"]
    assert second["exists_after_delete"] is False
