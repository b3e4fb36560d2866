"""Wire contract of the custom metadata operations (CONTRACT §8.5)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import responses
from PIL import Image

from runner.client import ApiWorkflowClient
from runner.client.metadata import InvalidCustomMetadataWarning
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, body_of, covers

D = f"/v1/datasets/{DATASET_ID}"
S1, S2 = "1" * 24, "2" * 24
CUSTOM: dict[str, Any] = {
    "images": [
        {"file_name": "a.jpg", "id": 0},
        {"file_name": "b.jpg", "id": 1},
        {"file_name": "c.jpg", "id": 2},
    ],
    "metadata": [
        {"image_id": 0, "weather": {"scenario": "cloudy"}},
        {"image_id": 1, "weather": {"scenario": "rainy"}},
        {"image_id": 1, "weather": {"scenario": "sunny"}},
    ],
}


@covers("verify_custom_metadata_format")
def test_verify_custom_metadata_format(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    client.verify_custom_metadata_format(CUSTOM)
    for missing in ("images", "metadata"):
        with pytest.raises(KeyError, match=f"Key {missing} is missing"):
            client.verify_custom_metadata_format({k: v for k, v in CUSTOM.items() if k != missing})
    assert len(mocked.calls) == 0


@covers("index_custom_metadata_by_filename")
def test_index_custom_metadata_by_filename(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    assert client.index_custom_metadata_by_filename(CUSTOM) == {
        "a.jpg": {"image_id": 0, "weather": {"scenario": "cloudy"}},
        "b.jpg": {"image_id": 1, "weather": {"scenario": "sunny"}},  # last entry wins
        "c.jpg": None,
    }
    assert len(mocked.calls) == 0


@covers("upload_custom_metadata")
def test_upload_custom_metadata(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(
        f"{SERVER}{D}/samples/partial",
        json=[{"id": S1, "fileName": "a.jpg"}, {"id": S2, "fileName": "b.jpg"}],
    )
    mocked.put(f"{SERVER}{D}/samples/{S1}", body="")
    mocked.put(f"{SERVER}{D}/samples/{S2}", body="")

    client.upload_custom_metadata(CUSTOM, max_workers=1)

    assert_call(mocked.calls[0], "GET", f"{D}/samples/partial", [("mode", "fileNames")])
    assert_call(
        mocked.calls[1], "PUT", f"{D}/samples/{S1}", body={"customMetaData": CUSTOM["metadata"][0]}
    )
    assert_call(
        mocked.calls[2], "PUT", f"{D}/samples/{S2}", body={"customMetaData": CUSTOM["metadata"][1]}
    )
    assert_call(
        mocked.calls[3], "PUT", f"{D}/samples/{S2}", body={"customMetaData": CUSTOM["metadata"][2]}
    )
    assert len(mocked.calls) == 4


def test_upload_custom_metadata_skips_unknown_entries_with_warnings(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/samples/partial", json=[{"id": S1, "fileName": "a.jpg"}])
    mocked.put(f"{SERVER}{D}/samples/{S1}", body="")
    custom = {
        "images": [{"file_name": "a.jpg", "id": 0}, {"file_name": "gone.jpg", "id": 1}],
        "metadata": [{"image_id": 0, "x": 1}, {"image_id": 1, "x": 2}, {"image_id": 7, "x": 3}],
    }
    with pytest.warns(InvalidCustomMetadataWarning) as record:
        client.upload_custom_metadata(custom, verbose=True)
    assert [str(w.message) for w in record] == [
        "Custom metadata for unknown file 'gone.jpg' skipped.",
        "Custom metadata for unknown image id 7 skipped.",
    ]
    assert [body_of(c) for c in mocked.calls[1:]] == [{"customMetaData": {"image_id": 0, "x": 1}}]


def test_upload_custom_metadata_bad_format_raises_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    with pytest.raises(KeyError):
        client.upload_custom_metadata({"images": []})
    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    ("custom_metadata", "message"),
    [
        (
            {"images": [], "metadata": 5},
            "custom metadata 'metadata' must be a list of objects, not int",
        ),
        ({"images": [{"id": 1}], "metadata": []}, "custom metadata images[0] has no 'file_name'"),
        ({"images": [], "metadata": ["x"]}, "custom metadata metadata[0] has no 'image_id'"),
        (
            {"images": [{"id": [0], "file_name": "a.jpg"}], "metadata": []},
            "custom metadata images[0]['id'] must be a number or text, not list",
        ),
        (
            {"images": [], "metadata": [{"image_id": None}]},
            "custom metadata metadata[0]['image_id'] must be a number or text, not NoneType",
        ),
        (
            {"images": [], "metadata": [{"image_id": 0, "x": [1.0, float("nan")]}]},
            "custom metadata metadata[0]['x'][1] is nan, which JSON cannot carry",
        ),
        (
            {"images": [], "metadata": [{"image_id": 0, "when": object()}]},
            "custom metadata metadata[0]['when'] is of type object, which JSON cannot carry",
        ),
    ],
)
def test_custom_metadata_entries_of_the_wrong_shape_are_named(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    tmp_path: Path,
    custom_metadata: dict[str, Any],
    message: str,
) -> None:
    mocked.get(f"{SERVER}{D}/samples/partial", json=[])
    with pytest.raises(ValueError, match=re.escape(message)):
        client.upload_custom_metadata(custom_metadata)
    assert not [c for c in mocked.calls if c.request.method == "PUT"]
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")  # upload_dataset checks the same
    with pytest.raises(ValueError, match=re.escape(message)):
        client.upload_dataset(str(tmp_path), custom_metadata=custom_metadata)


def test_numpy_values_in_custom_metadata_are_sent_as_numbers(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.get(f"{SERVER}{D}/samples/partial", json=[{"id": S1, "fileName": "a.jpg"}])
    mocked.put(f"{SERVER}{D}/samples/{S1}", body="")
    entry = {"image_id": 0, "x": np.float32(1.5), "ys": np.arange(2)}
    client.upload_custom_metadata(
        {"images": [{"file_name": "a.jpg", "id": 0}], "metadata": [entry]}
    )
    assert body_of(mocked.calls[1]) == {"customMetaData": {"image_id": 0, "x": 1.5, "ys": [0, 1]}}


@covers("create_custom_metadata_config")
def test_create_custom_metadata_config(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{SERVER}{D}/configuration/metadata", status=201, json={"id": S1})
    configs = [
        {
            "name": "Weather",
            "path": "weather.scenario",
            "defaultValue": "unknown",
            "valueDataType": "CATEGORICAL_STRING",
        },
        {
            "name": "People",
            "path": "people",
            "default_value": None,
            "value_data_type": "NUMERIC_INT",
        },
    ]

    got = client.create_custom_metadata_config("My Config", configs)

    assert got == {"id": S1} and got.id == S1
    body = {
        "name": "My Config",
        "configs": [
            configs[0],
            {
                "name": "People",
                "path": "people",
                "defaultValue": None,
                "valueDataType": "NUMERIC_INT",
            },
        ],
    }
    assert_call(mocked.calls[0], "POST", f"{D}/configuration/metadata", body=body)
