"""Lightly Worker operations: registry, configs, scheduling, runs and run info."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal

from runner.client._args import string_list
from runner.client._base import _ClientBase
from runner.client._configs import (
    DOCKER_FIELDS,
    LIGHTLY_FIELDS,
    convert_config,
    selection_config_from_dict,
)
from runner.client._http import encode_path
from runner.client.errors import ApiError
from runner.client.models import ComputeWorkerRunInfo, WireModel, wire

Priority = Literal["LOW", "MID", "HIGH", "CRITICAL"]
ScheduledState = Literal["OPEN", "LOCKED", "DONE", "CANCELED"]
_PAGE = 5000

__all__ = ["_ComputeWorkerMixin", "selection_config_from_dict"]


class _ComputeWorkerMixin(_ClientBase):
    """Lightly Worker registry, configs, scheduled runs and runs."""

    #: Seconds between polls of ``compute_worker_run_info_generator`` (official client: 30).
    run_info_poll_interval: float = 30.0

    def register_compute_worker(
        self, name: str = "Default", labels: list[str] | None = None
    ) -> str:
        """Registers a Lightly Worker (or returns the id of the one with this name).

        Args:
            name: Worker name.
            labels: Labels; scheduled runs with ``runs_on`` go to workers having all of them.

        Returns:
            The worker id.

        Raises:
            ValueError: If ``labels`` is not a list of strings.
        """
        body = {
            "name": name,
            "workerType": "FULL",
            "labels": string_list(labels, "labels", optional=True),
            "creator": self._creator,
        }
        return str(self._http.post("/v1/docker/worker", json=body, expect=dict)["id"])

    def get_compute_worker_ids(self) -> list[str]:
        """Lists the ids of the user's registered workers.

        Returns:
            The worker ids.
        """
        return [w["id"] for w in self.get_compute_workers()]

    def get_compute_workers(self) -> list[WireModel]:
        """Lists the user's registered workers.

        Returns:
            The workers (DockerWorkerRegistryEntryData).
        """
        return [wire(w) for w in self._http.get("/v1/docker/worker", expect=list)]

    def delete_compute_worker(self, worker_id: str) -> None:
        """Removes a worker from the registry.

        Args:
            worker_id: Worker id.
        """
        self._http.delete(encode_path("/v1/docker/worker/{}", worker_id))

    def create_compute_worker_config(
        self,
        worker_config: dict[str, Any] | None = None,
        lightly_config: dict[str, Any] | None = None,
        selection_config: dict[str, Any] | None = None,
    ) -> str:
        """Creates a configuration for a Lightly Worker run.

        Args:
            worker_config: Worker options (snake_case or camelCase keys).
            lightly_config: Lightly (training/embedding) options.
            selection_config: Selection: ``n_samples`` or ``proportion_samples`` and ``strategies``.

        Returns:
            The config id.

        Raises:
            InvalidConfigurationError: If a key is unknown (with a suggestion), before any
                request.
        """
        config: dict[str, Any] = {"workerType": "FULL"}
        docker = convert_config(worker_config, DOCKER_FIELDS, "worker_config")
        lightly = convert_config(lightly_config, LIGHTLY_FIELDS, "lightly_config")
        if docker is not None:
            config["docker"] = docker
        if lightly is not None:
            config["lightly"] = lightly
        if selection_config is not None:
            config["selection"] = selection_config_from_dict(selection_config)
        body = {"config": config, "creator": self._creator}
        return str(self._http.post("/v1/docker/worker/config/v3", json=body, expect=dict)["id"])

    def schedule_compute_worker_run(
        self,
        worker_config: dict[str, Any] | None = None,
        lightly_config: dict[str, Any] | None = None,
        selection_config: dict[str, Any] | None = None,
        priority: Priority = "MID",
        runs_on: list[str] | None = None,
    ) -> str:
        """Schedules a Lightly Worker run on the current dataset.

        Args:
            worker_config: Worker options.
            lightly_config: Lightly (training/embedding) options.
            selection_config: Selection: ``n_samples`` or ``proportion_samples`` and ``strategies``.
            priority: ``LOW``, ``MID``, ``HIGH`` or ``CRITICAL``.
            runs_on: Labels a worker must have to take the run.

        Returns:
            The scheduled run id.

        Raises:
            InvalidConfigurationError: If a config key is unknown (before any request).
            ValueError: If ``runs_on`` is not a list of strings (before any request).
            ApiError: 400 invalid parameters, 402 insufficient plan, 403 not authorised,
                404 dataset or config not found, 422 missing or invalid datasource file.
        """
        labels = string_list(runs_on, "runs_on", optional=True)
        config_id = self.create_compute_worker_config(
            worker_config, lightly_config, selection_config
        )
        body = {
            "configId": config_id,
            "priority": priority,
            "runsOn": labels,
            "creator": self._creator,
        }
        return str(
            self._http.post(self._dataset_path("/docker/worker/schedule"), json=body, expect=dict)[
                "id"
            ]
        )

    def get_compute_worker_runs_iter(self, dataset_id: str | None = None) -> Iterator[WireModel]:
        """Iterates over the user's worker runs, optionally of one dataset.

        Args:
            dataset_id: Only runs on this dataset.

        Returns:
            An iterator of runs (DockerRunData).
        """
        path = (
            "/v1/docker/runs"
            if dataset_id is None
            else encode_path("/v1/docker/runs/query/datasetId/{}", dataset_id)
        )
        for run in self._http.paginate(path, page_size=_PAGE):
            yield wire(run)

    def get_compute_worker_runs(self, dataset_id: str | None = None) -> list[WireModel]:
        """Lists the user's worker runs, oldest first.

        Args:
            dataset_id: Only runs on this dataset.

        Returns:
            The runs (DockerRunData).
        """
        return sorted(
            self.get_compute_worker_runs_iter(dataset_id), key=lambda r: r.get("createdAt", -1)
        )

    def get_compute_worker_run(self, run_id: str) -> WireModel:
        """Fetches a worker run.

        Args:
            run_id: Run id.

        Returns:
            The run (DockerRunData), including its artifacts.

        Raises:
            NotFound: If no run with this id exists.
        """
        result: WireModel = wire(
            self._http.get(encode_path("/v1/docker/runs/{}", run_id), expect=dict)
        )
        return result

    def get_compute_worker_run_from_scheduled_run(self, scheduled_run_id: str) -> WireModel:
        """Fetches the run a worker started for a scheduled run.

        Args:
            scheduled_run_id: Scheduled run id.

        Returns:
            The run (DockerRunData).

        Raises:
            ApiError: 404 while no worker has picked the run up.
        """
        result: WireModel = wire(
            self._http.get(
                encode_path("/v1/docker/runs/schedule/{}", scheduled_run_id), expect=dict
            )
        )
        return result

    def get_scheduled_compute_worker_runs(
        self, state: ScheduledState | None = None
    ) -> list[WireModel]:
        """Lists the scheduled runs of the current dataset.

        Args:
            state: Only runs in this state; by default those neither DONE nor CANCELED.

        Returns:
            The scheduled runs (DockerRunScheduledData).
        """
        params = {"state": state} if state is not None else None
        return [
            wire(r)
            for r in self._http.get(
                self._dataset_path("/docker/worker/schedule"), params=params, expect=list
            )
        ]

    def get_compute_worker_run_info(self, scheduled_run_id: str) -> ComputeWorkerRunInfo:
        """Returns the state and message of a scheduled run.

        Args:
            scheduled_run_id: Scheduled run id.

        Returns:
            ``ComputeWorkerRunInfo``: the run's state, ``OPEN`` while waiting for a worker,
            or ``CANCELED_OR_NOT_EXISTING``.
        """
        try:
            run = self.get_compute_worker_run_from_scheduled_run(scheduled_run_id)
            return ComputeWorkerRunInfo(state=run["state"], message=run.get("message"))
        except ApiError:
            pass
        if any(r["id"] == scheduled_run_id for r in self.get_scheduled_compute_worker_runs()):
            return ComputeWorkerRunInfo(
                state="OPEN",
                message="Waiting for pickup by Lightly Worker. Make sure to start a Lightly Worker "
                "connected to your user token to process the job.",
            )
        return ComputeWorkerRunInfo(
            state="CANCELED_OR_NOT_EXISTING",
            message=f"Could not find a job for the given run_id: '{scheduled_run_id}'. The scheduled run "
            "does not exist or was canceled before being picked up by a Lightly Worker.",
        )

    def compute_worker_run_info_generator(
        self, scheduled_run_id: str
    ) -> Iterator[ComputeWorkerRunInfo]:
        """Yields the run info whenever it changes, until the run ends.

        Polls every ``run_info_poll_interval`` seconds (30 s, like the official client).

        Args:
            scheduled_run_id: Scheduled run id.

        Returns:
            An iterator of ``ComputeWorkerRunInfo``.
        """
        last: ComputeWorkerRunInfo | None = None
        while True:
            info = self.get_compute_worker_run_info(scheduled_run_id)
            if info != last:
                yield info
                last = info
            if info.in_end_state():
                return
            time.sleep(self.run_info_poll_interval)

    def get_compute_worker_run_tags(self, run_id: str) -> list[WireModel]:
        """Lists the tags a run created in the current dataset, newest first.

        Args:
            run_id: Run id.

        Returns:
            The tags (TagData) created by the run in the current dataset, newest first.
        """
        tags = self._http.get(encode_path("/v1/docker/runs/{}/tags", run_id), expect=list)
        return [wire(t) for t in tags if t.get("datasetId") == self.dataset_id]
