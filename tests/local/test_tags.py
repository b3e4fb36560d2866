"""Tags and their bitmasks: initial, create, arithmetics, upsize, update, delete."""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import pytest

from runner.local import bitmask
from tests.local.conftest import TAG_DATA, Api, assert_model

# -- pure bitmask helpers ------------------------------------------------------------------


def test_hex_format_is_lowercase_without_leading_zeros() -> None:
    assert bitmask.to_hex(0) == "0x0"
    assert bitmask.to_hex(0b1011) == "0xb"
    assert bitmask.to_hex(bitmask.full(8)) == "0xff"
    assert bitmask.to_hex(bitmask.from_positions([2, 3, 4, 5])) == "0x3c"


@pytest.mark.parametrize("bad", ["0X1", "0x", "ff", "0xAB", "0x1g", "", "0x-1"])
def test_parse_refuses_non_hexmasks(bad: str) -> None:
    with pytest.raises(ValueError):
        bitmask.parse(bad)


def test_positions_round_trip_and_operations() -> None:
    rng = random.Random(7)
    chosen = sorted(rng.sample(range(5000), 700))
    value = bitmask.from_positions(chosen)
    assert value == sum(1 << i for i in chosen)
    assert bitmask.positions(value).tolist() == chosen
    assert bitmask.positions(0).tolist() == []
    assert bitmask.count(value) == 700
    assert bitmask.union(0b1100, 0b0110) == 0b1110
    assert bitmask.intersection(0b1100, 0b0110) == 0b0100
    assert bitmask.difference(0b1100, 0b0110) == 0b1000


def test_a_million_sample_mask_converts_both_ways() -> None:
    positions = np.arange(0, 1_000_000, 3)
    value = bitmask.from_positions(positions)
    back = bitmask.positions(bitmask.parse(bitmask.to_hex(value)))
    assert np.array_equal(back, positions)


# -- routes ----------------------------------------------------------------------------------


def _tags(api: Api, dataset_id: str) -> dict[str, dict[str, object]]:
    return {t["name"]: t for t in api.get(f"/v1/datasets/{dataset_id}/tags").get_json()}


