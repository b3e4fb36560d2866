"""Arguments of the wrong kind (a string where a list of strings belongs, None where an
id or a name does) are refused, naming them, before any request."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import responses

from runner.client import ApiWorkflowClient
from runner.client._args import worker_count

SELECTION = {
    "n_samples": 5,
    "strategies": [{"input": {"type": "EMBEDDINGS"}, "strategy": {"type": "DIVERSITY"}}],
}
CALLS: dict[str, Callable[[ApiWorkflowClient, Any], object]] = {
    "user_emails": lambda c, v: c.share_dataset_only_with("b" * 24, v),
    "labels": lambda c, v: c.register_compute_worker("worker-1", labels=v),
    "runs_on": lambda c, v: c.schedule_compute_worker_run(selection_config=SELECTION, runs_on=v),
    "fnames_new_tag": lambda c, v: c.create_tag_from_filenames(v, "picked"),
}


@pytest.mark.parametrize("parameter", sorted(CALLS))
@pytest.mark.parametrize(
    ("value", "message"),
    [
        # iterated, a string would become its characters: sharing with "a", "@", …
        ("a@x.org", r"must be a list of strings, not a string: use \['a@x.org'\]"),
        (42, "must be a list of strings, not int"),
        (["ok", 7], r"must hold only strings; got 7 \(int\)"),
    ],
)
def test_a_list_of_strings_is_checked_before_any_request(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    parameter: str,
    value: object,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=f"^{parameter} {message}"):
        CALLS[parameter](client, value)
    assert not mocked.calls


@pytest.mark.parametrize("parameter", ["user_emails", "fnames_new_tag"])
def test_none_is_not_an_empty_list_where_a_list_is_required(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, parameter: str
) -> None:
    with pytest.raises(ValueError, match=f"^{parameter} must be a list of strings, not NoneType"):
        CALLS[parameter](client, None)
    assert not mocked.calls


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.upload_scores([0.1, 0.2], "t" * 24), "al_scores must be a mapping"),
        (
            lambda c: c.upload_scores({"ok": [0.1], "bad": ["high"]}, "t" * 24),
            r"al_scores\['bad'\] must be a list of numbers, one per sample of the tag",
        ),
        (
            lambda c: c.create_or_update_predictions([("s" * 24, [])], prediction_version_id=1),
            "sample_id_to_prediction_singletons must be a mapping",
        ),
        (
            lambda c: c.create_custom_metadata_config("weather", ["weather"]),
            r"configs\[0\] must be a mapping \(a dict\), not str",
        ),
        (
            lambda c: c.get_filenames_in_tag("t" * 24),
            r"tag_data must be a tag \(TagData\) with its bitmask, e.g. from get_tag_by_name",
        ),
    ],
    ids=["scores list", "scores text", "predictions list", "metadata config names", "tag id"],
)
def test_arguments_of_the_wrong_shape_are_named_before_any_request(
    client: ApiWorkflowClient,
    mocked: responses.RequestsMock,
    call: Callable[[ApiWorkflowClient], object],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        call(client)
    assert not mocked.calls


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.create_dataset(None), "dataset_name must be text, not NoneType"),
        (lambda c: c.download_dataset(None), "output_dir must be a folder path, not NoneType"),
        (
            lambda c: c.upload_custom_metadata({"images": [], "metadata": []}, max_workers="4"),
            "max_workers must be a whole number, not '4'",
        ),
        (lambda c: c.upload_dataset(".", max_workers=2.5), "max_workers must be a whole"),
        (lambda c: c.download_dataset("out", max_workers=None), "max_workers must be a whole"),
        (
            lambda c: c.create_or_update_predictions({"s": []}, 1, max_workers="4"),
            "max_workers must be a whole number",
        ),
        (
            lambda c: c.update_processed_until_timestamp("abc"),
            "timestamp must be whole Unix seconds (an int), not str",
        ),
        (lambda c: c.update_processed_until_timestamp(-1), "timestamp must be >= 0, not -1"),
        (
            lambda c: c.delete_dataset_by_id(None),
            "/v1/datasets/{} needs a value for each {}, not None",
        ),
        (
            lambda c: c.get_compute_worker_run(""),
            "/v1/docker/runs/{} needs a value for each {}, not ''",
        ),
    ],
)
def test_arguments_of_the_wrong_kind_are_named_before_any_request(
    client: ApiWorkflowClient, mocked: responses.RequestsMock, call: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call(client)
    assert not mocked.calls


def test_whole_numbers_of_other_types_are_worker_counts() -> None:
    assert [worker_count(n) for n in (np.int64(4), 8.0, 3)] == [4, 8, 3]
    with pytest.raises(ValueError, match="max_workers must be a whole number, not True"):
        worker_count(True)


def test_the_clients_repr_hides_a_password_in_the_server_location() -> None:
    client = ApiWorkflowClient(token="t" * 20, server_location="http://user:s3cretpw@host:1")
    assert "s3cretpw" not in repr(client) and "***@host:1" in repr(client)
