"""Who may touch which dataset: the owner, and the users it is shared with.

A dataset another user owns and has not shared with the caller answers exactly
like a dataset that does not exist (404 ``DATASET_UNKNOWN``), so nothing leaks.
Shares are documents of kind ``share`` (one WRITE config per dataset, see
CONTRACT §8.7) whose ``users`` lists e-mail addresses.
"""

from __future__ import annotations

import json
from typing import Any

from runner.local.app import User, current_user, get_store
from runner.local.errors import ApiError

ID_PATTERN = r"^[a-f0-9]{24}$"


def dataset_unknown(dataset_id: str) -> ApiError:
    return ApiError(404, "DATASET_UNKNOWN", f"dataset {dataset_id} not found")


def shared_with(dataset_id: str, user: User) -> bool:
    """Whether ``dataset_id`` has a share listing ``user``'s e-mail."""
    for share in get_store().list_docs("share", dataset_id=dataset_id):
        if user.email in share.get("users", []):
            return True
    return False


def dataset_owner(dataset_id: str) -> str | None:
    row = get_store().db.execute("SELECT owner FROM datasets WHERE id=?", (dataset_id,)).fetchone()
    return None if row is None else str(row["owner"])


def require_dataset(dataset_id: str) -> dict[str, Any]:
    """The DatasetData of ``dataset_id`` if the caller may use it, else 404."""
    row = (
        get_store()
        .db.execute("SELECT owner, data FROM datasets WHERE id=?", (dataset_id,))
        .fetchone()
    )
    user = current_user()
    if row is None or (row["owner"] != user.user_id and not shared_with(dataset_id, user)):
        raise dataset_unknown(dataset_id)
    data: dict[str, Any] = json.loads(row["data"])
    return data


def require_owner(dataset_id: str) -> dict[str, Any]:
    """Like ``require_dataset`` but only for the owner (deleting, sharing)."""
    data = require_dataset(dataset_id)
    if dataset_owner(dataset_id) != current_user().user_id:
        raise ApiError(403, "FORBIDDEN", "only the owner of the dataset may do this")
    return data
