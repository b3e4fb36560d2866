"""Sharing datasets with other users."""

from __future__ import annotations

from runner.client._args import string_list
from runner.client._base import _ClientBase
from runner.client._http import encode_path


class _CollaborationMixin(_ClientBase):
    """Dataset sharing."""

    def share_dataset_only_with(self, dataset_id: str, user_emails: list[str]) -> None:
        """Shares a dataset with exactly these users (an empty list revokes all).

        Args:
            dataset_id: Dataset to share.
            user_emails: E-mail addresses of the users.

        Raises:
            ValueError: If ``user_emails`` is not a list of strings (a single address
                too: it would revoke everyone else's access).
        """
        users = string_list(user_emails, "user_emails")
        body = {"accessType": "WRITE", "users": users, "creator": self._creator}
        self._http.post(encode_path("/v1/datasets/{}/collaboration/access", dataset_id), json=body)

    def get_shared_users(self, dataset_id: str) -> list[str]:
        """Lists the e-mail addresses of the users a dataset is shared with.

        Args:
            dataset_id: Dataset id.

        Returns:
            The users with write access.
        """
        path = encode_path("/v1/datasets/{}/collaboration/access", dataset_id)
        configs = self._http.get(path, expect=list)
        for config in configs:
            if config.get("accessType") == "WRITE":
                return list(config.get("users", []))
        return []
