"""The checked-in catalog and schema are generated from the client's signatures and kept in sync."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runner.actions.registry import catalog
from runner.cli.catalog import CATALOG_FILE
from runner.workflow.schema import build_workflow_schema

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate with: lightly-run schema --catalog > runner/actions/catalog.json && lightly-run schema > schemas/workflow.schema.json"


def test_shipped_catalog_is_current() -> None:
    assert json.loads(CATALOG_FILE.read_text()) == json.loads(json.dumps(catalog())), REGENERATE


def test_checked_in_schema_is_current() -> None:
    on_disk = json.loads((ROOT / "schemas" / "workflow.schema.json").read_text())
    assert on_disk == json.loads(json.dumps(build_workflow_schema(catalog()))), REGENERATE


def test_every_client_operation_is_an_action() -> None:
    reference = ROOT / "tests" / "client" / "reference_operations.tsv"
    ops = {
        line.split("\t")[2]
        for line in reference.read_text().splitlines()
        if line and not line.startswith("#") and "\tclient\t" in line
    }
    assert ops <= set(catalog())
    assert {"wait_compute_worker_run", "assert", "write_file"} <= set(catalog())


def test_arguments_come_from_the_signature() -> None:
    spec = catalog()["schedule_compute_worker_run"]["parameters"]
    assert list(spec["properties"]) == [
        "worker_config",
        "lightly_config",
        "selection_config",
        "priority",
        "runs_on",
        "output",
    ]
    assert spec["properties"]["priority"]["enum"] == ["LOW", "MID", "HIGH", "CRITICAL"]
    assert spec["properties"]["priority"]["default"] == "MID"
    run_arg = catalog()["download_compute_worker_run_artifacts"]["parameters"]
    assert run_arg["required"] == ["run_id", "output_dir"]
    assert "progress_bar" not in catalog()["download_raw_samples"]["parameters"]["properties"]
    assert "if_exists" in catalog()["create_dataset"]["parameters"]["properties"]


def test_help_and_validate_import_no_http_or_server_code() -> None:
    code = (
        "import sys; from runner.cli.main import main; "
        "main(['validate', 'workflows/quickstart.yaml']); "
        "bad = [m for m in ('requests', 'flask', 'numpy', 'runner.client', 'runner.local') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
    help_code = "import sys; from runner.cli.main import main\ntry: main(['--help'])\nexcept SystemExit: pass\nprint([m for m in ('requests','flask','runner.client','runner.local') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", help_code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
