"""End-to-end fixtures: the real local server on a loopback port, and clients."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.client import ApiWorkflowClient, RetryPolicy
from runner.local.demo import make_demo_images
from runner.local.server import RunningServer, add_user, start_in_thread

OFFICIAL_LIGHTLY = [
    "pydantic<2",
    "aenum",
    "numpy<2",
    "Pillow",
    "tqdm",
    "lightly-utils",
    "python-dateutil",
    "urllib3",
    "requests",
    "certifi",
    "six",
]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One local server (with one local worker) for the whole session."""
    data_dir = tmp_path_factory.mktemp("server")
    server = start_in_thread(data_dir=data_dir, token="e2e-token-a", workers=1)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def second_user_token(live_server: RunningServer) -> str:
    return add_user(live_server.data_dir, "b@example.com", token="e2e-token-b")


def make_client(server: RunningServer, token: str | None = None) -> ApiWorkflowClient:
    return ApiWorkflowClient(
        token=token or server.token,
        server_location=server.url,
        retry=RetryPolicy(attempts=2, backoff=0.05, max_backoff=0.1),
    )


@pytest.fixture
def client(live_server: RunningServer) -> ApiWorkflowClient:
    return make_client(live_server)


@pytest.fixture(scope="session")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo image set: 4 groups of 5 images and 2 corrupt files."""
    directory = tmp_path_factory.mktemp("images")
    make_demo_images(directory, groups=4, per_group=5, corrupt=2)
    return directory


@pytest.fixture(scope="session")
def official_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A python with the official lightly 1.4.10 client, in a virtualenv of its own.

    ``LIGHTLY_RUN_OFFICIAL_VENV`` points at a reusable one (created if missing).
    """
    venv = Path(
        os.environ.get("LIGHTLY_RUN_OFFICIAL_VENV") or tmp_path_factory.mktemp("official") / "venv"
    )
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-deps", "lightly==1.4.10"], check=True)
        subprocess.run([*pip, *OFFICIAL_LIGHTLY], check=True)
    return python
