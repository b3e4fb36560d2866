"""(being written) samples operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _SamplesMixin(_ClientBase):
    """samples operations."""
