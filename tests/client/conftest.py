from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from runner.client import ApiWorkflowClient, RetryPolicy
from tests.client.contract import SERVER, TOKEN

DATASET_ID = "a" * 24


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def client(mocked: responses.RequestsMock) -> ApiWorkflowClient:
    """A client on a fake server with a current dataset and instant retries."""
    return ApiWorkflowClient(
        token=TOKEN,
        dataset_id=DATASET_ID,
        server_location=SERVER,
        retry=RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0),
    )
