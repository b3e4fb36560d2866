"""(being written) artifacts operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _ArtifactsMixin(_ClientBase):
    """artifacts operations."""