def test_initial_tag_holds_every_sample(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("initial", 3, initial_tag=False)
    d = f"/v1/datasets/{dataset_id}"
    response = api.post(f"{d}/tags/initial", json={"imgType": "full", "creator": "USER_PIP"})
    assert response.status_code == 201
    tag = api.get(f"{d}/tags/{response.get_json()['id']}").get_json()
    assert_model(tag, TAG_DATA)
    assert tag["name"] == "initial-tag" and tag["prevTagId"] is None
    assert tag["bitMaskData"] == "0x7" and tag["totSize"] == 3
    again = api.post(f"{d}/tags/initial", json={"imgType": "full"})
    assert again.status_code == 400 and again.get_json()["code"] == "TAG_INITIAL_EXISTS"
    assert api.post(f"{d}/tags/initial", json={"imgType": "jpeg"}).status_code == 400


def test_create_tag_and_its_filenames(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("tagged", 6)
    d = f"/v1/datasets/{dataset_id}"
    initial = _tags(api, dataset_id)["initial-tag"]
    body = {
        "name": "picked",
        "prevTagId": initial["id"],
        "bitMaskData": "0x3c",
        "totSize": 6,
        "creator": "USER_PIP",
    }
    response = api.post(f"{d}/tags", json=body)
    assert response.status_code == 201
    tag_id = response.get_json()["id"]
    tag = api.get(f"{d}/tags/{tag_id}").get_json()
    assert_model(tag, TAG_DATA)
    assert tag["prevTagId"] == initial["id"] and tag["datasetId"] == dataset_id
    filenames = api.get(f"{d}/tags/{tag_id}/filenames").get_json()
    assert filenames == [f"img-{i:03d}.jpg" for i in range(2, 6)]
    assert [t["name"] for t in api.get(f"{d}/tags").get_json()] == ["initial-tag", "picked"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": "initial-tag"}, "TAG_NAME_EXISTS"),
        ({"prevTagId": "0" * 24}, "TAG_PREVTAG_NOT_IN_DATASET"),
        ({"bitMaskData": "0x100"}, "DATASET_TAG_INVALID"),
        ({"bitMaskData": "0xFF"}, "BAD_REQUEST"),
        ({"name": "x"}, "BAD_REQUEST"),
        ({"totSize": "3"}, "BAD_REQUEST"),
        ({"queryTagId": "0" * 24}, "TAG_QUERYTAG_NOT_IN_DATASET"),
        ({"preselectedTagId": "0" * 24}, "TAG_PRESELECTEDTAG_NOT_IN_DATASET"),
    ],
)
def test_invalid_tags_are_refused(
    api: Api,
    make_dataset: Callable[..., str],
    stored: Callable[[], str],
    change: dict[str, object],
    code: str,
) -> None:
    dataset_id = make_dataset("bad tags", 3)
    initial = _tags(api, dataset_id)["initial-tag"]
    body = {
        "name": "good-name",
        "prevTagId": initial["id"],
        "bitMaskData": "0x1",
        "totSize": 3,
        **change,
    }
    before = stored()
    response = api.post(f"/v1/datasets/{dataset_id}/tags", json=body)
    assert response.status_code == 400 and response.get_json()["code"] == code
    assert stored() == before


def test_arithmetics(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("arith", 4)
    d = f"/v1/datasets/{dataset_id}"
    initial = _tags(api, dataset_id)["initial-tag"]["id"]
    one = api.post(
        f"{d}/tags", json={"name": "one", "prevTagId": initial, "bitMaskData": "0xc", "totSize": 4}
    )
    two = api.post(
        f"{d}/tags", json={"name": "two", "prevTagId": initial, "bitMaskData": "0x6", "totSize": 4}
    )
    ids = one.get_json()["id"], two.get_json()["id"]
    expected = {"UNION": "0xe", "INTERSECTION": "0x4", "DIFFERENCE": "0x8"}
    for operation, mask in expected.items():
        body = {"tagId1": ids[0], "tagId2": ids[1], "operation": operation}
        response = api.post(f"{d}/tags/arithmetics/bitmask", json=body)
        assert response.status_code == 200 and response.get_json() == {"bitMaskData": mask}
    disjoint = {"tagId1": ids[1], "tagId2": initial, "operation": "DIFFERENCE"}
    assert api.post(f"{d}/tags/arithmetics/bitmask", json=disjoint).get_json() == {
        "bitMaskData": "0x0"
    }
    created = api.post(
        f"{d}/tags/arithmetics",
        json={"tagId1": ids[0], "tagId2": ids[1], "operation": "UNION", "newTagName": "both"},
    )
    assert created.status_code == 200
    assert api.get(f"{d}/tags/{created.get_json()['id']}").get_json()["bitMaskData"] == "0xe"
    plain = api.post(
        f"{d}/tags/arithmetics", json={"tagId1": ids[0], "tagId2": ids[1], "operation": "UNION"}
    )
    assert plain.get_json() == {"bitMaskData": "0xe"}
    unknown = {"tagId1": ids[0], "tagId2": "0" * 24, "operation": "UNION"}
    assert (
        api.post(f"{d}/tags/arithmetics/bitmask", json=unknown).get_json()["code"] == "TAG_UNKNOWN"
    )
    wrong_op = {"tagId1": ids[0], "tagId2": ids[1], "operation": "XOR"}
    assert api.post(f"{d}/tags/arithmetics/bitmask", json=wrong_op).status_code == 400


def test_upsize_extends_the_initial_tag(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("growing", 3)
    d = f"/v1/datasets/{dataset_id}"
    initial = _tags(api, dataset_id)["initial-tag"]["id"]
    api.post(
        f"{d}/tags",
        json={"name": "first", "prevTagId": initial, "bitMaskData": "0x2", "totSize": 3},
    )
    for name in ("new-a.jpg", "new-b.jpg"):
        api.post(f"{d}/samples", json={"fileName": name})
    response = api.post(
        f"{d}/tags/upsize",
        json={"upsizeTagName": "20240101_10h00m00s", "upsizeTagCreator": "USER_PIP"},
    )
    assert response.status_code == 201
    tags = _tags(api, dataset_id)
    assert tags["initial-tag"]["bitMaskData"] == "0x1f"
    assert tags["first"]["bitMaskData"] == "0x2"
    assert tags["20240101_10h00m00s"]["bitMaskData"] == "0x18"
    assert tags["20240101_10h00m00s"]["prevTagId"] == initial
    assert {t["totSize"] for t in tags.values()} == {5}
    again = api.post(
        f"{d}/tags/upsize",
        json={"upsizeTagName": "20240101_10h00m00s", "upsizeTagCreator": "USER_PIP"},
    )
    assert again.get_json()["code"] == "TAG_NAME_EXISTS"


def test_upsize_needs_an_initial_tag(api: Api, make_dataset: Callable[..., str]) -> None:
    dataset_id = make_dataset("no initial", 1, initial_tag=False)
    body = {"upsizeTagName": "upsized", "upsizeTagCreator": "USER_PIP"}
    response = api.post(f"/v1/datasets/{dataset_id}/tags/upsize", json=body)
    assert response.get_json()["code"] == "TAG_NO_TAG_IN_DATASET"


def test_update_and_delete_rules(
    api: Api, make_dataset: Callable[..., str], stored: Callable[[], str]
) -> None:
    dataset_id = make_dataset("deletes", 3)
    d = f"/v1/datasets/{dataset_id}"
    initial = _tags(api, dataset_id)["initial-tag"]["id"]
    parent = api.post(
        f"{d}/tags",
        json={"name": "parent", "prevTagId": initial, "bitMaskData": "0x3", "totSize": 3},
    ).get_json()["id"]
    child = api.post(
        f"{d}/tags", json={"name": "child", "prevTagId": parent, "bitMaskData": "0x1", "totSize": 3}
    ).get_json()["id"]
    assert (
        api.put(f"{d}/tags/{parent}", json={"name": "renamed", "bitMaskData": "0x6"}).status_code
        == 200
    )
    renamed = api.get(f"{d}/tags/{parent}").get_json()
    assert renamed["name"] == "renamed" and renamed["bitMaskData"] == "0x6"
    assert (
        api.put(f"{d}/tags/{parent}", json={"name": "child"}).get_json()["code"]
        == "TAG_NAME_EXISTS"
    )
    before = stored()
    assert api.delete(f"{d}/tags/{parent}").get_json()["code"] == "TAG_UNDELETABLE_NOT_A_LEAF"
    assert api.delete(f"{d}/tags/{initial}").get_json()["code"] == "TAG_UNDELETABLE_IS_INITIAL"
    assert stored() == before
    assert api.delete(f"{d}/tags/{child}").status_code == 200
    assert api.delete(f"{d}/tags/{parent}").status_code == 200
    assert list(_tags(api, dataset_id)) == ["initial-tag"]
    assert api.get(f"{d}/tags/{child}").get_json()["code"] == "TAG_UNKNOWN"
    assert api.get(f"{d}/tags/not-an-id").status_code == 404


def test_a_tag_of_another_dataset_is_unknown(api: Api, make_dataset: Callable[..., str]) -> None:
    first = make_dataset("first", 1)
    second = make_dataset("second", 1)
    tag_id = _tags(api, first)["initial-tag"]["id"]
    assert api.get(f"/v1/datasets/{second}/tags/{tag_id}").status_code == 404
    assert api.delete(f"/v1/datasets/{second}/tags/{tag_id}").status_code == 404
