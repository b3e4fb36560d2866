"""(being written) predictions operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _PredictionsMixin(_ClientBase):
    """predictions operations."""
