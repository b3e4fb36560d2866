"""Fixtures of the local-server tests: an app on a temporary data dir, users, datasets.

``client`` is Flask's test client; ``api`` wraps it with a user's token so tests
read like the wire calls they make (``api.get("/v1/datasets")``).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask import Flask
from flask.testing import FlaskClient

from runner.local.app import ServerConfig, create_app
from runner.local.store import Store

TOKEN_A = "tok-a"
TOKEN_B = "tok-b"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(ServerConfig(data_dir=tmp_path / "data", public_url="http://localhost"))
    yield app
    app.extensions["lightly_store"].close()


@pytest.fixture
def store(app: Flask) -> Store:
    store: Store = app.extensions["lightly_store"]
    return store


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def user_a(store: Store) -> str:
    store.ensure_user("a@x", TOKEN_A)
    return TOKEN_A


@pytest.fixture
def user_b(store: Store) -> str:
    store.ensure_user("b@x", TOKEN_B)
    return TOKEN_B


class Api:
    """The test client with one user's token appended to every call."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def call(
        self, method: str, path: str, *, query: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        path, _, inline = path.partition("?")
        params: dict[str, Any] = dict(parse_qsl(inline))
        params.update(query or {})
        if self.token is not None:
            params["token"] = self.token
        return self.client.open(path, method=method, query_string=params, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(client: FlaskClient, user_a: str) -> Api:
    return Api(client, user_a)


@pytest.fixture
def api_b(client: FlaskClient, user_b: str) -> Api:
    return Api(client, user_b)


@pytest.fixture
def make_dataset(api: Api) -> Callable[..., str]:
    """Create a dataset with ``n`` samples (``img-000.jpg`` …) and, if asked, its initial tag."""

    def make(
        name: str = "my-dataset",
        n: int = 0,
        *,
        initial_tag: bool = True,
        through: Api | None = None,
    ) -> str:
        caller = through or api
        response = caller.post("/v1/datasets", json={"name": name, "type": "Images"})
        assert response.status_code == 201, response.get_json()
        dataset_id: str = response.get_json()["id"]
        for i in range(n):
            created = caller.post(
                f"/v1/datasets/{dataset_id}/samples",
                json={"fileName": f"img-{i:03d}.jpg", "metaData": {"sizeInBytes": 10}},
            )
            assert created.status_code == 201, created.get_json()
        if initial_tag and n:
            tagged = caller.post(
                f"/v1/datasets/{dataset_id}/tags/initial", json={"imgType": "full"}
            )
            assert tagged.status_code == 201, tagged.get_json()
        return dataset_id

    return make


def snapshot(data_dir: Path) -> str:
    """A digest of everything stored (rows of every table and every blob), to prove nothing changed."""
    digest = hashlib.sha256()
    db = sqlite3.connect(data_dir / "lightly.sqlite3")
    try:
        for table in ("users", "datasets", "samples", "documents", "meta"):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(json.dumps(row).encode())
    finally:
        db.close()
    blobs = data_dir / "blobs"
    for path in sorted(blobs.rglob("*")) if blobs.exists() else []:
        digest.update(str(path.relative_to(blobs)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def stored(app: Flask) -> Callable[[], str]:
    """``stored()`` = digest of the data directory's contents."""
    config: ServerConfig = app.extensions["lightly_config"]
    return lambda: snapshot(Path(config.data_dir))


def strict_json(response: Any) -> Any:
    """The response body parsed as standard JSON: NaN and Infinity fail the test."""

    def refuse(name: str) -> Any:
        raise AssertionError(f"{name} in a response body is not JSON")

    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


#: MODELS.md field lists: name → (JSON type(s), required)
DATASET_DATA = {
    "id": (str, True),
    "name": (str, True),
    "userId": (str, True),
    "accessType": (str, False),
    "type": (str, True),
    "imgType": (str, False),
    "nSamples": (int, True),
    "sizeInBytes": (int, True),
    "metaDataConfigurationId": (str, False),
    "datasources": (list, False),
    "createdAt": (int, True),
    "lastModifiedAt": (int, True),
    "datasourceProcessedUntilTimestamp": (int, False),
    "accessRole": (str, False),
    "parentDatasetId": (str, False),
    "originalDatasetId": (str, False),
}
TAG_DATA = {
    "id": (str, True),
    "datasetId": (str, True),
    "prevTagId": ((str, type(None)), True),
    "queryTagId": (str, False),
    "preselectedTagId": (str, False),
    "name": (str, True),
    "bitMaskData": (str, True),
    "totSize": (int, True),
    "createdAt": (int, True),
    "lastModifiedAt": (int, False),
    "changes": (list, False),
    "runId": (str, False),
}
SAMPLE_DATA = {
    "id": (str, True),
    "type": (str, True),
    "datasetId": (str, False),
    "fileName": (str, True),
    "thumbName": ((str, type(None)), False),
    "exif": (dict, False),
    "index": (int, False),
    "createdAt": (int, False),
    "lastModifiedAt": (int, False),
    "metaData": (dict, False),
    "customMetaData": ((dict, type(None)), False),
    "videoFrameData": (dict, False),
    "cropData": (dict, False),
}
EMBEDDING_DATA = {
    "id": (str, True),
    "name": (str, True),
    "isProcessed": (bool, True),
    "createdAt": (int, True),
    "is2d": (bool, False),
}


def assert_model(obj: dict[str, Any], model: dict[str, tuple[Any, bool]]) -> None:
    """``obj`` has no keys outside ``model``, every required key, and the right JSON types."""
    assert set(obj) <= set(model), f"extra keys: {set(obj) - set(model)}"
    for key, (kind, required) in model.items():
        if required:
            assert key in obj, f"missing {key}"
        if key in obj:
            value = obj[key]
            assert isinstance(value, kind) and not (kind is int and isinstance(value, bool)), (
                f"{key}: {value!r} is not {kind}"
            )
    for key in ("id", "datasetId", "prevTagId", "parentDatasetId"):
        if isinstance(obj.get(key), str):
            assert re.fullmatch(r"[a-f0-9]{24}", obj[key]), f"{key} is not an ID: {obj[key]}"
