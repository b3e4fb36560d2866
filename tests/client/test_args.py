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
