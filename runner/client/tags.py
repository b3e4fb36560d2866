"""Tag operations of ApiWorkflowClient."""

from __future__ import annotations

from typing import Any

from runner.client import bitmask
from runner.client._args import string_list
from runner.client._base import _ClientBase
from runner.client.errors import TagDoesNotExistError
from runner.client.models import WireModel, field, wire

INITIAL_TAG = "initial-tag"


class _TagsMixin(_ClientBase):
    """Tags of the current dataset."""

    def get_all_tags(self) -> list[WireModel]:
        """Fetches all tags of the current dataset.

        Returns:
            The tags (TagData).
        """
        return [wire(t) for t in self._http.get(self._dataset_path("/tags"), expect=list)]

    def get_tag_by_id(self, tag_id: str) -> WireModel:
        """Fetches a tag of the current dataset by id.

        Args:
            tag_id: Tag id.

        Returns:
            The tag (TagData).
        """
        result: WireModel = wire(
            self._http.get(self._dataset_path("/tags/{}", tag_id), expect=dict)
        )
        return result

    def get_tag_by_name(self, tag_name: str) -> WireModel:
        """Fetches a tag of the current dataset by name.

        Args:
            tag_name: Tag name.

        Returns:
            The tag (TagData).

        Raises:
            TagDoesNotExistError: If the dataset has no tag of that name.
        """
        tags = self._http.get(self._dataset_path("/tags"), expect=list)
        for tag in tags:
            if tag["name"] == tag_name:
                return self.get_tag_by_id(tag["id"])
        names = [str(tag["name"]) for tag in tags]
        known = (
            f"the dataset's tags: {', '.join(names[:10])}{', …' if len(names) > 10 else ''}"
            if names
            else "the dataset has no tags yet: its first upload creates 'initial-tag'"
        )
        raise TagDoesNotExistError(f"Your tag_name does not exist: {tag_name} ({known})")

    def get_filenames_in_tag(
        self,
        tag_data: Any,
        filenames_on_server: list[str] | None = None,
        exclude_parent_tag: bool = False,
    ) -> list[str]:
        """Lists the file names of the samples in a tag, in sample order.

        Args:
            tag_data: The tag (TagData, as returned by ``get_tag_by_name``).
            filenames_on_server: All file names of the dataset, if already known.
            exclude_parent_tag: Only the samples not in the tag's parent tag.

        Returns:
            The file names.

        Raises:
            ValueError: If ``tag_data`` is not a tag (a tag id, say), ``exclude_parent_tag``
                is set for a tag without a parent, or the tag refers to more samples than
                the dataset has.
        """
        mask = None if isinstance(tag_data, str) else field(tag_data, "bitMaskData")
        if not isinstance(mask, str):
            raise ValueError(
                "tag_data must be a tag (TagData) with its bitmask, e.g. from "
                f"get_tag_by_name(name), not {type(tag_data).__name__} {str(tag_data)[:60]!r}"
            )
        if exclude_parent_tag:
            if field(tag_data, "prevTagId") is None:
                raise ValueError(
                    f"exclude_parent_tag: tag {field(tag_data, 'name')!r} has no parent tag"
                )
            body = {
                "tagId1": field(tag_data, "id"),
                "tagId2": field(tag_data, "prevTagId"),
                "operation": "DIFFERENCE",
            }
            path = self._dataset_path("/tags/arithmetics/bitmask")
            mask = self._http.post(path, json=body, expect=dict)["bitMaskData"]
        filenames = filenames_on_server or self.get_filenames()  # type: ignore[attr-defined]
        return bitmask.filenames_in_mask(mask, filenames)

    def create_tag_from_filenames(
        self, fnames_new_tag: list[str], new_tag_name: str, parent_tag_id: str | None = None
    ) -> WireModel:
        """Creates a tag holding the samples with the given file names.

        Args:
            fnames_new_tag: File names of the samples to put in the tag.
            new_tag_name: Name of the new tag.
            parent_tag_id: Parent tag; defaults to the ``initial-tag``.

        Returns:
            The create response ``{"id": <new tag id>}``.

        Raises:
            RuntimeError: If the tag name is taken, the dataset has no tags, or a file
                name is not in the dataset.
            ValueError: If ``fnames_new_tag`` is not a list of strings (before any request).
        """
        wanted = set(string_list(fnames_new_tag, "fnames_new_tag"))
        tags = self._http.get(self._dataset_path("/tags"), expect=list)
        if any(t["name"] == new_tag_name for t in tags):
            raise RuntimeError(f"There already exists a tag with tag_name {new_tag_name}.")
        if not tags:
            raise RuntimeError("There exists no initial-tag for this dataset.")
        if parent_tag_id is None:
            initial = [t["id"] for t in tags if t["name"] == INITIAL_TAG]
            if not initial:
                raise RuntimeError("There exists no initial-tag for this dataset.")
            parent_tag_id = initial[0]
        filenames: list[str] = self.get_filenames()  # type: ignore[attr-defined]
        mask = _mask_of(wanted, filenames)
        body = {
            "name": new_tag_name,
            "prevTagId": parent_tag_id,
            "bitMaskData": mask,
            "totSize": len(filenames),
            "creator": self._creator,
        }
        result: WireModel = wire(
            self._http.post(self._dataset_path("/tags"), json=body, expect=dict)
        )
        return result

    def delete_tag_by_id(self, tag_id: str) -> None:
        """Deletes a tag of the current dataset (only leaf tags, not the initial tag).

        Args:
            tag_id: Tag id.
        """
        self._http.delete(self._dataset_path("/tags/{}", tag_id))

    def delete_tag_by_name(self, tag_name: str) -> None:
        """Deletes a tag of the current dataset by name.

        Args:
            tag_name: Tag name.

        Raises:
            TagDoesNotExistError: If the dataset has no tag of that name.
        """
        self.delete_tag_by_id(self.get_tag_by_name(tag_name)["id"])


def _mask_of(wanted: set[str], filenames: list[str]) -> str:
    """The bitmask of ``wanted`` among the dataset's ``filenames``.

    Raises:
        RuntimeError: If a wanted file name is not in the dataset.
    """
    mask, count = bitmask.mask_from_filenames(wanted, filenames)
    if count != len(wanted):
        missing = sorted(wanted - set(filenames))[:3]
        example = filenames[0] if filenames else "(the dataset has no samples)"
        raise RuntimeError(
            f"{len(wanted) - count} of the file names are not in the dataset, e.g. "
            f"{missing}. A valid file name looks like: {example!r}"
        )
    return mask
