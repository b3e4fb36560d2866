"""Wire contract of the dataset operations (CONTRACT §5)."""

from __future__ import annotations

import pytest
import responses

from runner.client import ApiWorkflowClient, NotFound, ServerError
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

OTHER = "b" * 24
THIRD = "c" * 24


def dataset(id_: str, name: str = "street", modified: int = 1) -> dict[str, object]:
    return {
        "id": id_,
        "name": name,
        "userId": "u",
        "type": "Images",
        "nSamples": 0,
        "sizeInBytes": 0,
        "createdAt": 1,
        "lastModifiedAt": modified,
    }


def add_name_query(mocked: responses.RequestsMock, name: str, *answers: list[object]) -> None:
    for answer in answers:
        mocked.get(f"{SERVER}/v1/datasets/query/name/{name}", json=answer)


@covers("dataset_exists", "get_dataset_by_id")
def test_dataset_exists_and_get_by_id(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}/v1/datasets/{OTHER}", json=dataset(OTHER))
    mocked.get(
        f"{SERVER}/v1/datasets/{THIRD}", status=404, json={"code": "DATASET_UNKNOWN", "error": "no"}
    )

    assert client.dataset_exists(OTHER) is True
    assert client.dataset_exists(THIRD) is False
    got = client.get_dataset_by_id(OTHER)

    assert got == dataset(OTHER) and got.n_samples == 0 and got.last_modified_at == 1
    assert_call(mocked.calls[0], "GET", f"/v1/datasets/{OTHER}")
    assert_call(mocked.calls[1], "GET", f"/v1/datasets/{THIRD}")
    with pytest.raises(NotFound, match="DATASET_UNKNOWN"):
        client.get_dataset_by_id(THIRD)


def test_dataset_exists_reraises_other_errors(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}/v1/datasets/{OTHER}", status=500, body="boom")
    with pytest.raises(ServerError, match="HTTP 500"):
        client.dataset_exists(OTHER)
    assert len(mocked.calls) == 3  # retried, then raised


