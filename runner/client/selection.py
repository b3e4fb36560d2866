"""(being written) selection operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _SelectionMixin(_ClientBase):
    """selection operations."""
