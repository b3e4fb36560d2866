"""Embeddings: CSV upload through a signed URL, listing newest first, 2-D views, delete."""

from __future__ import annotations

from collections.abc import Callable

from tests.local.conftest import EMBEDDING_DATA, Api, assert_model

CSV = b"filenames,embedding_0,embedding_1,labels\nimg-000.jpg,0,1,0\nimg-001.jpg,2,3,0\nimg-002.jpg,5,1,0\n"


def _path(url: str) -> str:
    return url.removeprefix("http://localhost")


def _upload(api: Api, dataset_id: str, name: str, data: bytes = CSV) -> str:
    response = api.get(f"/v1/datasets/{dataset_id}/embeddings/writeCSVUrl", query={"name": name})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"signedWriteUrl", "embeddingId"}
    assert api.client.put(_path(body["signedWriteUrl"]), data=data).status_code == 200
    embedding_id: str = body["embeddingId"]
    return embedding_id


def test_upload_marks_processed_and_reads_back_exact_bytes(
    api: Api, make_dataset: Callable[..., str]
) -> None:
    dataset_id = make_dataset("emb", 3)
    e = f"/v1/datasets/{dataset_id}/embeddings"
    pending = api.get(f"{e}/writeCSVUrl", query={"name": "pending"}).get_json()["embeddingId"]
    [listed] = api.get(e).get_json()
    assert listed["id"] == pending and listed["isProcessed"] is False
    embedding_id = _upload(api, dataset_id, "default")
    listing = api.get(e).get_json()
    for item in listing:
        assert_model(item, EMBEDDING_DATA)
    assert [x["name"] for x in listing] == ["default", "pending"]  # newest first
    assert listing[0]["isProcessed"] is True
    url = api.get(f"{e}/{embedding_id}/readCSVUrl").get_json()
    fetched = api.client.get(_path(url))
    assert fetched.data == CSV and "Content-Encoding" not in fetched.headers


def test_duplicate_and_missing_names(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str]
) -> None:
    dataset_id = make_dataset("emb names", 3)
    e = f"/v1/datasets/{dataset_id}/embeddings"
    _upload(api, dataset_id, "default")
    before = stored()
    duplicate = api.get(f"{e}/writeCSVUrl", query={"name": "default"})
    assert duplicate.status_code == 400 and duplicate.get_json()["code"] == "EMBEDDING_NAME_EXISTS"
    assert api.get(f"{e}/writeCSVUrl").status_code == 400
    assert stored() == before


def test_processed_flag_two_d_views_and_delete(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("emb 2d", 3)
    e = f"/v1/datasets/{dataset_id}/embeddings"
    embedding_id = _upload(api, dataset_id, "default")
    for method in ("PCA", "TSNE", "UMAP"):
        body = {"dimensionalityReductionMethod": method}
        assert api.post(f"{e}/{embedding_id}/trigger2dEmbeddingsJob", json=body).status_code == 200
    bad = {"dimensionalityReductionMethod": "LDA"}
    assert api.post(f"{e}/{embedding_id}/trigger2dEmbeddingsJob", json=bad).status_code == 400
    [view] = api.get(f"{e}/{embedding_id}/2d").get_json()
    assert view["dimensionalityReductionMethod"] == "PCA"
    assert len(view["coordinatesDimension1"]) == 3 == len(view["coordinatesDimension2"])
    assert api.get(f"{e}/{embedding_id}/2d/{view['id']}").get_json() == view
    made = api.post(
        f"{e}/{embedding_id}/2d",
        json={
            "name": "mine",
            "dimensionalityReductionMethod": "UMAP",
            "coordinatesDimension1": [1, 2],
            "coordinatesDimension2": [3, 4],
        },
    )
    assert made.status_code == 201
    assert api.put(f"{e}/{embedding_id}/isProcessed", json={"rowCount": 3}).status_code == 200
    assert api.put(f"{e}/{embedding_id}/isProcessed", json={"rowCount": "3"}).status_code == 400
    assert api.delete(f"{e}/{embedding_id}").status_code == 200
    assert api.get(e).get_json() == []
    assert api.get(f"{e}/{embedding_id}/readCSVUrl").get_json()["code"] == "EMBEDDING_UNKNOWN"
    assert api.delete(f"{e}/{embedding_id}").status_code == 404


def test_a_malformed_csv_makes_pca_answer_400(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("emb bad", 1)
    embedding_id = _upload(api, dataset_id, "broken", b"filenames,labels\na.jpg,0\n")
    response = api.post(
        f"/v1/datasets/{dataset_id}/embeddings/{embedding_id}/trigger2dEmbeddingsJob",
        json={"dimensionalityReductionMethod": "PCA"},
    )
    assert response.status_code == 400 and response.get_json()["code"] == "EMBEDDING_INVALID"
