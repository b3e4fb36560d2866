"""Datasources on the wire: config setters, permissions, read URLs, cursor listings."""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from runner.client import ApiWorkflowClient, NotFound
from runner.client import datasource_listing as listing_module
from tests.client.conftest import DATASET_ID
from tests.client.contract import SERVER, assert_call, covers

D = f"/v1/datasets/{DATASET_ID}"
RUN, ARTIFACT = "e" * 24, "f" * 24
NOW = 1_700_000_000


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing_module.time, "time", lambda: NOW + 0.75)


def answer(
    mocked: responses.RequestsMock, method: str, path: str, body: Any, status: int = 200
) -> None:
    mocked.add(method, SERVER + path, json=body, status=status)


def page(names: list[str], cursor: str = "", more: bool = False) -> dict[str, Any]:
    data = [{"fileName": n, "readUrl": f"https://blob.test/{n}"} for n in names]
    return {"hasMore": more, "cursor": cursor, "data": data}


class Bar:
    def __init__(self) -> None:
        self.updates: list[int] = []

    def update(self, n: int) -> None:
        self.updates.append(n)


SETTERS = [
    (
        "set_s3_config",
        ("s3://b/p/", "us-gov-west", "AK", "SK"),
        {"s3Region": "us-gov-west", "s3AccessKeyId": "AK", "s3SecretAccessKey": "SK"},
        "S3",
    ),
    (
        "set_s3_delegated_access_config",
        ("s3://b/p/", "eu-central-1", "arn:aws:iam::123456789012:role/r", "external-1"),
        {
            "s3Region": "eu-central-1",
            "s3ARN": "arn:aws:iam::123456789012:role/r",
            "s3ExternalId": "external-1",
        },
        "S3DelegatedAccess",
    ),
    (
        "set_gcs_config",
        ("gs://b/p/", "project", '{"type": "service_account"}'),
        {"gcsProjectId": "project", "gcsCredentials": '{"type": "service_account"}'},
        "GCS",
    ),
    (
        "set_azure_config",
        ("container/p/", "account", "sv=2020&sig=x"),
        {"accountName": "account", "accountKey": "sv=2020&sig=x"},
        "AZURE",
    ),
    (
        "set_obs_config",
        ("obs://b/p/", "http://obs.local:9000", "id", "secret"),
        {
            "obsEndpoint": "http://obs.local:9000",
            "obsAccessKeyId": "id",
            "obsSecretAccessKey": "secret",
        },
        "OBS",
    ),
]