@covers("get_datasets_by_name", "dataset_name_exists")
def test_get_datasets_by_name_shared_none_queries_three_and_dedups(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(
        mocked,
        "my%20set",
        [dataset(OTHER, "my set")],
        [dataset(OTHER, "my set"), dataset(THIRD, "my set")],
        [],
    )

    got = client.get_datasets_by_name("my set", shared=None)

    assert [d.id for d in got] == [OTHER, THIRD]
    path = "/v1/datasets/query/name/my%20set"
    assert_call(mocked.calls[0], "GET", path, [("shared", "False"), ("exact", "True")])
    assert_call(mocked.calls[1], "GET", path, [("shared", "True"), ("exact", "True")])
    assert_call(mocked.calls[2], "GET", path, [("exact", "True"), ("getAssetsOfTeam", "True")])


def test_get_datasets_by_name_own_and_shared(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(mocked, "street", [], [dataset(OTHER)], [dataset(THIRD)])
    assert client.dataset_name_exists("street") is False
    assert client.get_datasets_by_name("street", shared=True) == [dataset(OTHER), dataset(THIRD)]
    assert_call(
        mocked.calls[0],
        "GET",
        "/v1/datasets/query/name/street",
        [("shared", "False"), ("exact", "True")],
    )
    assert_call(
        mocked.calls[1],
        "GET",
        "/v1/datasets/query/name/street",
        [("shared", "True"), ("exact", "True")],
    )
    assert len(mocked.calls) == 3


@covers("get_datasets_iter", "get_datasets")
def test_get_datasets_paginates_until_empty_page(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}/v1/datasets", json=[dataset(OTHER)])
    mocked.get(f"{SERVER}/v1/datasets", json=[])

    got = client.get_datasets()

    assert got == [dataset(OTHER)] and got[0].name == "street"
    assert_call(
        mocked.calls[0],
        "GET",
        "/v1/datasets",
        [("shared", "False"), ("pageSize", "5000"), ("pageOffset", "0")],
    )
    assert_call(
        mocked.calls[1],
        "GET",
        "/v1/datasets",
        [("shared", "False"), ("pageSize", "5000"), ("pageOffset", "5000")],
    )


def test_get_datasets_iter_shared_true_is_lazy(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    for answer in ([dataset(OTHER)], [], [dataset(OTHER), dataset(THIRD)], []):
        mocked.get(f"{SERVER}/v1/datasets", json=answer)
    iterator = client.get_datasets_iter(shared=True)
    assert len(mocked.calls) == 0
    assert [d["id"] for d in iterator] == [OTHER, THIRD]
    assert_call(
        mocked.calls[0],
        "GET",
        "/v1/datasets",
        [("shared", "True"), ("pageSize", "5000"), ("pageOffset", "0")],
    )
    assert_call(
        mocked.calls[2],
        "GET",
        "/v1/datasets",
        [("getAssetsOfTeam", "True"), ("pageSize", "5000"), ("pageOffset", "0")],
    )


@covers("get_all_datasets")
def test_get_all_datasets_is_deprecated_and_lists_everything(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    for answer in ([dataset(OTHER)], [], [dataset(THIRD)], [], [], []):
        mocked.get(f"{SERVER}/v1/datasets", json=answer)
    with pytest.warns(DeprecationWarning, match="get_datasets"):
        got = client.get_all_datasets()
    assert [d.id for d in got] == [OTHER, THIRD]
    assert [c.request.params.get("shared") for c in mocked.calls] == [
        "False",
        "False",
        "True",
        "True",
        None,
    ]
    assert_call(
        mocked.calls[4],
        "GET",
        "/v1/datasets",
        [("getAssetsOfTeam", "True"), ("pageSize", "5000"), ("pageOffset", "0")],
    )


@covers("set_dataset_id_by_name")
def test_set_dataset_id_by_name(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    add_name_query(mocked, "street", [dataset(OTHER)])
    client.set_dataset_id_by_name("street")
    assert client.dataset_id == OTHER
    assert_call(
        mocked.calls[0],
        "GET",
        "/v1/datasets/query/name/street",
        [("shared", "False"), ("exact", "True")],
    )
    assert len(mocked.calls) == 1  # no existence re-check


def test_set_dataset_id_by_name_unknown_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(mocked, "street", [])
    with pytest.raises(ValueError, match="A dataset with the name 'street' does not exist"):
        client.set_dataset_id_by_name("street")
    assert client.dataset_id == DATASET_ID


@covers("create_dataset")
def test_create_dataset_posts_and_switches(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(mocked, "street", [])
    mocked.post(f"{SERVER}/v1/datasets", status=201, json={"id": OTHER})

    assert client.create_dataset("street", dataset_type="Videos") is None

    assert client.dataset_id == OTHER
    assert_call(
        mocked.calls[0],
        "GET",
        "/v1/datasets/query/name/street",
        [("shared", "False"), ("exact", "True")],
    )
    assert_call(
        mocked.calls[1],
        "POST",
        "/v1/datasets",
        body={"name": "street", "type": "Videos", "creator": "USER_PIP"},
    )


def test_create_dataset_existing_name_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(mocked, "street", [dataset(OTHER)])
    with pytest.raises(ValueError, match="already exists"):
        client.create_dataset("street")
    assert client.dataset_id == DATASET_ID
    assert [c.request.method for c in mocked.calls] == ["GET"]


@pytest.mark.parametrize("name", ["ab", "-x-y", "a/b/c", "bad!name", "straße"])
def test_create_dataset_invalid_name_raises_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, name: str
) -> None:
    with pytest.raises(ValueError, match=r"Invalid dataset name .*: ASCII letters, digits"):
        client.create_dataset(name)
    assert len(mocked.calls) == 0


@covers("create_new_dataset_with_unique_name")
def test_create_new_dataset_with_unique_name_picks_smallest_free_suffix(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(
        mocked,
        "street",
        [dataset(OTHER)],
        [dataset(OTHER), dataset(THIRD, "street_1"), dataset("d" * 24, "street_3")],
    )
    mocked.post(f"{SERVER}/v1/datasets", status=201, json={"id": THIRD})

    client.create_new_dataset_with_unique_name("street")

    assert client.dataset_id == THIRD
    assert_call(
        mocked.calls[1],
        "GET",
        "/v1/datasets/query/name/street",
        [("shared", "False"), ("exact", "False")],
    )
    assert_call(
        mocked.calls[2],
        "POST",
        "/v1/datasets",
        body={"name": "street_2", "type": "Images", "creator": "USER_PIP"},
    )


def test_create_new_dataset_with_unique_name_free_name(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    add_name_query(mocked, "street", [])
    mocked.post(f"{SERVER}/v1/datasets", status=201, json={"id": THIRD})
    client.create_new_dataset_with_unique_name("street")
    assert_call(
        mocked.calls[1],
        "POST",
        "/v1/datasets",
        body={"name": "street", "type": "Images", "creator": "USER_PIP"},
    )


@covers("delete_dataset_by_id")
def test_delete_dataset_by_id_forgets_current_dataset(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.delete(f"{SERVER}/v1/datasets/{OTHER}", body="")
    mocked.get(
        f"{SERVER}/v1/datasets", json=[dataset(THIRD, modified=5), dataset(OTHER, modified=9)]
    )
    mocked.get(f"{SERVER}/v1/datasets", json=[])

    assert client.delete_dataset_by_id(OTHER) is None

    assert_call(mocked.calls[0], "DELETE", f"/v1/datasets/{OTHER}")
    with pytest.warns(UserWarning, match="taking the last modified dataset"):
        assert client.dataset_id == OTHER


def test_delete_unknown_dataset_raises_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.delete(
        f"{SERVER}/v1/datasets/{OTHER}",
        status=404,
        json={"code": "DATASET_UNKNOWN", "error": "gone"},
    )
    with pytest.raises(NotFound) as info:
        client.delete_dataset_by_id(OTHER)
    assert info.value.status == 404 and info.value.code == "DATASET_UNKNOWN"
    assert client.dataset_id == DATASET_ID
