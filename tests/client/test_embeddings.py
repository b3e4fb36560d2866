"""Wire contract of the embedding operations (CONTRACT §3.3, §8.3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import responses

from runner.client import ApiWorkflowClient, EmbeddingDoesNotExistError
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, body_of, covers

D = f"/v1/datasets/{DATASET_ID}"
BLOBS = "https://blobs.test"
E1, E2, E3 = "1" * 24, "2" * 24, "3" * 24
EMBEDDINGS = [  # newest first, as the server lists them
    {"id": E1, "name": "default_20240102_10h00m00s", "isProcessed": True, "createdAt": 30},
    {"id": E2, "name": "custom", "isProcessed": True, "createdAt": 20},
    {"id": E3, "name": "default", "isProcessed": True, "createdAt": 10},
]


def add_listing(mocked: responses.RequestsMock, embeddings: list[object] = EMBEDDINGS) -> None:
    mocked.get(f"{SERVER}{D}/embeddings", json=embeddings)


@covers("get_all_embedding_data")
def test_get_all_embedding_data(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    add_listing(mocked)
    got = client.get_all_embedding_data()
    assert got == EMBEDDINGS and got[0].is_processed is True
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings")


@covers("get_embedding_data_by_name")
def test_get_embedding_data_by_name(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_listing(mocked)
    assert client.get_embedding_data_by_name("default").id == E3
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings")
    with pytest.raises(ValueError, match="There are no embeddings with name 'defau'"):
        client.get_embedding_data_by_name("defau")


@covers("set_embedding_id_to_latest")
def test_set_embedding_id_to_latest(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_listing(mocked)
    client.set_embedding_id_to_latest()
    assert client.embedding_id == E1
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings")


def test_set_embedding_id_to_latest_without_embeddings(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_listing(mocked, [])
    with pytest.raises(RuntimeError, match="There are no known embeddings"):
        client.set_embedding_id_to_latest()


@covers("get_embedding_by_name")
def test_get_embedding_by_name(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    add_listing(mocked)
    assert client.get_embedding_by_name("default").id == E1  # prefix match, newest first
    assert client.get_embedding_by_name("default", ignore_suffix=False).id == E3
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings")
    with pytest.raises(EmbeddingDoesNotExistError, match="'cust' does not exist"):
        client.get_embedding_by_name("cust", ignore_suffix=False)
    assert issubclass(EmbeddingDoesNotExistError, ValueError)


@covers("download_embeddings_csv_by_id")
def test_download_embeddings_csv_by_id(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.get(f"{SERVER}{D}/embeddings/{E2}/readCSVUrl", json=f"{BLOBS}/e.csv?sig=1")
    mocked.get(f"{BLOBS}/e.csv", body=b"filenames,embedding_0,labels\r\na.jpg,0.5,0\r\n")
    out = tmp_path / "deep" / "e.csv"

    assert client.download_embeddings_csv_by_id(E2, str(out)) is None

    assert out.read_bytes() == b"filenames,embedding_0,labels\r\na.jpg,0.5,0\r\n"
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings/{E2}/readCSVUrl")
    assert_call(mocked.calls[1], "GET", "/e.csv", [("sig", "1")], authenticated=False)
    assert [p.name for p in out.parent.iterdir()] == ["e.csv"]  # no temporary file left


@covers("download_embeddings_csv")
def test_download_embeddings_csv_takes_newest_default(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_listing(mocked)
    mocked.get(f"{SERVER}{D}/embeddings/{E1}/readCSVUrl", json=f"{BLOBS}/e.csv")
    mocked.get(f"{BLOBS}/e.csv", body=b"x")
    client.download_embeddings_csv(str(tmp_path / "e.csv"))
    assert_call(mocked.calls[1], "GET", f"{D}/embeddings/{E1}/readCSVUrl")


def test_download_embeddings_csv_without_default_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    add_listing(mocked, [EMBEDDINGS[1]])
    with pytest.raises(RuntimeError, match="Could not find embeddings"):
        client.download_embeddings_csv(str(tmp_path / "e.csv"))


@covers("append_embeddings")
def test_append_embeddings_merges_server_rows(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.get(f"{SERVER}{D}/embeddings/{E2}/readCSVUrl", json=f"{BLOBS}/e.csv")
    remote = "filenames,embedding_0,labels\r\na.jpg,1,0\r\nb.jpg,2,0\r\n"
    mocked.get(f"{BLOBS}/e.csv", body=remote)
    local = tmp_path / "local.csv"
    local.write_text("filenames,embedding_0,labels\nc.jpg,3,1\nb.jpg,9,1\n")

    client.append_embeddings(str(local), E2)

    assert local.read_text() == "filenames,embedding_0,labels\na.jpg,1,0\nb.jpg,9,1\nc.jpg,3,1\n"
    assert_call(mocked.calls[0], "GET", f"{D}/embeddings/{E2}/readCSVUrl")


def test_append_embeddings_column_mismatch_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    mocked.get(f"{SERVER}{D}/embeddings/{E2}/readCSVUrl", json=f"{BLOBS}/e.csv")
    mocked.get(f"{BLOBS}/e.csv", body="filenames,embedding_0,embedding_1,labels\na.jpg,1,2,0\n")
    local = tmp_path / "local.csv"
    local.write_text("filenames,embedding_0,labels\nc.jpg,3,1\n")
    with pytest.raises(RuntimeError, match="Column mismatch"):
        client.append_embeddings(str(local), E2)
    assert local.read_text() == "filenames,embedding_0,labels\nc.jpg,3,1\n"


def add_upload(mocked: responses.RequestsMock, filenames: list[str]) -> None:
    mocked.get(f"{SERVER}{D}/mappings", json=filenames)
    mocked.get(
        f"{SERVER}{D}/embeddings/writeCSVUrl",
        json={"signedWriteUrl": f"{BLOBS}/new.csv?sig=2", "embeddingId": E3},
    )
    mocked.put(f"{BLOBS}/new.csv", body="")
    mocked.post(f"{SERVER}{D}/embeddings/{E3}/trigger2dEmbeddingsJob", body="")


@covers("upload_embeddings")
def test_upload_embeddings_prunes_reorders_and_triggers_2d(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "emb.csv"
    path.write_text(
        "filenames,embedding_0,masked,embedding_1,labels,extra\r\n"
        "b.jpg,0.2,0,0.3,1,x\r\n"
        "a.jpg,0.0,1,0.1,0,y\r\n"
    )
    add_listing(mocked, [])
    add_upload(mocked, ["a.jpg", "b.jpg"])

    client.upload_embeddings(str(path), name="default")

    pruned = "filenames,embedding_0,embedding_1,labels\nb.jpg,0.2,0.3,1\na.jpg,0.0,0.1,0\n"
    assert path.read_text() == pruned
    calls = mocked.calls
    assert_call(calls[0], "GET", f"{D}/embeddings")
    assert_call(calls[1], "GET", f"{D}/mappings", [("field", "fileName")])
    assert_call(calls[2], "GET", f"{D}/embeddings/writeCSVUrl", [("name", "default")])
    assert_call(calls[3], "PUT", "/new.csv", [("sig", "2")], authenticated=False)
    assert (
        calls[3].request.body
        == b"filenames,embedding_0,embedding_1,labels\na.jpg,0.0,0.1,0\nb.jpg,0.2,0.3,1\n"
    )
    for call, method in zip(calls[4:], ["PCA", "TSNE", "UMAP"], strict=True):
        assert_call(
            call,
            "POST",
            f"{D}/embeddings/{E3}/trigger2dEmbeddingsJob",
            body={"dimensionalityReductionMethod": method},
        )
    assert client.embedding_id == E3


def test_upload_embeddings_appends_to_existing_and_renames(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "emb.csv"
    path.write_text("filenames,embedding_0,labels\nc.jpg,3,0\n")
    add_listing(mocked)
    mocked.get(f"{SERVER}{D}/embeddings/{E1}/readCSVUrl", json=f"{BLOBS}/old.csv")
    mocked.get(f"{BLOBS}/old.csv", body="filenames,embedding_0,labels\na.jpg,1,0\n")
    add_upload(mocked, ["a.jpg", "c.jpg"])

    client.upload_embeddings(str(path), name="default")

    write = next(c for c in mocked.calls if "writeCSVUrl" in c.request.url)
    assert re.fullmatch(r"default_\d{8}_\d{2}h\d{2}m\d{2}s", write.request.params["name"])
    put = next(c for c in mocked.calls if c.request.method == "PUT")
    assert put.request.body == b"filenames,embedding_0,labels\na.jpg,1,0\nc.jpg,3,0\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("filenames, embedding_0,labels\na,1,0\n", "whitespaces"),
        ("name,embedding_0,labels\na,1,0\n", "must start with `filenames`"),
        ("filenames,embedding_0\na,1\n", "no `labels` column"),
        (
            "filenames,feature,labels\na,1,0\n",
            "must have `embedding_x` columns but found 'feature'",
        ),
        ("filenames,embedding_0,labels\na,1,0\n\nb,2,0\n", "must not have empty rows"),
        (
            "filenames,embedding_0,embedding_1,labels\na,1,2,0\nb,0.5,abc,0\n",
            "line 3 has 'abc' in embedding_1, not a finite number",
        ),
        ("filenames,embedding_0,labels\na,1e999,0\n", "line 2 has '1e999' in embedding_0"),
        ("filenames,embedding_0,labels\na,,0\n", "line 2 has '' in embedding_0"),
    ],
)
def test_upload_embeddings_malformed_csv_raises_before_any_request(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "emb.csv"
    path.write_text(content)
    with pytest.raises(RuntimeError, match=message):
        client.upload_embeddings(str(path), name="default")
    assert len(mocked.calls) == 0


def test_upload_embeddings_of_a_file_that_is_not_text_names_the_file(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, tmp_path: Path
) -> None:
    path = tmp_path / "emb.csv"
    path.write_bytes(b"\x9b\xff\x00")
    with pytest.raises(ValueError, match=re.escape(f"{path} is not a UTF-8 text (CSV) file")):
        client.upload_embeddings(str(path), name="default")
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('"a,b.jpg",1,0\nb.jpg,2,0\n', "must not contain commas"),
        ("a.jpg,1,0\n", "has 1 rows but the dataset has 2 samples"),
        (
            "a.jpg,1,0\nx.jpg,2,0\n",
            r"missing e.g. \['b.jpg'\], not in the dataset e.g. \['x.jpg'\]",
        ),
    ],
)
def test_upload_embeddings_names_must_match_the_dataset(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    rows: str,
    message: str,
) -> None:
    path = tmp_path / "emb.csv"
    path.write_text("filenames,embedding_0,labels\n" + rows)
    add_listing(mocked, [])
    add_upload(mocked, ["a.jpg", "b.jpg"])
    with pytest.raises(ValueError, match=message):
        client.upload_embeddings(str(path), name="new")
    assert not any("writeCSVUrl" in c.request.url for c in mocked.calls)
    assert body_of(mocked.calls[0]) is None
