"""A complete Python client for the Lightly REST API (requests-based).

Only the names in ``__all__`` are public; the modules are private to the package.
"""

from __future__ import annotations

from runner.client._http import RetryPolicy, check_server_url, hidden_credentials
from runner.client.cancel import OperationCancelled, stop_when
from runner.client.client import ApiWorkflowClient
from runner.client.compute_worker import selection_config_from_dict
from runner.client.errors import (
    ApiError,
    ApiException,
    ArtifactNotExist,
    BadRequest,
    Conflict,
    EmbeddingDoesNotExistError,
    Forbidden,
    InvalidConfigurationError,
    LightlyClientError,
    NotFound,
    RateLimited,
    RequestTimeout,
    ServerError,
    TagDoesNotExistError,
    TLSFailure,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
)
from runner.client.models import ComputeWorkerRunInfo, WireModel

__all__ = [
    "ApiError",
    "ApiException",
    "ApiWorkflowClient",
    "ArtifactNotExist",
    "BadRequest",
    "ComputeWorkerRunInfo",
    "Conflict",
    "EmbeddingDoesNotExistError",
    "Forbidden",
    "InvalidConfigurationError",
    "LightlyClientError",
    "NotFound",
    "OperationCancelled",
    "RateLimited",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "TLSFailure",
    "TagDoesNotExistError",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
    "WireModel",
    "check_server_url",
    "hidden_credentials",
    "selection_config_from_dict",
    "stop_when",
]
