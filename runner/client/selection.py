"""Active-learning scores and the deprecated legacy ``selection`` (jobs API)."""

from __future__ import annotations

import time
import warnings
from typing import Any

from runner.client._args import mapping
from runner.client._base import _ClientBase
from runner.client._http import encode_path
from runner.client.errors import LightlyClientError
from runner.client.models import WireModel, field, to_camel, to_wire

_RUNNING = ("RUNNING", "WAITING", "UNKNOWN")
#: The official client re-raises the 20th failed status poll.
_MAX_POLL_FAILURES = 20


class _SelectionMixin(_ClientBase):
    """Scores and legacy selection."""

    #: Seconds before the first poll of a selection job (then the server's hint).
    wait_time_till_next_poll: float = 1.0

    def upload_scores(self, al_scores: dict[str, Any], query_tag_id: str) -> None:
        """Uploads active-learning scores for the samples of a tag.

        Args:
            al_scores: score name → one float per sample of the tag, in sample order.
            query_tag_id: The tag the scores belong to.

        Raises:
            ValueError: If ``al_scores`` is not a mapping of score names to numbers
                (checked before any request).
        """
        bodies = [
            {"scoreType": score_type, "scores": _floats(values, score_type)}
            for score_type, values in mapping(al_scores, "al_scores").items()
        ]
        for body in bodies:
            self._http.post(self._dataset_path("/tags/{}/scores", query_tag_id), json=body)

    def selection(
        self,
        selection_config: dict[str, Any],
        preselected_tag_id: str | None = None,
        query_tag_id: str | None = None,
    ) -> WireModel:
        """Runs a server-side selection and returns the new tag (deprecated: use the worker).

        Args:
            selection_config: ``{"method": RANDOM|CORESET|ACTIVE_LEARNING|CORAL,
                "n_samples": int, "min_distance": float, "name": str}`` (all optional;
                a legacy ``SelectionConfig`` object is accepted too).
            preselected_tag_id: Samples that are kept.
            query_tag_id: Samples to select from (default: all).

        Returns:
            The new tag (TagData).

        Raises:
            RuntimeError: If the tag name is taken, there are no tags, or the job fails.
        """
        warnings.warn(
            "selection() is deprecated; schedule a Lightly Worker run instead",
            DeprecationWarning,
            stacklevel=2,
        )
        config = _legacy_config(selection_config)
        tags = self._http.get(self._dataset_path("/tags"), expect=list)
        if any(t["name"] == config["name"] for t in tags):
            raise RuntimeError(f"There already exists a tag with tag_name {config['name']}.")
        if not tags:
            raise RuntimeError("There exists no initial-tag for this dataset.")
        if self.embedding_id is None:
            self.set_embedding_id_to_latest()  # type: ignore[attr-defined]
        row_count = self._http.get(self._dataset_path("/tags"), expect=list)[0]["totSize"]
        body = _sampling_request(config, preselected_tag_id, query_tag_id, row_count)
        job = self._http.post(
            self._dataset_path("/embeddings/{}/sampling", str(self.embedding_id)),
            json=body,
            expect=dict,
        )
        return self._wait_for_selection_job(job["jobId"])

    def _wait_for_selection_job(self, job_id: str) -> WireModel:
        wait = self.wait_time_till_next_poll
        status: dict[str, Any] | None = None
        failures = 0
        while status is None or status["status"] in _RUNNING:
            time.sleep(wait)
            try:
                status = self._http.get(encode_path("/v1/jobs/{}", job_id), expect=dict)
            except LightlyClientError:
                # like the official client: a flaky status endpoint is tolerated 19 times
                failures += 1
                if failures == _MAX_POLL_FAILURES:
                    raise
                continue
            wait = status.get("waitTimeTillNextPoll", wait)
        if status["status"] == "FAILED":
            raise RuntimeError(
                f"Selection job with job_id {job_id} failed with error {status.get('error')}"
            )
        new_tag_id = (status.get("result") or {}).get("data")
        if new_tag_id is None:
            raise RuntimeError(f"TagId returned by job with job_id {job_id} is None.")
        return self.get_tag_by_id(new_tag_id)  # type: ignore[attr-defined,no-any-return]


def _legacy_config(selection_config: Any) -> dict[str, Any]:
    """``{method, n_samples, min_distance, name}`` from a dict or a legacy SelectionConfig object."""

    def read(name: str, default: Any) -> Any:
        if selection_config is None:
            return default
        value = to_wire(field(selection_config, to_camel(name), None))  # SamplingMethod: str
        return default if value is None else value

    method = read("method", "CORESET")
    n_samples = read("n_samples", 32)
    min_distance = read("min_distance", -1)
    stamp = time.strftime("%m_%d_%Y__%H_%M_%S")
    name = read("name", None) or f"{method}_{n_samples}_{min_distance}_{stamp}"
    return {"method": method, "n_samples": n_samples, "min_distance": min_distance, "name": name}


def _sampling_request(
    config: dict[str, Any], preselected_tag_id: str | None, query_tag_id: str | None, rows: Any
) -> dict[str, Any]:
    """SamplingCreateRequest; the optional tag ids are left out when None."""
    body: dict[str, Any] = {
        "newTagName": config["name"],
        "method": config["method"],
        "config": {
            "stoppingCondition": {
                "nSamples": config["n_samples"],
                "minDistance": config["min_distance"],
            }
        },
        "rowCount": rows,
    }
    if preselected_tag_id is not None:
        body["preselectedTagId"] = preselected_tag_id
    if query_tag_id is not None:
        body["queryTagId"] = query_tag_id
    return body


def _floats(values: Any, score_type: str) -> list[float]:
    try:
        return [float(v) for v in to_wire(values)]
    except (TypeError, ValueError):
        raise ValueError(
            f"al_scores[{score_type!r}] must be a list of numbers, one per sample of the tag"
        ) from None
