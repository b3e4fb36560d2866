"""Custom metadata of samples (COCO-style input) and metadata configurations."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from runner.client._args import mapping, worker_count
from runner.client._base import _ClientBase, on_one_dataset
from runner.client._http import json_problem
from runner.client._parallel import for_each_parallel
from runner.client.models import WireModel, to_camel, to_wire, wire


class InvalidCustomMetadataWarning(Warning):
    """A metadata entry refers to an unknown image or file and was skipped."""


def verify_format(custom_metadata: Mapping[str, Any]) -> None:
    """Raise KeyError unless ``custom_metadata`` has ``images`` and ``metadata``."""
    for key in ("images", "metadata"):
        if key not in custom_metadata:
            raise KeyError(
                f"Key {key} is missing from the custom metadata (expected 'images' and 'metadata')."
            )


def check_entries(custom_metadata: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``images`` and ``metadata`` are lists of objects with the
    keys that join them (``id`` and ``file_name``; ``image_id``)."""
    for key, needed in (("images", ("id", "file_name")), ("metadata", ("image_id",))):
        entries = custom_metadata[key]
        if not isinstance(entries, list):
            raise ValueError(
                f"custom metadata '{key}' must be a list of objects, not {type(entries).__name__}"
            )
        for index, entry in enumerate(entries):
            missing = [k for k in needed if not isinstance(entry, Mapping) or k not in entry]
            if missing:
                raise ValueError(
                    f"custom metadata {key}[{index}] has no '{missing[0]}' "
                    f"(each entry needs {' and '.join(repr(k) for k in needed)})"
                )
            joined = next((k for k in needed if not isinstance(entry[k], (str, int))), None)
            if joined is not None:
                raise ValueError(
                    f"custom metadata {key}[{index}]['{joined}'] must be a number or text, "
                    f"not {type(entry[joined]).__name__}"
                )


def check_sendable(custom_metadata: Mapping[str, Any]) -> None:
    """Raise ValueError if a metadata entry holds what JSON cannot carry (NaN, say):
    before any request, not after some entries were uploaded."""
    for index, entry in enumerate(custom_metadata["metadata"]):
        problem = json_problem(entry, f"custom metadata metadata[{index}]")
        if problem:
            raise ValueError(problem)


def index_by_filename(custom_metadata: Mapping[str, Any]) -> dict[str, dict[str, Any] | None]:
    """file_name → its metadata entry (or None), joined on images[].id == metadata[].image_id.

    Raises:
        ValueError: If ``images`` or ``metadata`` is not a list of objects with the
            keys the join needs (``id`` and ``file_name``; ``image_id``).
    """
    check_entries(custom_metadata)
    by_image_id = {entry["image_id"]: entry for entry in custom_metadata["metadata"]}
    return {image["file_name"]: by_image_id.get(image["id"]) for image in custom_metadata["images"]}


class _CustomMetadataMixin(_ClientBase):
    """Custom metadata."""

    def verify_custom_metadata_format(self, custom_metadata: dict[str, Any]) -> None:
        """Checks that custom metadata has the keys ``images`` and ``metadata``.

        Args:
            custom_metadata: COCO-style custom metadata.

        Raises:
            KeyError: If a key is missing.
        """
        verify_format(custom_metadata)

    def index_custom_metadata_by_filename(
        self, custom_metadata: dict[str, Any]
    ) -> dict[str, dict[str, Any] | None]:
        """Maps each file name to its custom metadata entry.

        Args:
            custom_metadata: COCO-style custom metadata.

        Returns:
            file name → metadata entry, or None for images without one.
        """
        return index_by_filename(custom_metadata)

    @on_one_dataset
    def upload_custom_metadata(
        self, custom_metadata: dict[str, Any], verbose: bool = False, max_workers: int = 8
    ) -> None:
        """Attaches custom metadata to the samples of the current dataset.

        Entries for unknown images or files are skipped with a warning.

        Args:
            custom_metadata: COCO-style ``{"images": [{"file_name", "id"}], "metadata": [{"image_id", ...}]}``.
            verbose: Show a progress bar.
            max_workers: Uploads in parallel.

        Raises:
            KeyError: If ``images`` or ``metadata`` is missing.
            ValueError: If they are not lists of objects with ``id`` and ``file_name``
                (images) and ``image_id`` (metadata).
        """
        workers = worker_count(max_workers)
        verify_format(custom_metadata)
        samples = self._http.get(
            self._dataset_path("/samples/partial"),
            params={"mode": "fileNames"},
            retry=True,
            expect=list,
        )
        updates = _updates({s["fileName"]: s["id"] for s in samples}, custom_metadata)

        def put(update: tuple[str, Any]) -> None:
            sample_id, entry = update
            path = self._dataset_path("/samples/{}", sample_id)
            self._http.put(path, json={"customMetaData": entry})

        bar = self._progress_bar(len(updates), "metadata", "sample", shown=verbose)
        with bar:
            for_each_parallel(put, updates, max_workers=workers, done=lambda: bar.update(1))

    def create_custom_metadata_config(self, name: str, configs: list[dict[str, Any]]) -> WireModel:
        """Creates a custom metadata configuration for the current dataset.

        Args:
            name: Name of the configuration.
            configs: Entries ``{"name", "path", "defaultValue", "valueDataType"}``
                (snake_case keys and ConfigurationEntry objects are accepted too).

        Returns:
            The create response ``{"id": ...}``.

        Raises:
            ValueError: If an entry of ``configs`` is not a mapping (before any request).
        """
        entries = [
            {to_camel(k): v for k, v in mapping(to_wire(entry), f"configs[{i}]").items()}
            for i, entry in enumerate(configs)
        ]
        body = {"name": name, "configs": entries}
        result: WireModel = wire(
            self._http.post(self._dataset_path("/configuration/metadata"), json=body)
        )
        return result


def _updates(
    sample_id_by_name: Mapping[str, str], custom_metadata: Mapping[str, Any]
) -> list[tuple[str, Any]]:
    """(sample id, metadata entry) pairs; entries of unknown images or files warned and skipped."""
    check_entries(custom_metadata)
    check_sendable(custom_metadata)
    name_by_image_id = {image["id"]: image["file_name"] for image in custom_metadata["images"]}
    updates: list[tuple[str, Any]] = []
    for entry in custom_metadata["metadata"]:
        name = name_by_image_id.get(entry.get("image_id"))
        if name is None or name not in sample_id_by_name:
            what = f"image id {entry.get('image_id')!r}" if name is None else f"file {name!r}"
            warnings.warn(
                f"Custom metadata for unknown {what} skipped.",
                InvalidCustomMetadataWarning,
                stacklevel=3,
            )
            continue
        updates.append((sample_id_by_name[name], entry))
    return updates
