"""Datasources: stored configs per purpose, verify, processed-until, LOCAL listings and files."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from runner.local.blobs import BlobStore
from runner.local.routes import _listing
from runner.local.store import Store
from tests.local.conftest import Api

S3 = {
    "type": "S3",
    "fullPath": "s3://bucket/p/",
    "purpose": "INPUT",
    "s3Region": "eu-central-1",
    "s3AccessKeyId": "AKIA",
    "s3SecretAccessKey": "secret",
    "thumbSuffix": ".lightly/thumbnails/[filename]_thumb.[extension]",
}


def _path(url: str) -> str:
    return url.removeprefix("http://localhost")


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    for name in (
        "a.jpg",
        "sub/b.png",
        "sub/deeper/c.jpeg",
        "notes.txt",
        ".lightly/thumbnails/a_thumb.webp",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())
    for name in (
        ".lightly/predictions/det/a.json",
        ".lightly/predictions/tasks.json",
        ".lightly/metadata/sub/b.json",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    return root


@pytest.fixture
def local_dataset(api: Api, make_dataset: Callable[..., str], images: Path) -> str:
    dataset_id = make_dataset("local ds", 0)
    body = {"type": "LOCAL", "fullPath": str(images), "purpose": "INPUT_OUTPUT"}
    assert api.put(f"/v1/datasets/{dataset_id}/datasource", json=body).status_code == 200
    return dataset_id


def test_no_datasource_answers_404(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("bare", 0)
    response = api.get(f"/v1/datasets/{dataset_id}/datasource")
    assert (
        response.status_code == 404 and response.get_json()["code"] == "DATASET_DATASOURCE_UNKNOWN"
    )
    assert api.get(f"/v1/datasets/{dataset_id}/datasource/all").get_json() == []


def test_configs_are_stored_per_purpose_and_returned_exactly(
    api: Api, make_dataset: Callable[..., str], images: Path
) -> None:
    dataset_id = make_dataset("configs", 0)
    d = f"/v1/datasets/{dataset_id}/datasource"
    assert api.put(d, json={**S3, "gcsProjectId": "ignored"}).status_code == 200
    s3 = api.get(d).get_json()
    assert s3 == {**S3, "id": s3["id"]}
    api.put(d, json={"type": "LOCAL", "fullPath": str(images), "purpose": "INPUT_OUTPUT"})
    assert api.get(d).get_json()["type"] == "LOCAL"
    assert api.get(d, query={"purpose": "INPUT"}).get_json()["id"] == s3["id"]
    assert api.get(d, query={"purpose": "LIGHTLY"}).status_code == 404
    api.put(d, json={**S3, "s3Region": "us-east-1"})
    replaced = api.get(d).get_json()
    assert replaced["id"] == s3["id"] and replaced["s3Region"] == "us-east-1"
    assert len(api.get(f"{d}/all").get_json()) == 2
    dataset = api.get(f"/v1/datasets/{dataset_id}").get_json()
    assert set(dataset["datasources"]) == {c["id"] for c in api.get(f"{d}/all").get_json()}


@pytest.mark.parametrize(
    "body",
    [
        {**S3, "s3Region": "mars-1"},
        {k: v for k, v in S3.items() if k != "s3SecretAccessKey"},
        {**S3, "type": "FTP"},
        {**S3, "purpose": "OUTPUT"},
        {
            "type": "S3DelegatedAccess",
            "fullPath": "s3://b/",
            "purpose": "INPUT",
            "s3Region": "eu-west-1",
            "s3ARN": "arn:aws:iam::1:role/x",
            "s3ExternalId": "external-id-1",
        },
        {
            "type": "OBS",
            "fullPath": "obs://b/",
            "purpose": "INPUT",
            "obsEndpoint": "obs.example.com",
            "obsAccessKeyId": "a",
            "obsSecretAccessKey": "b",
        },
        {"type": "LOCAL", "purpose": "INPUT_OUTPUT"},
    ],
)
def test_invalid_configs_are_refused(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], body: dict[str, object]
) -> None:
    dataset_id = make_dataset("invalid configs", 0)
    before = stored()
    assert api.put(f"/v1/datasets/{dataset_id}/datasource", json=body).status_code == 400
    assert stored() == before


CLOUD_BODIES = [
    {
        "type": "S3DelegatedAccess",
        "fullPath": "s3://b/",
        "purpose": "INPUT",
        "s3Region": "eu-west-1",
        "s3ARN": "arn:aws:iam::123456789012:role/x",
        "s3ExternalId": "external-id-1",
    },
    {
        "type": "GCS",
        "fullPath": "gs://b/",
        "purpose": "INPUT",
        "gcsProjectId": "p",
        "gcsCredentials": "{}",
    },
    {
        "type": "AZURE",
        "fullPath": "container",
        "purpose": "INPUT",
        "accountName": "a",
        "accountKey": "sas",
    },
    {
        "type": "OBS",
        "fullPath": "obs://b/",
        "purpose": "INPUT",
        "obsEndpoint": "https://obs.example.com",
        "obsAccessKeyId": "a",
        "obsSecretAccessKey": "b",
    },
]


@pytest.mark.parametrize("body", CLOUD_BODIES, ids=lambda b: b["type"])
def test_every_cloud_variant_round_trips(
    api: Api, make_dataset: Callable[..., str], body: dict[str, str]
) -> None:
    dataset_id = make_dataset("clouds", 0)
    d = f"/v1/datasets/{dataset_id}/datasource"
    assert api.put(d, json=body).status_code == 200
    got = api.get(d).get_json()
    assert got == {**body, "id": got["id"]}
    verify = api.get(f"{d}/verify").get_json()
    assert verify == {"canRead": True, "canWrite": True, "canList": True, "canOverwrite": True}
    listing = api.get(f"{d}/list")
    assert listing.status_code == 400
    assert f"cannot reach the {body['type']} datasource" in listing.get_json()["error"]


def test_verify_probes_a_local_directory(
    api: Api, make_dataset: Callable[..., str], tmp_path: Path, local_dataset: str
) -> None:
    ok = api.get(f"/v1/datasets/{local_dataset}/datasource/verify").get_json()
    assert ok == {"canRead": True, "canWrite": True, "canList": True, "canOverwrite": True}
    missing = make_dataset("missing dir", 0)
    api.put(
        f"/v1/datasets/{missing}/datasource",
        json={"type": "LOCAL", "fullPath": str(tmp_path / "nope"), "purpose": "INPUT_OUTPUT"},
    )
    result = api.get(f"/v1/datasets/{missing}/datasource/verify").get_json()
    assert not any(result[k] for k in ("canRead", "canWrite", "canList", "canOverwrite"))
    assert set(result["errors"]) == {"canRead", "canWrite", "canList", "canOverwrite"}


def test_processed_until_timestamp(api: Api, local_dataset: str) -> None:
    d = f"/v1/datasets/{local_dataset}/datasource/processedUntilTimestamp"
    assert api.get(d).get_json() == {"processedUntilTimestamp": 0}
    assert api.put(d, json={"processedUntilTimestamp": 1700000000}).status_code == 200
    assert api.get(d).get_json() == {"processedUntilTimestamp": 1700000000}
    dataset = api.get(f"/v1/datasets/{local_dataset}").get_json()
    assert dataset["datasourceProcessedUntilTimestamp"] == 1700000000
    assert api.put(d, json={"processedUntilTimestamp": -1}).status_code == 400
    assert api.put(d, json={"processedUntilTimestamp": 1.5}).status_code == 400


def test_listing_local_samples(api: Api, local_dataset: str, images: Path) -> None:
    d = f"/v1/datasets/{local_dataset}/datasource"
    page = api.get(
        f"{d}/list", query={"from": 0, "to": 2_000_000_000, "useRedirectedReadUrl": "False"}
    ).get_json()
    assert (
        set(page) == {"hasMore", "cursor", "data"} and page["hasMore"] is False and page["cursor"]
    )
    assert [r["fileName"] for r in page["data"]] == ["a.jpg", "sub/b.png", "sub/deeper/c.jpeg"]
    assert api.client.get(_path(page["data"][1]["readUrl"])).data == b"sub/b.png"
    os.utime(images / "a.jpg", (1000, 1000))
    old = api.get(f"{d}/list", query={"from": 0, "to": 2000}).get_json()
    assert [r["fileName"] for r in old["data"]] == ["a.jpg"]
    (images / "relevant.txt").write_text("sub/b.png\n\nmissing.jpg\n")
    relevant = api.get(
        f"{d}/list", query={"to": 2_000_000_000, "relevantFilenamesFileName": "relevant.txt"}
    )
    assert [r["fileName"] for r in relevant.get_json()["data"]] == ["sub/b.png"]
    bad = api.get(f"{d}/list", query={"relevantFilenamesFileName": "nope.txt"}).get_json()
    assert bad["code"] == "DATASET_DATASOURCE_RELEVANT_FILENAMES_INVALID"
    # a symlink out of the datasource is not read (its lines would tell what the file
    # holds), nor a FIFO (it would hold the request)
    outside = images.parent / "outside.txt"
    outside.write_text("a.jpg\n")
    (images / "link.txt").symlink_to(outside)
    os.mkfifo(images / "fifo.txt")
    for name in ("link.txt", "fifo.txt"):
        refused = api.get(f"{d}/list", query={"relevantFilenamesFileName": name}).get_json()
        assert refused["code"] == "DATASET_DATASOURCE_RELEVANT_FILENAMES_INVALID", name
    assert api.get(f"{d}/list", query={"cursor": "!!!"}).status_code == 400
    assert api.get(f"{d}/list", query={"from": "yesterday"}).status_code == 400


def test_listing_pages_with_a_cursor(
    api: Api, local_dataset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_listing, "PAGE_SIZE", 2)
    d = f"/v1/datasets/{local_dataset}/datasource/list"
    page = api.get(d, query={"from": 0, "to": 2_000_000_000}).get_json()
    names = [r["fileName"] for r in page["data"]]
    assert page["hasMore"] is True
    while page["hasMore"]:
        page = api.get(
            d, query={"cursor": page["cursor"], "useRedirectedReadUrl": "True"}
        ).get_json()
        names += [r["fileName"] for r in page["data"]]
    assert names == ["a.jpg", "sub/b.png", "sub/deeper/c.jpeg"] and page["cursor"]


def test_prediction_and_metadata_listings(api: Api, local_dataset: str) -> None:
    d = f"/v1/datasets/{local_dataset}/datasource"
    predictions = api.get(
        f"{d}/predictions/list", query={"taskName": "det", "to": 2_000_000_000}
    ).get_json()
    assert [r["fileName"] for r in predictions["data"]] == [".lightly/predictions/det/a.json"]
    assert api.get(f"{d}/predictions/list", query={"taskName": "none"}).get_json()["data"] == []
    assert api.get(f"{d}/predictions/list").status_code == 400
    assert api.get(f"{d}/predictions/list", query={"taskName": "../x"}).status_code == 400
    metadata = api.get(f"{d}/metadata/list", query={"to": 2_000_000_000}).get_json()
    assert [r["fileName"] for r in metadata["data"]] == [".lightly/metadata/sub/b.json"]


def test_file_urls_and_prediction_write_url(api: Api, local_dataset: str, images: Path) -> None:
    d = f"/v1/datasets/{local_dataset}/datasource"
    url = api.get(f"{d}/predictions/file", query={"fileName": "tasks.json"}).get_json()
    assert api.client.get(_path(url)).data == b"{}"
    assert api.get(f"{d}/metadata/file", query={"fileName": "sub/b.json"}).status_code == 200
    assert api.get(f"{d}/embeddings/file", query={"fileName": "emb.csv"}).status_code == 200
    assert api.get(f"{d}/predictions/file", query={"fileName": "a.j"}).status_code == 400
    assert api.get(f"{d}/metadata/file", query={"fileName": "../../etc/passwd"}).status_code == 400
    write = api.get(f"{d}/predictions/writeUrl", query={"fileName": "det/new.json"}).get_json()
    assert api.client.put(_path(write), data=b'{"new": 1}').status_code == 200
    assert (images / ".lightly/predictions/det/new.json").read_bytes() == b'{"new": 1}'
    redirect = api.get(f"{d}/readurlRedirect", query={"path": "sub/b.png"})
    assert (
        redirect.status_code == 302
        and api.client.get(_path(redirect.headers["Location"])).data == b"sub/b.png"
    )
    assert api.get(f"{d}/readurlRedirect", query={"path": "../secret"}).status_code == 400


def test_a_symlink_out_of_the_datasource_is_not_served(
    api: Api, local_dataset: str, images: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"secret")
    (images / "link.jpg").symlink_to(secret)
    url = api.get(
        f"/v1/datasets/{local_dataset}/datasource/readurlRedirect", query={"path": "link.jpg"}
    ).headers["Location"]
    response = api.client.get(_path(url))
    assert response.status_code == 403 and b"secret" not in response.data


@pytest.mark.parametrize(
    "hidden", [".aws/credentials", "sub/.env", ".ssh/id_rsa.jpg", ".lightly2/x"]
)
def test_hidden_files_of_the_datasource_are_not_served(
    api: Api, local_dataset: str, images: Path, hidden: str
) -> None:
    """A folder served as a datasource may be a home folder."""
    (images / hidden).parent.mkdir(parents=True, exist_ok=True)
    (images / hidden).write_text("aws_secret_access_key=HOMESECRET")
    d = f"/v1/datasets/{local_dataset}"
    url = api.get(f"{d}/datasource/readurlRedirect", query={"path": hidden}).headers["Location"]
    response = api.client.get(_path(url))
    assert response.status_code == 403 and b"HOMESECRET" not in response.data
    sample = api.post(f"{d}/samples", json={"fileName": hidden}).get_json()["id"]
    url = api.get(f"{d}/samples/{sample}/readurl", query={"type": "full"}).get_json()
    assert b"HOMESECRET" not in api.client.get(_path(url)).data
    # nor through a symlink with an ordinary name, nor as the relevant filenames file
    (images / "creds.jpg").symlink_to(images / hidden)
    url = api.get(f"{d}/datasource/readurlRedirect", query={"path": "creds.jpg"})
    assert api.client.get(_path(url.headers["Location"])).status_code == 403
    relevant = api.get(f"{d}/datasource/list", query={"relevantFilenamesFileName": hidden})
    assert relevant.get_json()["code"] == "DATASET_DATASOURCE_RELEVANT_FILENAMES_INVALID"


def test_hidden_files_are_not_listed_either(api: Api, local_dataset: str, images: Path) -> None:
    for name in (".cache/x.jpg", "sub/.b.jpg"):
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        (images / name).write_bytes(b"hidden")
    page = api.get(f"/v1/datasets/{local_dataset}/datasource/list").get_json()
    assert [r["fileName"] for r in page["data"]] == ["a.jpg", "sub/b.png", "sub/deeper/c.jpeg"]


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"offset": 0, "from": "abc"}',
        b'{"from": [1]}',
        b'{"offset": 0, "relevant": 5}',
        b'{"offset": 0, "from": 1e400}',
        b'{"offset": 0, "from": NaN}',
        b'{"offset": 0, "to": 100000000000000000000000000000}',
        b'{"offset": -1}',
        b'{"offset": true}',
        b'{"offset": 1.5}',
        b'{"offset": 0, "surprise": 1}',
        b'{"offset": 0, "relevant": "\\ud800"}',
        b"[0]",
        b'{"a": ' * 2000,
        b"\xff",
    ],
)
def test_forged_cursors_are_a_400(api: Api, local_dataset: str, raw: bytes) -> None:
    response = api.get(
        f"/v1/datasets/{local_dataset}/datasource/list", query={"cursor": _cursor(raw)}
    )
    assert response.status_code == 400, response.get_json()
    assert "invalid cursor" in response.get_json()["error"]


def test_a_cursor_without_from_and_to_lists_from_the_start(api: Api, local_dataset: str) -> None:
    cursor = _cursor(b'{"offset": 1}')
    d = f"/v1/datasets/{local_dataset}/datasource/list"
    assert api.get(d, query={"cursor": cursor}).get_json()["data"] == []  # mtimes are > 0


@pytest.mark.parametrize(
    "full_path", ["~nosuchuser-of-lightly-run/x", "/tmp/a\x00b", "file:///a%00b"]
)
def test_a_local_path_that_cannot_name_a_directory_is_a_400(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str], full_path: str
) -> None:
    dataset_id = make_dataset("bad path", 0)
    before = stored()
    body = {"type": "LOCAL", "fullPath": full_path, "purpose": "INPUT_OUTPUT"}
    response = api.put(f"/v1/datasets/{dataset_id}/datasource", json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "DATASET_DATASOURCE_INVALID"
    assert "LOCAL datasource path" in response.get_json()["error"]
    assert stored() == before


def test_a_bad_local_path_stored_earlier_answers_4xx_everywhere(
    api: Api, make_dataset: Callable[..., str], store: Store, app: Flask
) -> None:
    dataset_id = make_dataset("stored bad path", 1)
    d = f"/v1/datasets/{dataset_id}"
    bad = {"type": "LOCAL", "fullPath": "~nosuchuser-of-lightly-run/x", "purpose": "INPUT_OUTPUT"}
    store.put_doc("datasource", bad, dataset_id=dataset_id)  # as PUT stored it before the check
    sample = api.get(f"{d}/mappings", query={"field": "_id"}).get_json()[0]
    tag = api.get(f"{d}/tags").get_json()[0]["id"]
    blobs: BlobStore = app.extensions["lightly_blobs"]
    blob = _path(blobs.signed_url("http://localhost", f"local/{dataset_id}/img-000.jpg"))
    for response in (
        api.get(f"{d}/datasource/verify"),
        api.get(f"{d}/datasource/list"),
        api.get(f"{d}/datasource/metadata/file", query={"fileName": "a.json"}),
        api.get(f"{d}/samples/{sample}/readurl"),
        api.get(f"{d}/tags/{tag}/export/LabelStudio/tasks"),
        api.client.get(blob),
    ):
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["code"] == "DATASET_DATASOURCE_INVALID"
    assert api.get(f"{d}/datasource").get_json()["fullPath"] == bad["fullPath"]


def test_the_server_s_own_data_folder_is_never_served_through_a_datasource(
    api: Api, make_dataset: Callable[..., str], tmp_path: Path
) -> None:
    """A datasource at a folder holding the data folder (here tmp_path, holding data/)
    would otherwise serve the database with every user's token."""
    dataset_id = make_dataset("wide", 0)
    body = {"type": "LOCAL", "fullPath": str(tmp_path), "purpose": "INPUT_OUTPUT"}
    assert api.put(f"/v1/datasets/{dataset_id}/datasource", json=body).status_code == 200
    d = f"/v1/datasets/{dataset_id}/datasource"
    url = api.get(f"{d}/readurlRedirect", query={"path": "data/lightly.sqlite3"})
    response = api.client.get(_path(url.headers["Location"]))
    assert response.status_code == 403 and b"SQLite" not in response.data
    assert "does not serve its own data folder" in response.get_json()["error"]


