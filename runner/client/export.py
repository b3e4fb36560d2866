"""(being written) export operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _ExportMixin(_ClientBase):
    """export operations."""
