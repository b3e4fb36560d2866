"""Tag exports on the wire: offset pages of 20000, raw text/plain, three zipped listings."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from runner.client import ApiWorkflowClient, NotFound, TagDoesNotExistError
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
TAG = "1" * 24
TAGS = [
    {"id": "0" * 24, "name": "initial-tag", "datasetId": DATASET_ID, "totSize": 3},
    {"id": TAG, "name": "picked", "datasetId": DATASET_ID, "totSize": 3},
]
FILENAMES = f"{D}/tags/{TAG}/export/basic/filenames"


def answer(
    mocked: responses.RequestsMock, method: str, path: str, body: Any, status: int = 200
) -> None:
    mocked.add(method, SERVER + path, json=body, status=status)


def text(mocked: responses.RequestsMock, body: str) -> None:
    mocked.add("GET", SERVER + FILENAMES, body=body, content_type="text/plain")


def tag_lookup(mocked: responses.RequestsMock) -> None:
    """get_tag_by_name (tags.py, CONTRACT §6): GET D/tags, then GET D/tags/{id}."""
    answer(mocked, "GET", f"{D}/tags", TAGS)
    answer(mocked, "GET", f"{D}/tags/{TAG}", TAGS[1])


def assert_tag_lookup(calls: Any) -> None:
    assert_call(calls[0], "GET", f"{D}/tags")
    assert_call(calls[1], "GET", f"{D}/tags/{TAG}")


def pages_of(path: str, calls: Any) -> None:
    for i, call in enumerate(calls):
        assert_call(call, "GET", path, [("pageSize", "20000"), ("pageOffset", str(i * 20000))])


ROWS = {
    "LabelStudio/tasks": [
        {"id": i, "data": {"image": f"https://r/{i}", "lightlyFileName": f"{i}.jpg"}}
        for i in range(3)
    ],
    "LabelBox/datarows": [
        {"externalId": f"{i}.jpg", "imageUrl": f"https://r/{i}"} for i in range(3)
    ],
    "LabelBoxV4/datarows": [
        {"row_data": f"https://r/{i}", "global_key": f"{i}.jpg", "media_type": "IMAGE"}
        for i in range(3)
    ],
}
PAGED = [
    ("export_label_studio_tasks_by_tag_id", "LabelStudio/tasks", False, None),
    ("export_label_studio_tasks_by_tag_name", "LabelStudio/tasks", True, None),
    ("export_label_box_data_rows_by_tag_id", "LabelBox/datarows", False, DeprecationWarning),
    ("export_label_box_data_rows_by_tag_name", "LabelBox/datarows", True, DeprecationWarning),
    ("export_label_box_v4_data_rows_by_tag_id", "LabelBoxV4/datarows", False, None),
    ("export_label_box_v4_data_rows_by_tag_name", "LabelBoxV4/datarows", True, None),
]


@covers(*(case[0] for case in PAGED))
@pytest.mark.parametrize(("operation", "kind", "by_name", "warning"), PAGED)
def test_paged_exports_until_an_empty_page(
    operation: str,
    kind: str,
    by_name: bool,
    warning: type[Warning] | None,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    path = f"{D}/tags/{TAG}/export/{kind}"
    if by_name:
        tag_lookup(mocked)
    rows = ROWS[kind]
    answer(mocked, "GET", path, rows[:2])  # a short page does not end the listing
    answer(mocked, "GET", path, rows[2:])
    answer(mocked, "GET", path, [])
    method = getattr(client, operation)
    if warning is None:
        result = method("picked" if by_name else TAG)
    else:
        with pytest.warns(warning, match="deprecated"):
            result = method("picked" if by_name else TAG)
    assert result == rows and all(type(row) is dict for row in result)
    calls = list(mocked.calls)
    if by_name:
        assert_tag_lookup(calls)
        calls = calls[2:]
    assert len(calls) == 3
    pages_of(path, calls)


@pytest.mark.parametrize(
    "operation",
    [
        "export_label_studio_tasks_by_tag_name",
        "export_label_box_v4_data_rows_by_tag_name",
        "export_filenames_by_tag_name",
        "export_filenames_and_read_urls_by_tag_name",
    ],
)
def test_unknown_tag_name(
    operation: str, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "GET", f"{D}/tags", TAGS)
    with pytest.raises(TagDoesNotExistError, match="nope"):
        getattr(client, operation)("nope")
    assert len(mocked.calls) == 1


def test_unknown_tag_id(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    path = f"{D}/tags/{TAG}/export/LabelStudio/tasks"
    answer(mocked, "GET", path, {"code": "TAG_UNKNOWN", "error": "no tag"}, 404)
    with pytest.raises(NotFound, match="TAG_UNKNOWN"):
        client.export_label_studio_tasks_by_tag_id(TAG)


@covers("export_filenames_by_tag_id", "export_filenames_by_tag_name")
@pytest.mark.parametrize("body", ["a.jpg\nsub/b.jpg", "1e3", "null", "true", '"quoted"', ""])
def test_filenames_text_is_returned_unchanged(
    body: str, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    tag_lookup(mocked)
    text(mocked, body)
    assert client.export_filenames_by_tag_id(TAG) == body
    assert client.export_filenames_by_tag_name("picked") == body
    assert_call(mocked.calls[0], "GET", FILENAMES)
    assert_tag_lookup(mocked.calls[1:])
    assert_call(mocked.calls[3], "GET", FILENAMES)


def test_filenames_export_is_retried(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.add("GET", SERVER + FILENAMES, body="busy", status=503)
    text(mocked, "a.jpg")
    assert client.export_filenames_by_tag_id(TAG) == "a.jpg"
    assert len(mocked.calls) == 2


FORMATS = ("NAME", "REDIRECTED_READ_URL", "DATASOURCE_FULL")


def three_texts(mocked: responses.RequestsMock, *bodies: str) -> None:
    for body in bodies:
        text(mocked, body)


@covers("export_filenames_and_read_urls_by_tag_id", "export_filenames_and_read_urls_by_tag_name")
def test_filenames_and_read_urls_are_zipped(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    tag_lookup(mocked)
    three_texts(
        mocked, "a.jpg\nb c.jpg", "https://r/a\nhttps://r/b", "s3://x/a.jpg\ns3://x/b c.jpg"
    )
    rows = client.export_filenames_and_read_urls_by_tag_name("picked")
    assert rows == [
        {"fileName": "a.jpg", "readUrl": "https://r/a", "datasourceUrl": "s3://x/a.jpg"},
        {"fileName": "b c.jpg", "readUrl": "https://r/b", "datasourceUrl": "s3://x/b c.jpg"},
    ]
    assert_tag_lookup(mocked.calls)
    for call, fmt in zip(mocked.calls[2:], FORMATS, strict=True):
        assert_call(call, "GET", FILENAMES, [("fileNameFormat", fmt)])


def test_filenames_and_read_urls_of_an_empty_tag(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    three_texts(mocked, "", "", "")
    assert client.export_filenames_and_read_urls_by_tag_id(TAG) == []


def test_filenames_and_read_urls_that_do_not_line_up(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    three_texts(mocked, "a\nb", "https://r/a", "s3://a\ns3://b")
    with pytest.raises(RuntimeError, match="2 file names, 1 read URLs, 2 datasource URLs"):
        client.export_filenames_and_read_urls_by_tag_id(TAG)


def test_exports_of_a_large_tag(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    # linear growth: benchmarks/bench_export.py
    n = 200_000
    names = "\n".join(f"img-{i}.jpg" for i in range(n))
    three_texts(mocked, names, names, names)
    path = f"{D}/tags/{TAG}/export/LabelBoxV4/datarows"
    page = [{"row_data": "u", "global_key": f"{i}", "media_type": "IMAGE"} for i in range(20000)]
    for _ in range(10):
        answer(mocked, "GET", path, page)
    answer(mocked, "GET", path, [])
    rows = client.export_filenames_and_read_urls_by_tag_id(TAG)
    assert len(rows) == n and rows[-1]["fileName"] == f"img-{n - 1}.jpg"
    assert len(client.export_label_box_v4_data_rows_by_tag_id(TAG)) == n