@pytest.mark.parametrize("inside", ["", "blobs"])
def test_a_datasource_in_the_server_s_own_data_folder_is_refused(
    api: Api, make_dataset: Callable[..., str], tmp_path: Path, inside: str
) -> None:
    dataset_id = make_dataset("own", 0)
    body = {"type": "LOCAL", "fullPath": str(tmp_path / "data" / inside), "purpose": "INPUT_OUTPUT"}
    response = api.put(f"/v1/datasets/{dataset_id}/datasource", json=body)
    assert response.status_code == 400
    assert "in the local server's own data folder" in response.get_json()["error"]


def test_a_server_with_local_roots_refuses_datasources_elsewhere(
    tmp_path: Path, images: Path
) -> None:
    from runner.local.app import ServerConfig, create_app
    from tests.local.conftest import TOKEN_A

    config = ServerConfig(data_dir=tmp_path / "rooted", local_roots=(images,))
    app = create_app(config)
    app.extensions["lightly_store"].ensure_user("a@x", TOKEN_A)
    api = Api(app.test_client(), TOKEN_A)
    dataset_id = api.post("/v1/datasets", json={"name": "rooted", "type": "Images"}).get_json()[
        "id"
    ]
    d = f"/v1/datasets/{dataset_id}/datasource"
    outside = "outside the folders this server serves LOCAL datasources from"
    # nor a file server: the worker would fetch any URL (an internal service) for any user
    url = "is a file server URL: this server reads LOCAL datasources only from its"
    for path, message in [
        *((p, outside) for p in ("/", str(tmp_path), f"{images}/../", "file:///etc")),
        *((p, url) for p in ("http://127.0.0.1:8080/internal?q=", "https://intranet.example/")),
    ]:
        body = {"type": "LOCAL", "fullPath": path, "purpose": "INPUT_OUTPUT"}
        response = api.put(d, json=body)
        assert response.status_code == 400, path
        assert message in response.get_json()["error"]
    inside = {"type": "LOCAL", "fullPath": str(images / "sub"), "purpose": "INPUT_OUTPUT"}
    assert api.put(d, json=inside).status_code == 200
    app.extensions["lightly_store"].close()