@covers(*(setter[0] for setter in SETTERS))
@pytest.mark.parametrize(("operation", "args", "fields", "kind"), SETTERS)
@pytest.mark.parametrize("purpose", ["INPUT", "LIGHTLY"])
def test_setters_without_thumbnails(
    operation: str,
    args: tuple[str, ...],
    fields: dict[str, str],
    kind: str,
    purpose: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    answer(mocked, "PUT", f"{D}/datasource", None)
    assert getattr(client, operation)(*args, thumbnail_suffix=None, purpose=purpose) is None
    body = {"type": kind, "fullPath": args[0], "purpose": purpose, **fields}
    assert_call(mocked.calls[0], "PUT", f"{D}/datasource", body=body)


@covers("set_local_config")
def test_local_config(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    answer(mocked, "PUT", f"{D}/datasource", None)
    client.set_local_config("http://localhost:3456/images", thumbnail_suffix=None)
    client.set_local_config("/data", thumbnail_suffix="thumbs/[filename].[extension]")
    assert_call(
        mocked.calls[0],
        "PUT",
        f"{D}/datasource",
        body={
            "type": "LOCAL",
            "fullPath": "http://localhost:3456/images",
            "purpose": "INPUT_OUTPUT",
        },
    )
    assert_call(
        mocked.calls[1],
        "PUT",
        f"{D}/datasource",
        body={
            "type": "LOCAL",
            "fullPath": "/data",
            "purpose": "INPUT_OUTPUT",
            "thumbSuffix": "thumbs/[filename].[extension]",
        },
    )


ARN = "arn:aws:iam::123456789012:role/lightly-access"
EXT = "external-id_0123"


@pytest.mark.parametrize(
    ("operation", "args", "kwargs", "parameter"),
    [
        ("set_s3_config", ("s3://b/", "eu-central-3", "a", "b"), {}, "region"),
        ("set_s3_config", ("s3://b/", "EU-CENTRAL-1", "a", "b"), {}, "region"),
        ("set_s3_delegated_access_config", ("s3://b/", "mars-1", "arn", "ext"), {}, "region"),
        ("set_s3_config", ("s3://b/", "eu-central-1", "a", "b"), {"purpose": "OUTPUT"}, "purpose"),
        ("set_gcs_config", ("gs://b/", "p", "{}"), {"purpose": "input"}, "purpose"),
        ("set_azure_config", ("c/", "a", "s"), {"purpose": ""}, "purpose"),
        ("set_obs_config", ("obs://b/", "obs.example.com", "a", "b"), {}, "obs_endpoint"),
        ("set_obs_config", ("obs://b/", "ftp://obs", "a", "b"), {}, "obs_endpoint"),
        ("set_obs_config", ("obs://b/", "https://", "a", "b"), {}, "obs_endpoint"),
        ("set_obs_config", ("obs://b/", "https://obs", "", "b"), {}, "obs_access_key_id"),
        ("set_s3_config", ("s3://b/", "eu-central-1", "", "b"), {}, "access_key"),
        ("set_s3_config", ("s3://b/", "eu-central-1", "a", 12345), {}, "secret_access_key"),
        ("set_s3_delegated_access_config", ("s3://b/", "us-east-1", "arn", EXT), {}, "role_arn"),
        (
            "set_s3_delegated_access_config",
            ("s3://b/", "us-east-1", "arn:aws:iam::12345678901:role/x", EXT),
            {},
            "role_arn",
        ),
        (
            "set_s3_delegated_access_config",
            ("s3://b/", "us-east-1", ARN, "short"),
            {},
            "external_id",
        ),
        (
            "set_s3_delegated_access_config",
            ("s3://b/", "us-east-1", ARN, "has space 1"),
            {},
            "external_id",
        ),
        ("set_gcs_config", ("gs://b/", "", "{}"), {}, "project_id"),
        ("set_azure_config", ("c/", "", "s"), {}, "account_name"),
        ("set_azure_config", ("c/", "a", ""), {}, "sas_token"),
    ],
)
def test_invalid_arguments_are_refused_before_any_request(
    operation: str,
    args: tuple[str, ...],
    kwargs: dict[str, str],
    parameter: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    with pytest.raises(ValueError, match=f"^{parameter} ") as info:
        getattr(client, operation)(*args, **kwargs)
    assert not mocked.calls
    if parameter in ("access_key", "secret_access_key", "external_id", "sas_token"):  # unshown
        assert not any(str(a) in str(info.value) for a in args[2:] if len(str(a)) > 4)


def test_valid_delegated_access_passes_the_checks(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.put(f"{SERVER}{D}/datasource", body="")
    client.set_s3_delegated_access_config("s3://b/", "us-east-1", ARN, EXT)
    assert json.loads(mocked.calls[0].request.body)["s3ARN"] == ARN


@covers("get_datasource")
def test_get_datasource(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    config = {"id": "1" * 24, "type": "S3", "fullPath": "s3://b/", "purpose": "INPUT_OUTPUT"}
    answer(mocked, "GET", f"{D}/datasource", config)
    result = client.get_datasource()
    assert result == config and result.full_path == "s3://b/"
    assert_call(mocked.calls[0], "GET", f"{D}/datasource")


def test_get_datasource_when_none_is_configured(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(
        mocked, "GET", f"{D}/datasource", {"code": "DATASET_DATASOURCE_UNKNOWN", "error": "x"}, 404
    )
    with pytest.raises(NotFound, match="DATASET_DATASOURCE_UNKNOWN"):
        client.get_datasource()


@covers("list_datasource_permissions")
def test_permissions_without_errors(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    verify = {"canRead": True, "canWrite": True, "canList": False, "canOverwrite": True}
    answer(mocked, "GET", f"{D}/datasource/verify", verify)
    assert client.list_datasource_permissions() == {
        "can_list": False,
        "can_overwrite": True,
        "can_read": True,
        "can_write": True,
        "errors": None,
    }
    assert_call(mocked.calls[0], "GET", f"{D}/datasource/verify")


@covers("get_processed_until_timestamp", "update_processed_until_timestamp")
def test_processed_until_timestamp(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    path = f"{D}/datasource/processedUntilTimestamp"
    answer(mocked, "GET", path, {"processedUntilTimestamp": NOW})
    answer(mocked, "PUT", path, None)
    assert client.get_processed_until_timestamp() == NOW
    client.update_processed_until_timestamp(NOW + 5)
    assert_call(mocked.calls[0], "GET", path)
    assert_call(mocked.calls[1], "PUT", path, body={"processedUntilTimestamp": NOW + 5})


@covers("get_prediction_read_url", "get_metadata_read_url", "get_custom_embedding_read_url")
@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        ("get_prediction_read_url", "predictions"),
        ("get_metadata_read_url", "metadata"),
        ("get_custom_embedding_read_url", "embeddings"),
    ],
)
def test_read_urls(
    operation: str, kind: str, client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "GET", f"{D}/datasource/{kind}/file", "https://blob.test/x?sig=1")
    name = "task one/sub dir/a+b.json"
    assert getattr(client, operation)(name) == "https://blob.test/x?sig=1"
    assert_call(mocked.calls[0], "GET", f"{D}/datasource/{kind}/file", [("fileName", name)])
    assert "a%2Bb.json" in mocked.calls[0].request.url


@covers("download_raw_samples")
def test_raw_samples_default_window_and_relevant_file(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    path = f"{D}/datasource/list"
    answer(mocked, "GET", path, page(["a.jpg", "b.jpg"], cursor="c1", more=True))
    answer(mocked, "GET", path, page(["c.jpg"], cursor="c2"))
    bar = Bar()
    result = client.download_raw_samples(
        relevant_filenames_file_name="lists/rel.txt", use_redirected_read_url=True, progress_bar=bar
    )
    assert result == [(n, f"https://blob.test/{n}") for n in ("a.jpg", "b.jpg", "c.jpg")]
    assert bar.updates == [2, 1]
    assert_call(
        mocked.calls[0],
        "GET",
        path,
        [
            ("from", "0"),
            ("to", str(NOW)),
            ("useRedirectedReadUrl", "True"),
            ("relevantFilenamesFileName", "lists/rel.txt"),
        ],
    )
    assert_call(
        mocked.calls[1],
        "GET",
        path,
        [
            ("cursor", "c1"),
            ("useRedirectedReadUrl", "True"),
            ("relevantFilenamesFileName", "lists/rel.txt"),
        ],
    )


def test_empty_relevant_file_name_is_not_sent(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    answer(mocked, "GET", f"{D}/datasource/list", page([]))
    assert client.download_raw_samples(from_=3, to=4, relevant_filenames_file_name="") == []
    assert_call(
        mocked.calls[0],
        "GET",
        f"{D}/datasource/list",
        [("from", "3"), ("to", "4"), ("useRedirectedReadUrl", "False")],
    )


def test_unsafe_and_duplicate_names_are_dropped_with_a_warning(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    path = f"{D}/datasource/list"
    answer(mocked, "GET", path, page(["b.jpg", "/abs.jpg", "./dot.jpg"], cursor="c", more=True))
    answer(mocked, "GET", path, page(["../up.jpg", "a.jpg", "b.jpg", "dir/../x.jpg"]))
    with pytest.warns(UserWarning) as warned:
        result = client.download_raw_samples(to=10)
    assert [name for name, _ in result] == ["b.jpg", "a.jpg", "dir/../x.jpg"]
    messages = " ".join(str(w.message) for w in warned)
    for name in ("/abs.jpg", "./dot.jpg", "../up.jpg", "b.jpg"):
        assert repr(name) in messages


@covers("download_raw_predictions")
def test_raw_predictions_repeat_task_and_run_filter_on_every_page(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    path = f"{D}/datasource/predictions/list"
    answer(mocked, "GET", path, page([".lightly/predictions/det/a.json"], cursor="c1", more=True))
    answer(mocked, "GET", path, page([".lightly/predictions/det/b.json"], cursor="c2"))
    result = client.download_raw_predictions(
        "det",
        from_=5,
        to=6,
        relevant_filenames_file_name="rel.txt",
        run_id=RUN,
        relevant_filenames_artifact_id=ARTIFACT,
    )
    assert [name for name, _ in result] == [
        ".lightly/predictions/det/a.json",
        ".lightly/predictions/det/b.json",
    ]
    shared = [
        ("relevantFilenamesFileName", "rel.txt"),
        ("relevantFilenamesRunId", RUN),
        ("relevantFilenamesArtifactId", ARTIFACT),
    ]
    assert_call(
        mocked.calls[0],
        "GET",
        path,
        [
            ("taskName", "det"),
            ("from", "5"),
            ("to", "6"),
            ("useRedirectedReadUrl", "False"),
            *shared,
        ],
    )
    assert_call(
        mocked.calls[1],
        "GET",
        path,
        [("taskName", "det"), ("cursor", "c1"), ("useRedirectedReadUrl", "False"), *shared],
    )


@covers("download_raw_metadata")
def test_raw_metadata_positional_order_of_1_4_10(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    """run_id comes before relevant_filenames_file_name in download_raw_metadata."""
    path = f"{D}/datasource/metadata/list"
    answer(mocked, "GET", path, page([".lightly/metadata/a.json"]))
    result = client.download_raw_metadata(1, 2, RUN, ARTIFACT, "rel.txt", True)
    assert result == [(".lightly/metadata/a.json", "https://blob.test/.lightly/metadata/a.json")]
    assert_call(
        mocked.calls[0],
        "GET",
        path,
        [
            ("from", "1"),
            ("to", "2"),
            ("useRedirectedReadUrl", "True"),
            ("relevantFilenamesFileName", "rel.txt"),
            ("relevantFilenamesRunId", RUN),
            ("relevantFilenamesArtifactId", ARTIFACT),
        ],
    )


@pytest.mark.parametrize("operation", ["download_raw_predictions", "download_raw_metadata"])
@pytest.mark.parametrize("kwargs", [{"run_id": RUN}, {"relevant_filenames_artifact_id": ARTIFACT}])
def test_run_id_and_artifact_id_go_together(
    operation: str,
    kwargs: dict[str, str],
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    args = ("det",) if operation == "download_raw_predictions" else ()
    with pytest.raises(ValueError, match="run_id and relevant_filenames_artifact_id"):
        getattr(client, operation)(*args, **kwargs)
    assert not mocked.calls


@covers("download_new_raw_samples")
@pytest.mark.parametrize(("processed", "start"), [(0, "0"), (NOW - 100, str(NOW - 99))])
def test_new_raw_samples_moves_the_mark_to_now(
    processed: int,
    start: str,
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
) -> None:
    mark = f"{D}/datasource/processedUntilTimestamp"
    answer(mocked, "GET", mark, {"processedUntilTimestamp": processed})
    answer(mocked, "GET", f"{D}/datasource/list", page(["new.jpg"]))
    answer(mocked, "PUT", mark, None)
    result = client.download_new_raw_samples(use_redirected_read_url=True)
    assert result == [("new.jpg", "https://blob.test/new.jpg")]
    assert_call(mocked.calls[0], "GET", mark)
    assert_call(
        mocked.calls[1],
        "GET",
        f"{D}/datasource/list",
        [("from", start), ("to", str(NOW)), ("useRedirectedReadUrl", "True")],
    )
    assert_call(mocked.calls[2], "PUT", mark, body={"processedUntilTimestamp": NOW})


def test_failed_listing_does_not_move_the_mark(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mark = f"{D}/datasource/processedUntilTimestamp"
    answer(mocked, "GET", mark, {"processedUntilTimestamp": 0})
    answer(mocked, "GET", f"{D}/datasource/list", {"code": "NOT_FOUND", "error": "x"}, 404)
    with pytest.raises(NotFound):
        client.download_new_raw_samples()
    assert [c.request.method for c in mocked.calls] == ["GET", "GET"]
