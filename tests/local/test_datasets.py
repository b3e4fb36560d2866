"""Datasets: create, list, query by name, rename, delete, and the DatasetData shape."""

from __future__ import annotations

from collections.abc import Callable

from runner.local.store import Store
from tests.local.conftest import DATASET_DATA, Api, assert_model


def test_create_answers_201_and_a_strict_dataset_data(api: Api) -> None:
    response = api.post("/v1/datasets", json={"name": "my dataset", "creator": "USER_PIP"})
    assert response.status_code == 201
    dataset_id = response.get_json()["id"]
    data = api.get(f"/v1/datasets/{dataset_id}").get_json()
    assert_model(data, DATASET_DATA)
    assert data["name"] == "my dataset" and data["type"] == "Images"
    assert data["nSamples"] == 0 and data["sizeInBytes"] == 0
    assert "imgType" not in data and "accessType" not in data


def test_counters_imgtype_and_last_modified_follow_samples_and_tags(
    api: Api, make_dataset: Callable[..., str]
) -> None:
    dataset_id = make_dataset("counted", 0)
    before = api.get(f"/v1/datasets/{dataset_id}").get_json()["lastModifiedAt"]
    api.post(
        f"/v1/datasets/{dataset_id}/samples",
        json={"fileName": "a.jpg", "metaData": {"sizeInBytes": 1234}},
    )
    api.post(f"/v1/datasets/{dataset_id}/tags/initial", json={"imgType": "thumbnail"})
    data = api.get(f"/v1/datasets/{dataset_id}").get_json()
    assert data["nSamples"] == 1 and data["sizeInBytes"] == 1234
    assert data["imgType"] == "thumbnail"
    assert data["lastModifiedAt"] >= before


