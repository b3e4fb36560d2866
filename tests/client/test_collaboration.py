"""Wire contract of dataset sharing (CONTRACT §8.7)."""

from __future__ import annotations

import pytest
import responses

from runner.client import ApiWorkflowClient, Forbidden
from tests.client.contract import SERVER, assert_call, covers

OTHER = "b" * 24
PATH = f"/v1/datasets/{OTHER}/collaboration/access"


def config(access: str, users: list[str]) -> dict[str, object]:
    return {
        "id": "c" * 24,
        "owner": "me",
        "accessType": access,
        "users": users,
        "teams": [],
        "createdAt": 1,
        "lastModifiedAt": 1,
    }


@covers("share_dataset_only_with")
def test_share_dataset_only_with(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.post(f"{SERVER}{PATH}", status=201, json={"id": "c" * 24})
    assert client.share_dataset_only_with(OTHER, ["a@x.org", "b@x.org"]) is None
    client.share_dataset_only_with(OTHER, [])
    assert_call(
        mocked.calls[0],
        "POST",
        PATH,
        body={"accessType": "WRITE", "users": ["a@x.org", "b@x.org"], "creator": "USER_PIP"},
    )
    assert_call(
        mocked.calls[1],
        "POST",
        PATH,
        body={"accessType": "WRITE", "users": [], "creator": "USER_PIP"},
    )


def test_share_dataset_forbidden_is_not_retried(
    client: ApiWorkflowClient, mocked: responses.RequestsMock
) -> None:
    mocked.post(f"{SERVER}{PATH}", status=403, json={"code": "FORBIDDEN", "error": "not yours"})
    with pytest.raises(Forbidden, match="FORBIDDEN: not yours"):
        client.share_dataset_only_with(OTHER, ["a@x.org"])
    assert len(mocked.calls) == 1


@covers("get_shared_users")
def test_get_shared_users(client: ApiWorkflowClient, mocked: responses.RequestsMock) -> None:
    mocked.get(f"{SERVER}{PATH}", json=[config("READ", ["r@x.org"]), config("WRITE", ["a@x.org"])])
    mocked.get(f"{SERVER}{PATH}", json=[])
    assert client.get_shared_users(OTHER) == ["a@x.org"]
    assert client.get_shared_users(OTHER) == []
    assert_call(mocked.calls[0], "GET", PATH)
