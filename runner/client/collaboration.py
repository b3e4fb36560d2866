"""(being written) collaboration operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _CollaborationMixin(_ClientBase):
    """collaboration operations."""
