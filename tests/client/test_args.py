"""Arguments that must be lists of strings are refused, before any request, when not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import responses

from runner.client import ApiWorkflowClient

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
