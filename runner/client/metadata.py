"""(being written) metadata operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _CustomMetadataMixin(_ClientBase):
    """metadata operations."""
