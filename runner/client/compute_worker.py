"""(being written) compute_worker operations of ApiWorkflowClient."""

from __future__ import annotations

from runner.client._base import _ClientBase


class _ComputeWorkerMixin(_ClientBase):
    """compute_worker operations."""
def selection_config_from_dict(cfg):  # replaced by the compute worker module
    raise NotImplementedError
