"""``ApiWorkflowClient``: the facade that joins every domain mixin."""

from __future__ import annotations

import os

import requests

from runner.client._base import _ClientBase
from runner.client._http import (
    DEFAULT_SERVER,
    DEFAULT_TIMEOUT,
    LightlyHttp,
    RetryPolicy,
    hidden_credentials,
)
from runner.client.artifacts import _ArtifactsMixin
from runner.client.collaboration import _CollaborationMixin
from runner.client.compute_worker import _ComputeWorkerMixin
from runner.client.datasets import _DatasetsMixin
from runner.client.datasources import _DatasourcesMixin
from runner.client.download import _DownloadMixin
from runner.client.embeddings import _EmbeddingsMixin
from runner.client.export import _ExportMixin
from runner.client.metadata import _CustomMetadataMixin
from runner.client.predictions import _PredictionsMixin
from runner.client.progress import ProgressFactory, terminal_progress
from runner.client.samples import _SamplesMixin
from runner.client.selection import _SelectionMixin
from runner.client.tags import _TagsMixin


class ApiWorkflowClient(
    _DatasetsMixin,
    _TagsMixin,
    _SamplesMixin,
    _DownloadMixin,
    _EmbeddingsMixin,
    _CustomMetadataMixin,
    _CollaborationMixin,
    _DatasourcesMixin,
    _PredictionsMixin,
    _ExportMixin,
    _ComputeWorkerMixin,
    _ArtifactsMixin,
    _SelectionMixin,
    _ClientBase,
):
    """Provides a uniform interface to communicate with the Lightly API.

    Same operations, parameters and behaviour as the official ``lightly.api``
    ``ApiWorkflowClient`` (1.4.10), built on ``requests``. Constructing it makes no
    request.

    Args:
        token: The user's API token; defaults to the ``LIGHTLY_TOKEN`` environment variable.
        dataset_id: The current dataset; if unset, the last modified dataset is used.
        embedding_id: The current embedding; if unset, the newest one is used.
        creator: Sent as ``creator`` in every request body that has one.
        server_location: API base URL; defaults to ``LIGHTLY_SERVER_LOCATION`` or
            https://api.lightly.ai.
        timeout: (connect, read) timeout in seconds for every API call.
        retry: How transient failures (connection errors, 429, 5xx) are retried.
        session: A ``requests.Session`` to use instead of a new pooled one.
        progress: Makes the progress bars of long operations (uploads, downloads,
            listings): called with ``total``, ``desc`` and ``unit``, returns a
            tqdm-like bar. Default: tqdm on a terminal, nothing elsewhere.

    Raises:
        ValueError: If no token is given and ``LIGHTLY_TOKEN`` is not set, or the
            server location is not an http(s) URL with a host, or ends in ``/v1``.
    """

    def __init__(
        self,
        token: str | None = None,
        dataset_id: str | None = None,
        embedding_id: str | None = None,
        creator: str = "USER_PIP",
        *,
        server_location: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        session: requests.Session | None = None,
        progress: ProgressFactory = terminal_progress,
    ) -> None:
        token = token or os.environ.get("LIGHTLY_TOKEN")
        if not token:
            raise ValueError(
                "Either provide a 'token' argument or export a LIGHTLY_TOKEN environment variable"
            )
        base_url = server_location or os.environ.get("LIGHTLY_SERVER_LOCATION") or DEFAULT_SERVER
        self._http = LightlyHttp(
            base_url=base_url, token=token, timeout=timeout, retry=retry, session=session
        )
        self._dataset_id = dataset_id
        self.embedding_id = embedding_id
        self._creator = creator
        self.progress = progress

    def __repr__(self) -> str:
        server = hidden_credentials(self._http.base_url)
        return f"ApiWorkflowClient(server={server!r}, dataset_id={self._dataset_id!r})"
