"""Exports of a tag to labeling tools: rows in sample order, query options checked alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.local.conftest import Api, strict_json

ENDPOINTS = [
    "basic/filenames",
    "basic/filenamesAndReadUrls",
    "LabelStudio/tasks",
    "LabelBox/datarows",
    "LabelBoxV4/datarows",
    "Sama/tasks",
]


@pytest.fixture
def export(api: Api, make_dataset: Callable[..., str]) -> str:
    """The export path prefix of the initial tag of a 2-sample dataset."""
    d = f"/v1/datasets/{make_dataset('exported', 2)}"
    return f"{d}/tags/{api.get(f'{d}/tags').get_json()[0]['id']}/export"


def test_filenames_and_rows(api: Api, export: str) -> None:
    names = api.get(f"{export}/basic/filenames", query={"format": "PLAIN", "expiresIn": 60})
    assert names.status_code == 200 and names.mimetype == "text/plain"
    assert names.get_data(as_text=True) == "img-000.jpg\nimg-001.jpg"
    rows = strict_json(api.get(f"{export}/LabelStudio/tasks", query={"expiresIn": 60}))
    assert [r["data"]["lightlyFileName"] for r in rows] == ["img-000.jpg", "img-001.jpg"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ({"expiresIn": "-5"}, "expiresIn"),
        ({"expiresIn": "abc"}, "expiresIn"),
        ({"format": "XML"}, "format"),
        ({"includeMetaData": "maybe"}, "includeMetaData"),
        ({"previewExample": "2"}, "previewExample"),
    ],
)
def test_bad_options_are_a_400_on_every_export(
    api: Api, export: str, endpoint: str, query: dict[str, str], name: str
) -> None:
    response = api.get(f"{export}/{endpoint}", query=query)
    assert response.status_code == 400
    assert response.get_json()["code"] == "BAD_REQUEST" and name in response.get_json()["error"]
