"""The server over real HTTP: start on port 0, tokens, parallel writes, restart persistence."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from runner.local.server import TOKEN_FILE, RunningServer, add_user, serve, start_in_thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_in_thread(data_dir=tmp_path / "data", workers=0)
    yield running
    running.stop()


def _call(
    server: RunningServer,
    method: str,
    path: str,
    session: requests.Session | None = None,
    **kwargs: object,
) -> requests.Response:
    params = {**kwargs.pop("params", {}), "token": server.token}  # type: ignore[dict-item]
    return (session or requests).request(
        method, server.url + path, params=params, timeout=10, **kwargs
    )  # type: ignore[arg-type]


def test_answers_over_http_on_a_free_loopback_port(server: RunningServer) -> None:
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
    assert requests.get(server.url + "/v1/versions/pip/minimum", timeout=5).json() == "1.0.0"
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    assert requests.get(server.url + "/v1/datasets", timeout=5).status_code == 401
    assert _call(server, "GET", "/v1/datasets").json() == []
    token_file = server.data_dir / TOKEN_FILE
    assert token_file.read_text().strip() == server.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_percent_encoded_names_and_chunked_uploads(server: RunningServer) -> None:
    dataset_id = _call(server, "POST", "/v1/datasets", json={"name": "with spaces"}).json()["id"]
    found = _call(
        server, "GET", "/v1/datasets/query/name/with%20spaces", params={"exact": "True"}
    ).json()
    assert [d["id"] for d in found] == [dataset_id]
    sample = _call(
        server, "POST", f"/v1/datasets/{dataset_id}/samples", json={"fileName": "dir/a b%.jpg"}
    ).json()
    url = _call(
        server,
        "GET",
        f"/v1/datasets/{dataset_id}/samples/{sample['id']}/writeurl",
        params={"isThumbnail": "False"},
    ).json()
    chunks = iter([b"part one, ", b"part two"])
    assert (
        requests.put(
            url, data=chunks, headers={"Content-Type": "image/jpeg"}, timeout=10
        ).status_code
        == 200
    )
    read = _call(server, "GET", f"/v1/datasets/{dataset_id}/samples/{sample['id']}/readurl").json()
    response = requests.get(read, timeout=10)
    assert response.content == b"part one, part two" and "Content-Encoding" not in response.headers
    assert requests.put(url, data=io.BytesIO(b"again"), timeout=10).status_code == 200
    assert requests.get(read, timeout=10).content == b"again"


def test_parallel_sample_creation_keeps_a_dense_order(server: RunningServer) -> None:
    dataset_id = _call(server, "POST", "/v1/datasets", json={"name": "parallel"}).json()["id"]

    def create(worker: int) -> list[int]:
        session = requests.Session()
        codes = []
        for i in range(15):
            body = {"fileName": f"w{worker}/img-{i}.jpg", "metaData": {"sizeInBytes": 2}}
            codes.append(
                _call(
                    server, "POST", f"/v1/datasets/{dataset_id}/samples", session, json=body
                ).status_code
            )
        session.close()
        return codes

    with ThreadPoolExecutor(8) as pool:
        codes = [c for result in pool.map(create, range(8)) for c in result]
    assert codes == [201] * 120
    samples = _call(server, "GET", f"/v1/datasets/{dataset_id}/samples").json()
    assert [s["index"] for s in samples] == list(range(120))
    data = _call(server, "GET", f"/v1/datasets/{dataset_id}").json()
    assert data["nSamples"] == 120 and data["sizeInBytes"] == 240


def test_restart_keeps_datasets_tags_samples_and_blobs(tmp_path: Path) -> None:
    data_dir = tmp_path / "persistent"
    first = start_in_thread(data_dir=data_dir, workers=0)
    try:
        dataset_id = _call(first, "POST", "/v1/datasets", json={"name": "kept"}).json()["id"]
        sample_id = _call(
            first, "POST", f"/v1/datasets/{dataset_id}/samples", json={"fileName": "a.jpg"}
        ).json()["id"]
        _call(first, "POST", f"/v1/datasets/{dataset_id}/tags/initial", json={"imgType": "full"})
        url = _call(
            first,
            "GET",
            f"/v1/datasets/{dataset_id}/samples/{sample_id}/writeurl",
            params={"isThumbnail": "False"},
        ).json()
        requests.put(url, data=b"image bytes", timeout=10).raise_for_status()
        before = {
            "dataset": _call(first, "GET", f"/v1/datasets/{dataset_id}").json(),
            "tags": _call(first, "GET", f"/v1/datasets/{dataset_id}/tags").json(),
            "samples": _call(first, "GET", f"/v1/datasets/{dataset_id}/samples").json(),
        }
    finally:
        first.stop()
    second = start_in_thread(data_dir=data_dir, workers=0)
    try:
        assert second.token == first.token
        after = {
            "dataset": _call(second, "GET", f"/v1/datasets/{dataset_id}").json(),
            "tags": _call(second, "GET", f"/v1/datasets/{dataset_id}/tags").json(),
            "samples": _call(second, "GET", f"/v1/datasets/{dataset_id}/samples").json(),
        }
        assert after == before
        read = _call(second, "GET", f"/v1/datasets/{dataset_id}/samples/{sample_id}/readurl").json()
        assert requests.get(read, timeout=10).content == b"image bytes"
        # the signing key persists: a URL signed before the restart still works (on the new port)
        moved = second.url + url.removeprefix(first.url)
        assert requests.put(moved, data=b"old url, same key", timeout=10).status_code == 200
    finally:
        second.stop()


def test_token_option_replaces_the_stored_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "tokens"
    first = start_in_thread(data_dir=data_dir, workers=0)
    first.stop()
    second = start_in_thread(data_dir=data_dir, token="chosen-token", workers=0)
    try:
        assert second.token == "chosen-token"
        assert (
            requests.get(
                second.url + "/v1/datasets", params={"token": first.token}, timeout=5
            ).status_code
            == 403
        )
        assert (
            requests.get(
                second.url + "/v1/datasets", params={"token": "chosen-token"}, timeout=5
            ).status_code
            == 200
        )
        other = add_user(data_dir, "b@example.com", token="token-b")
        assert (
            requests.get(second.url + "/v1/datasets", params={"token": other}, timeout=5).json()
            == []
        )
    finally:
        second.stop()


def test_serve_prints_a_new_token_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("werkzeug.serving.BaseWSGIServer.serve_forever", interrupted)
    out = io.StringIO()
    serve(data_dir=tmp_path / "fg", token=None, workers=0, out=out)
    token = (tmp_path / "fg" / TOKEN_FILE).read_text().strip()
    assert f"token: {token}" in out.getvalue()
    again = io.StringIO()
    serve(data_dir=tmp_path / "fg", token=None, workers=0, out=again)
    assert token not in again.getvalue() and "token stored in" in again.getvalue()


def test_stop_is_idempotent(tmp_path: Path) -> None:
    running = start_in_thread(data_dir=tmp_path / "twice", workers=1)
    running.stop()
    running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url + "/healthz", timeout=2)
