"""Wire contract of the tag operations (CONTRACT §6)."""

from __future__ import annotations

import pytest
import responses

from runner.client import ApiWorkflowClient, NotFound, TagDoesNotExistError
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
INITIAL = "1" * 24
CHILD = "2" * 24
NEW = "3" * 24
FILENAMES = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]


def tag(id_: str, name: str, mask: str = "0xf", prev: str | None = None) -> dict[str, object]:
    return {
        "id": id_,
        "datasetId": DATASET_ID,
        "prevTagId": prev,
        "name": name,
        "bitMaskData": mask,
        "totSize": 4,
        "createdAt": 1,
    }


TAGS = [tag(INITIAL, "initial-tag"), tag(CHILD, "picked", "0x5", INITIAL)]


@covers("get_all_tags")
def test_get_all_tags(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    got = client.get_all_tags()
    assert got == TAGS and got[1].bit_mask_data == "0x5" and got[0].prev_tag_id is None
    assert_call(mocked.calls[0], "GET", f"{D}/tags")


@covers("get_tag_by_id")
def test_get_tag_by_id(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SERVER}{D}/tags/{CHILD}", json=TAGS[1])
    assert client.get_tag_by_id(CHILD).tot_size == 4
    assert_call(mocked.calls[0], "GET", f"{D}/tags/{CHILD}")


def test_get_tag_by_id_unknown_is_not_found(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(
        f"{SERVER}{D}/tags/{NEW}", status=404, json={"code": "TAG_UNKNOWN", "error": "no such tag"}
    )
    with pytest.raises(
        NotFound, match=f"GET {D}/tags/{NEW} failed with HTTP 404: TAG_UNKNOWN: no such tag"
    ):
        client.get_tag_by_id(NEW)


@covers("get_tag_by_name")
def test_get_tag_by_name(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/tags/{CHILD}", json=TAGS[1])
    assert client.get_tag_by_name("picked") == TAGS[1]
    assert_call(mocked.calls[0], "GET", f"{D}/tags")
    assert_call(mocked.calls[1], "GET", f"{D}/tags/{CHILD}")


def test_get_tag_by_name_unknown_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/tags", json=[])
    names = ", ".join(tag["name"] for tag in TAGS)
    # the official message first, then what the dataset has
    with pytest.raises(TagDoesNotExistError) as info:
        client.get_tag_by_name("nope")
    assert str(info.value) == f"Your tag_name does not exist: nope (the dataset's tags: {names})"
    with pytest.raises(TagDoesNotExistError) as info:
        client.get_tag_by_name("nope")
    assert str(info.value).endswith(
        "(the dataset has no tags yet: its first upload creates 'initial-tag')"
    )
    assert issubclass(TagDoesNotExistError, ValueError)


@covers("get_filenames_in_tag", "get_filenames")
def test_get_filenames_in_tag_fetches_mappings(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/mappings", json=FILENAMES)
    assert client.get_filenames_in_tag(TAGS[1]) == ["a.jpg", "c.jpg"]
    assert_call(mocked.calls[0], "GET", f"{D}/mappings", [("field", "fileName")])
    assert client.get_filenames() == FILENAMES


def test_get_filenames_in_tag_excluding_parent(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{SERVER}{D}/tags/arithmetics/bitmask", json={"bitMaskData": "0x4"})
    got = client.get_filenames_in_tag(
        TAGS[1], filenames_on_server=FILENAMES, exclude_parent_tag=True
    )
    assert got == ["c.jpg"]
    assert len(mocked.calls) == 1  # the given file names are used
    body = {"tagId1": CHILD, "tagId2": INITIAL, "operation": "DIFFERENCE"}
    assert_call(mocked.calls[0], "POST", f"{D}/tags/arithmetics/bitmask", body=body)


def test_get_filenames_in_tag_accepts_snake_case_objects(client: ApiWorkflowClient) -> None:
    class OfficialTag:
        bit_mask_data = "0x9"
        id = CHILD
        prev_tag_id = INITIAL

    assert client.get_filenames_in_tag(OfficialTag(), filenames_on_server=FILENAMES) == [
        "a.jpg",
        "d.jpg",
    ]


def test_get_filenames_in_tag_exclude_parent_of_initial_tag_raises(
    client: ApiWorkflowClient,
) -> None:
    with pytest.raises(ValueError, match="has no parent tag"):
        client.get_filenames_in_tag(TAGS[0], FILENAMES, exclude_parent_tag=True)


@covers("create_tag_from_filenames")
def test_create_tag_from_filenames(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/mappings", json=FILENAMES)
    mocked.post(f"{SERVER}{D}/tags", status=201, json={"id": NEW})

    got = client.create_tag_from_filenames(["d.jpg", "b.jpg", "d.jpg"], "new-tag")

    assert got == {"id": NEW} and got.id == NEW
    assert_call(mocked.calls[0], "GET", f"{D}/tags")
    assert_call(mocked.calls[1], "GET", f"{D}/mappings", [("field", "fileName")])
    body = {
        "name": "new-tag",
        "prevTagId": INITIAL,
        "bitMaskData": "0xa",
        "totSize": 4,
        "creator": "USER_PIP",
    }
    assert_call(mocked.calls[2], "POST", f"{D}/tags", body=body)


def test_create_tag_from_filenames_with_parent(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/mappings", json=FILENAMES)
    mocked.post(f"{SERVER}{D}/tags", status=201, json={"id": NEW})
    client.create_tag_from_filenames(["a.jpg"], "new-tag", parent_tag_id=CHILD)
    assert_call(
        mocked.calls[2],
        "POST",
        f"{D}/tags",
        body={
            "name": "new-tag",
            "prevTagId": CHILD,
            "bitMaskData": "0x1",
            "totSize": 4,
            "creator": "USER_PIP",
        },
    )


@pytest.mark.parametrize(
    ("tags", "names", "message"),
    [
        (TAGS, ["a.jpg"], "There already exists a tag with tag_name picked"),
        ([], ["a.jpg"], "There exists no initial-tag for this dataset."),
        ([TAGS[1]], ["a.jpg"], "There exists no initial-tag for this dataset."),
    ],
)
def test_create_tag_from_filenames_refusals(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tags: list[object],
    names: list[str],
    message: str,
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=tags)
    with pytest.raises(RuntimeError, match=message):
        client.create_tag_from_filenames(names, "picked" if tags == TAGS else "other")
    assert all(c.request.method == "GET" for c in mocked.calls)


def test_create_tag_from_unknown_filenames_names_a_valid_one(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/mappings", json=FILENAMES)
    with pytest.raises(
        RuntimeError,
        match=r"1 of the file names are not in the dataset, e.g. \['x.jpg'\]. A valid file name looks like: 'a.jpg'",
    ):
        client.create_tag_from_filenames(["a.jpg", "x.jpg"], "new-tag")
    assert len(mocked.calls) == 2


@covers("delete_tag_by_id")
def test_delete_tag_by_id(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.delete(f"{SERVER}{D}/tags/{CHILD}", body="")
    assert client.delete_tag_by_id(CHILD) is None
    assert_call(mocked.calls[0], "DELETE", f"{D}/tags/{CHILD}")


@covers("delete_tag_by_name")
def test_delete_tag_by_name(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    mocked.get(f"{SERVER}{D}/tags/{CHILD}", json=TAGS[1])
    mocked.delete(f"{SERVER}{D}/tags/{CHILD}", body="")
    client.delete_tag_by_name("picked")
    assert [c.request.method for c in mocked.calls] == ["GET", "GET", "DELETE"]
    assert_call(mocked.calls[2], "DELETE", f"{D}/tags/{CHILD}")


def test_delete_tag_by_name_unknown_raises(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/tags", json=TAGS)
    with pytest.raises(TagDoesNotExistError):
        client.delete_tag_by_name("nope")
    assert all(c.request.method == "GET" for c in mocked.calls)
