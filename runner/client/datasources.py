"""(being written) datasources operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _DatasourcesMixin(_ClientBase):
    """datasources operations."""
