"""(being written) tags operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _TagsMixin(_ClientBase):
    """tags operations."""
