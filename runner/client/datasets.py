"""(being written) datasets operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _DatasetsMixin(_ClientBase):
    """datasets operations."""
