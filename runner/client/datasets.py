"""Dataset operations of ApiWorkflowClient."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from typing import Any, Literal

from runner.client._base import _ClientBase
from runner.client._http import encode_path
from runner.client.errors import NotFound
from runner.client.models import WireModel, to_wire, wire

_PAGE = 5000
#: DatasetData.name pattern (MODELS.md ``DSNAME``): at least 3 characters.
DATASET_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9 _-]+$")
DatasetTypeName = Literal["Images", "Videos", "Crops"]


def _check_name(dataset_name: str) -> None:
    if not isinstance(dataset_name, str):
        raise ValueError(f"dataset_name must be text, not {type(dataset_name).__name__}")
    if not DATASET_NAME.match(dataset_name) or len(dataset_name) < 3:
        raise ValueError(
            f"Invalid dataset name {dataset_name!r}: use at least 3 characters: ASCII letters, "
            "digits, spaces, '_' or '-', starting with a letter or digit."
        )


class _DatasetsMixin(_ClientBase):
    """Datasets: create, find, list, delete."""

    def dataset_exists(self, dataset_id: str) -> bool:
        """Checks whether a dataset exists (and is accessible).

        Args:
            dataset_id: Dataset id.

        Returns:
            True if the dataset exists, False if the server answers 404.

        Raises:
            ApiError: For any other error status.
        """
        try:
            self.get_dataset_by_id(dataset_id)
        except NotFound:
            return False
        return True

    def get_dataset_by_id(self, dataset_id: str) -> WireModel:
        """Fetches a dataset by its id.

        Args:
            dataset_id: Dataset id.

        Returns:
            The dataset (DatasetData).

        Raises:
            NotFound: If the dataset does not exist.
        """
        result: WireModel = wire(
            self._http.get(encode_path("/v1/datasets/{}", dataset_id), expect=dict)
        )
        return result

    def get_datasets_by_name(
        self, dataset_name: str, shared: bool | None = False
    ) -> list[WireModel]:
        """Fetches datasets by exact name.

        Args:
            dataset_name: Name of the dataset.
            shared: False: only the user's own datasets; True: only datasets shared
                with the user (and their team's); None: both.

        Returns:
            The matching datasets (possibly empty).
        """
        path = encode_path("/v1/datasets/query/name/{}", dataset_name)
        queries: list[list[tuple[str, Any]]] = []
        if not shared or shared is None:
            queries.append([("shared", False), ("exact", True)])
        if shared or shared is None:
            queries.append([("shared", True), ("exact", True)])
            queries.append([("exact", True), ("getAssetsOfTeam", True)])
        found: dict[str, WireModel] = {}
        for params in queries:
            for dataset in self._http.get(path, params=params, expect=list):
                found.setdefault(dataset["id"], wire(dataset))
        return list(found.values())

    def dataset_name_exists(self, dataset_name: str, shared: bool | None = False) -> bool:
        """Checks whether a dataset with the given name exists.

        Args:
            dataset_name: Name of the dataset.
            shared: As in ``get_datasets_by_name``.

        Returns:
            True if at least one dataset has that name.
        """
        return len(self.get_datasets_by_name(dataset_name, shared=shared)) > 0

    def get_datasets_iter(self, shared: bool | None = False) -> Iterator[WireModel]:
        """Iterates over the user's datasets, page by page.

        Args:
            shared: False: own datasets; True: datasets shared with the user; None: both.

        Returns:
            An iterator of datasets (DatasetData), each once.
        """
        queries: list[dict[str, Any]] = []
        if not shared or shared is None:
            queries.append({"shared": False})
        if shared or shared is None:
            queries.append({"shared": True})
            queries.append({"getAssetsOfTeam": True})
        seen: set[str] = set()
        for params in queries:
            for dataset in self._http.paginate("/v1/datasets", params=params, page_size=_PAGE):
                if dataset["id"] not in seen:
                    seen.add(dataset["id"])
                    yield wire(dataset)

    def get_datasets(self, shared: bool | None = False) -> list[WireModel]:
        """Lists the user's datasets.

        Args:
            shared: False: own datasets; True: datasets shared with the user; None: both.

        Returns:
            The datasets (DatasetData).
        """
        return list(self.get_datasets_iter(shared=shared))

    def get_all_datasets(self) -> list[WireModel]:
        """Lists own and shared datasets (deprecated: use ``get_datasets(shared=None)``).

        Returns:
            The datasets (DatasetData).
        """
        warnings.warn(
            "get_all_datasets() is deprecated, use get_datasets(shared=None)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_datasets(shared=None)

    def set_dataset_id_by_name(self, dataset_name: str, shared: bool | None = False) -> None:
        """Makes the dataset with the given name the current dataset.

        Args:
            dataset_name: Name of the dataset.
            shared: As in ``get_datasets_by_name``.

        Raises:
            ValueError: If no dataset has that name.
        """
        datasets = self.get_datasets_by_name(dataset_name, shared=shared)
        if not datasets:
            raise ValueError(
                f"A dataset with the name '{dataset_name}' does not exist on the "
                "Lightly Platform. Please create it first."
            )
        if len(datasets) > 1:
            warnings.warn(
                f"Found {len(datasets)} datasets named '{dataset_name}'; using {datasets[0]['id']}.",
                stacklevel=2,
            )
        self._dataset_id = str(datasets[0]["id"])

    def create_dataset(self, dataset_name: str, dataset_type: DatasetTypeName = "Images") -> None:
        """Creates a dataset and makes it the current dataset.

        All further requests of the client use the new dataset.

        Args:
            dataset_name: Name of the new dataset.
            dataset_type: ``Images`` or ``Videos`` (``Crops`` for crop datasets).

        Raises:
            ValueError: If a dataset with that name already exists or the name is invalid.
        """
        _check_name(dataset_name)
        if self.dataset_name_exists(dataset_name):
            raise ValueError(
                f"A dataset with the name '{dataset_name}' already exists! Please use "
                "another name or set_dataset_id_by_name() to use the existing one."
            )
        self._create_dataset_without_check(dataset_name, dataset_type)

    def _create_dataset_without_check(self, dataset_name: str, dataset_type: str) -> None:
        body = {"name": dataset_name, "type": to_wire(dataset_type), "creator": self._creator}
        created = self._http.post("/v1/datasets", json=body, expect=dict)
        self._dataset_id = str(created["id"])

    def create_new_dataset_with_unique_name(
        self, dataset_basename: str, dataset_type: DatasetTypeName = "Images"
    ) -> None:
        """Creates a dataset named ``dataset_basename``, or ``<basename>_<n>`` if taken.

        The new dataset becomes the current dataset.

        Args:
            dataset_basename: Preferred name.
            dataset_type: ``Images`` or ``Videos`` (``Crops`` for crop datasets).

        Raises:
            ValueError: If the name is invalid.
        """
        _check_name(dataset_basename)
        if not self.dataset_name_exists(dataset_basename):
            self._create_dataset_without_check(dataset_basename, dataset_type)
            return
        path = encode_path("/v1/datasets/query/name/{}", dataset_basename)
        taken = {
            d["name"]
            for d in self._http.get(path, params=[("shared", False), ("exact", False)], expect=list)
        }
        n = 1
        while f"{dataset_basename}_{n}" in taken:
            n += 1
        self._create_dataset_without_check(f"{dataset_basename}_{n}", dataset_type)

    def delete_dataset_by_id(self, dataset_id: str) -> None:
        """Deletes a dataset; the client then has no current dataset.

        Args:
            dataset_id: Id of the dataset to delete.
        """
        self._http.delete(encode_path("/v1/datasets/{}", dataset_id))
        self._dataset_id = None
