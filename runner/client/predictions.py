"""Uploading model predictions."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any

from runner.client._args import mapping, worker_count
from runner.client._base import _ClientBase, on_one_dataset
from runner.client._parallel import for_each_parallel
from runner.client.models import to_camel, to_wire


def _without_none(value: Any) -> Any:
    """``value`` (in wire form) with keys set to None left out at every level: no field
    of the prediction models is nullable (MODELS.md), and the official models omit them."""
    if isinstance(value, dict):  # to_wire made every mapping a dict
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def _version(prediction_version_id: int) -> int:
    """CONTRACT §10.2: the -1 default is kept, but only ids >= 0 reach the server."""
    if (
        isinstance(prediction_version_id, bool)
        or not isinstance(prediction_version_id, Integral)
        or prediction_version_id < 0
    ):
        raise ValueError(
            "prediction_version_id must be an integer >= 0 (e.g. a Unix timestamp identifying "
            f"the model's predictions), not {prediction_version_id!r}"
        )
    return int(prediction_version_id)


class _PredictionsMixin(_ClientBase):
    """Prediction task schemas and per-sample predictions."""

    def create_or_update_prediction_task_schema(
        self, schema: dict[str, Any], prediction_version_id: int = -1
    ) -> None:
        """Creates or updates a prediction task schema.

        Args:
            schema: ``{"name", "type", "categories": [{"id", "name"}]}``.
            prediction_version_id: Version (e.g. timestamp) of the predictions, >= 0.

        Raises:
            ValueError: If ``prediction_version_id`` is negative (the default -1 included).
        """
        params = {"predictionUUIDTimestamp": _version(prediction_version_id)}
        self._http.post(  # stored per name and version, replacing: safe to repeat
            self._dataset_path("/predictions/tasks"),
            params=params,
            json=_without_none(to_wire(schema)),
            retry=True,
        )

    def create_or_update_prediction(
        self,
        sample_id: str,
        prediction_singletons: list[dict[str, Any]],
        prediction_version_id: int = -1,
    ) -> None:
        """Creates or replaces the predictions of one sample.

        Args:
            sample_id: Sample id.
            prediction_singletons: Predictions ``{"type", "taskName", "categoryId", "score", …}``
                (snake_case keys such as ``task_name`` are sent as their wire names).
            prediction_version_id: Version (e.g. timestamp) of the predictions, >= 0.

        Raises:
            ValueError: If ``prediction_version_id`` is negative.
        """
        params = {"predictionUUIDTimestamp": _version(prediction_version_id)}
        body = [
            {to_camel(k): v for k, v in _without_none(singleton).items()}
            if isinstance(singleton, Mapping)
            else singleton
            for singleton in to_wire(list(prediction_singletons))
        ]
        self._http.post(  # replaces the sample's predictions of that version: safe to repeat
            self._dataset_path("/predictions/samples/{}", sample_id),
            params=params,
            json=body,
            retry=True,
        )

    @on_one_dataset
    def create_or_update_predictions(
        self,
        sample_id_to_prediction_singletons: dict[str, list[dict[str, Any]]],
        prediction_version_id: int = -1,
        progress_bar: Any = None,
        max_workers: int = 8,
    ) -> None:
        """Creates or replaces the predictions of many samples, in parallel.

        Args:
            sample_id_to_prediction_singletons: sample id → its predictions.
            prediction_version_id: Version (e.g. timestamp) of the predictions, >= 0.
            progress_bar: Optional tqdm bar, advanced per sample.
            max_workers: Uploads in parallel.

        Raises:
            ValueError: If ``prediction_version_id`` is negative, or
                ``sample_id_to_prediction_singletons`` is not a mapping.
        """
        _version(prediction_version_id)
        workers = worker_count(max_workers)
        items = list(
            mapping(
                sample_id_to_prediction_singletons, "sample_id_to_prediction_singletons"
            ).items()
        )
        if not items:
            return
        self._dataset_path()  # the dataset is taken (pinned) here, not in every thread

        def upload(item: tuple[str, list[dict[str, Any]]]) -> None:
            self.create_or_update_prediction(item[0], item[1], prediction_version_id)

        def uploaded() -> None:
            if progress_bar is not None:
                progress_bar.update(1)

        for_each_parallel(upload, items, max_workers=min(len(items), workers), done=uploaded)
