"""(being written) embeddings operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _EmbeddingsMixin(_ClientBase):
    """embeddings operations."""