def test_the_database_is_readable_by_its_owner_only(app: Flask, tmp_path: Path) -> None:
    assert (tmp_path / "data" / "lightly.sqlite3").stat().st_mode & 0o077 == 0


def test_a_user_the_dataset_is_shared_with_does_not_see_its_credentials(
    api: Api, api_b: Api, store: Store, make_dataset: Callable[..., str]
) -> None:
    dataset_id = make_dataset("shared-s3", 0)
    s3 = {
        "type": "S3",
        "fullPath": "s3://bucket/frames/",
        "purpose": "INPUT_OUTPUT",
        "s3Region": "eu-central-1",
        "s3AccessKeyId": "AKIAEXAMPLE",
        "s3SecretAccessKey": "the-owners-secret-key",
    }
    d = f"/v1/datasets/{dataset_id}/datasource"
    assert api.put(d, json=s3).status_code == 200
    store.put_doc(
        "share",
        {"accessType": "WRITE", "users": ["b@x"], "teams": [], "createdAt": 1},
        dataset_id=dataset_id,
    )
    for path in (d, f"{d}/all"):
        shown = api_b.get(path).get_json()
        (config,) = shown if isinstance(shown, list) else [shown]
        assert config["s3SecretAccessKey"] == "***" and config["s3AccessKeyId"] == "AKIAEXAMPLE"
    assert api.get(d).get_json()["s3SecretAccessKey"] == "the-owners-secret-key"