def test_duplicate_name_is_refused(api: Api, stored: Callable[[], str]) -> None:
    api.post("/v1/datasets", json={"name": "twice"})
    before = stored()
    response = api.post("/v1/datasets", json={"name": "twice"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "DATASET_NAME_EXISTS"
    assert stored() == before


def test_invalid_names_and_types_are_refused(api: Api, stored: Callable[[], str]) -> None:
    before = stored()
    for body in (
        {"name": "ab"},
        {"name": "-starts-with-dash"},
        {"name": "has/slash"},
        {"name": 123},
        {},
        {"name": "fine name", "type": "Pictures"},
        {"name": "fine name", "parentDatasetId": "nope"},
    ):
        response = api.post("/v1/datasets", json=body)
        assert response.status_code == 400, body
        assert set(response.get_json()) == {"code", "error"}
    assert stored() == before


def test_offset_pagination_ends_with_an_empty_page(api: Api) -> None:
    ids = [api.post("/v1/datasets", json={"name": f"page {i}"}).get_json()["id"] for i in range(3)]
    pages = [
        api.get("/v1/datasets", query={"shared": "False", "pageSize": 2, "pageOffset": offset})
        for offset in (0, 2, 4)
    ]
    assert [[d["id"] for d in p.get_json()] for p in pages] == [ids[:2], ids[2:], []]
    assert [d["id"] for d in api.get("/v1/datasets").get_json()] == ids
    assert api.get("/v1/datasets", query={"pageSize": "x"}).status_code == 400
    assert api.get("/v1/datasets", query={"shared": "maybe"}).status_code == 400


def test_query_by_name_exact_and_prefix(api: Api) -> None:
    first = api.post("/v1/datasets", json={"name": "street scenes"}).get_json()["id"]
    second = api.post("/v1/datasets", json={"name": "street scenes_1"}).get_json()["id"]
    exact = api.get(
        "/v1/datasets/query/name/street%20scenes", query={"exact": "True", "shared": "False"}
    )
    assert [d["id"] for d in exact.get_json()] == [first]
    prefix = api.get("/v1/datasets/query/name/street%20scenes", query={"exact": "false"})
    assert [d["id"] for d in prefix.get_json()] == [first, second]
    assert api.get("/v1/datasets/query/name/nothing", query={"exact": "True"}).get_json() == []
    team = api.get("/v1/datasets/query/name/street", query={"getAssetsOfTeam": "True"})
    assert team.get_json() == []


def test_shared_datasets_are_listed_with_access_type(
    api: Api, api_b: Api, store: Store, make_dataset: Callable[..., str]
) -> None:
    dataset_id = make_dataset("shared one", 1)
    assert api_b.get("/v1/datasets", query={"shared": "True"}).get_json() == []
    store.put_doc(
        "share",
        {"accessType": "WRITE", "users": ["b@x"], "teams": [], "createdAt": 1},
        dataset_id=dataset_id,
    )
    shared = api_b.get("/v1/datasets", query={"shared": "True"}).get_json()
    assert [d["id"] for d in shared] == [dataset_id]
    assert shared[0]["accessType"] == "WRITE"
    assert_model(shared[0], DATASET_DATA)
    assert api_b.get("/v1/datasets", query={"shared": "False"}).get_json() == []
    assert api.get("/v1/datasets", query={"shared": "True"}).get_json() == []
    assert api_b.get(f"/v1/datasets/{dataset_id}").get_json()["accessType"] == "WRITE"
    by_name = api_b.get(
        "/v1/datasets/query/name/shared one", query={"shared": "True", "exact": "True"}
    )
    assert [d["id"] for d in by_name.get_json()] == [dataset_id]


def test_rename(api: Api, stored: Callable[[], str]) -> None:
    dataset_id = api.post("/v1/datasets", json={"name": "old name"}).get_json()["id"]
    api.post("/v1/datasets", json={"name": "taken"})
    assert api.put(f"/v1/datasets/{dataset_id}", json={"name": "new name"}).status_code == 200
    assert api.get(f"/v1/datasets/{dataset_id}").get_json()["name"] == "new name"
    before = stored()
    response = api.put(f"/v1/datasets/{dataset_id}", json={"name": "taken"})
    assert response.get_json()["code"] == "DATASET_NAME_EXISTS"
    assert stored() == before


def test_delete_removes_samples_documents_and_blobs(
    api: Api, client: object, store: Store, make_dataset: Callable[..., str], app: object
) -> None:
    dataset_id = make_dataset("to delete", 2)
    keep = make_dataset("to keep", 1)
    sample_id = api.get(f"/v1/datasets/{dataset_id}/mappings", query={"field": "_id"}).get_json()[0]
    url = api.get(
        f"/v1/datasets/{dataset_id}/samples/{sample_id}/writeurl", query={"isThumbnail": "False"}
    ).get_json()
    assert api.client.put(url.removeprefix("http://localhost"), data=b"img").status_code == 200
    blob_dir = app.extensions["lightly_blobs"].root / "datasets" / dataset_id  # type: ignore[attr-defined]
    assert blob_dir.exists()
    assert api.delete(f"/v1/datasets/{dataset_id}").status_code == 200
    assert api.get(f"/v1/datasets/{dataset_id}").status_code == 404
    assert not blob_dir.exists()
    db = store.db
    assert (
        db.execute("SELECT COUNT(*) FROM samples WHERE dataset_id=?", (dataset_id,)).fetchone()[0]
        == 0
    )
    assert (
        db.execute("SELECT COUNT(*) FROM documents WHERE dataset_id=?", (dataset_id,)).fetchone()[0]
        == 0
    )
    assert api.get(f"/v1/datasets/{keep}").get_json()["nSamples"] == 1
    assert api.delete(f"/v1/datasets/{dataset_id}").status_code == 404


def test_register_upload_and_children(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("uploads", 0)
    body = {"total": 10, "processed": 2, "uploadMethod": "USER_PIP", "isRegistered": True}
    assert api.put(f"/v1/datasets/{dataset_id}/registerDatasetUpload", json=body).status_code == 200
    bad = api.put(f"/v1/datasets/{dataset_id}/registerDatasetUpload", json={"total": "ten"})
    assert bad.status_code == 400
    assert api.get(f"/v1/datasets/{dataset_id}/children").get_json() == []


def test_quota_and_versions_need_no_token(client: object) -> None:
    bare = Api(client, None)  # type: ignore[arg-type]
    assert bare.get("/v1/versions/pip/minimum").get_json() == "1.0.0"
    assert (
        bare.get("/v1/versions/pip/latest", query={"currentVersion": "1.4.10"}).get_json()
        == "1.4.10"
    )
    assert bare.get("/v1/quota").status_code == 401


def test_quota(api: Api) -> None:
    assert int(api.get("/v1/quota").get_json()) >= 25000
