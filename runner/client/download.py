"""(being written) download operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _DownloadMixin(_ClientBase):
    """download operations."""
