"""Exporting the samples of a tag to labeling tools."""

from __future__ import annotations

import warnings
from typing import Any

from runner.client._base import _ClientBase

_PAGE = 20000


class _ExportMixin(_ClientBase):
    """Exports of tags: Label Studio, Labelbox, file names and read URLs."""

    def _export_rows(self, tag_id: str, kind: str) -> list[dict[str, Any]]:
        path = self._dataset_path("/tags/{}/export/" + kind, tag_id)
        return [dict(row) for row in self._http.paginate(path, page_size=_PAGE)]

    def _filenames_text(self, tag_id: str, file_name_format: str | None = None) -> str:
        params = {"fileNameFormat": file_name_format} if file_name_format else None
        text = self._http.get(
            self._dataset_path("/tags/{}/export/basic/filenames", tag_id), params=params
        )
        return "" if text is None else str(text)

    def _tag_id(self, tag_name: str) -> str:
        return str(self.get_tag_by_name(tag_name)["id"])  # type: ignore[attr-defined]

    def export_label_studio_tasks_by_tag_id(self, tag_id: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag as Label Studio tasks.

        Args:
            tag_id: Tag id.

        Returns:
            Tasks ``{"id", "data": {"image", "lightlyFileName", …}}`` in sample order.
        """
        return self._export_rows(tag_id, "LabelStudio/tasks")

    def export_label_studio_tasks_by_tag_name(self, tag_name: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag (by name) as Label Studio tasks.

        Args:
            tag_name: Tag name.

        Returns:
            Tasks ``{"id", "data": {"image", "lightlyFileName", …}}`` in sample order.

        Raises:
            TagDoesNotExistError: If the tag does not exist.
        """
        return self.export_label_studio_tasks_by_tag_id(self._tag_id(tag_name))

    def export_label_box_data_rows_by_tag_id(self, tag_id: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag as Labelbox (v3) data rows (deprecated: use v4).

        Args:
            tag_id: Tag id.

        Returns:
            Rows ``{"externalId", "imageUrl"}`` in sample order.
        """
        warnings.warn(
            "Labelbox v3 exports are deprecated; use export_label_box_v4_data_rows_by_tag_id",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._export_rows(tag_id, "LabelBox/datarows")

    def export_label_box_data_rows_by_tag_name(self, tag_name: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag (by name) as Labelbox (v3) data rows (deprecated).

        Args:
            tag_name: Tag name.

        Returns:
            Rows ``{"externalId", "imageUrl"}`` in sample order.

        Raises:
            TagDoesNotExistError: If the tag does not exist.
        """
        warnings.warn(
            "Labelbox v3 exports are deprecated; use export_label_box_v4_data_rows_by_tag_name",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._export_rows(self._tag_id(tag_name), "LabelBox/datarows")

    def export_label_box_v4_data_rows_by_tag_id(self, tag_id: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag as Labelbox v4 data rows.

        Args:
            tag_id: Tag id.

        Returns:
            Rows ``{"row_data", "global_key", "media_type"}`` in sample order.
        """
        return self._export_rows(tag_id, "LabelBoxV4/datarows")

    def export_label_box_v4_data_rows_by_tag_name(self, tag_name: str) -> list[dict[str, Any]]:
        """Exports the samples of a tag (by name) as Labelbox v4 data rows.

        Args:
            tag_name: Tag name.

        Returns:
            Rows ``{"row_data", "global_key", "media_type"}`` in sample order.

        Raises:
            TagDoesNotExistError: If the tag does not exist.
        """
        return self.export_label_box_v4_data_rows_by_tag_id(self._tag_id(tag_name))

    def export_filenames_by_tag_id(self, tag_id: str) -> str:
        """Exports the file names of the samples of a tag.

        Args:
            tag_id: Tag id.

        Returns:
            The file names, one per line.
        """
        return self._filenames_text(tag_id)

    def export_filenames_by_tag_name(self, tag_name: str) -> str:
        """Exports the file names of the samples of a tag (by name).

        Args:
            tag_name: Tag name.

        Returns:
            The file names, one per line.

        Raises:
            TagDoesNotExistError: If the tag does not exist.
        """
        return self.export_filenames_by_tag_id(self._tag_id(tag_name))

    def export_filenames_and_read_urls_by_tag_id(self, tag_id: str) -> list[dict[str, str]]:
        """Exports file names, read URLs and datasource URLs of the samples of a tag.

        Args:
            tag_id: Tag id.

        Returns:
            Rows ``{"fileName", "readUrl", "datasourceUrl"}`` in sample order.

        Raises:
            RuntimeError: If the three exports have different numbers of lines.
        """
        formats = ("NAME", "REDIRECTED_READ_URL", "DATASOURCE_FULL")
        texts = [self._filenames_text(tag_id, fmt) for fmt in formats]
        if texts[0] == "":
            return []  # an empty tag (the official client returns one row of empty strings)
        names, urls, fulls = (text.split("\n") for text in texts)
        if not len(names) == len(urls) == len(fulls):
            raise RuntimeError(
                f"The server's exports of tag {tag_id} do not line up: {len(names)} file names, "
                f"{len(urls)} read URLs, {len(fulls)} datasource URLs."
            )
        return [
            {"fileName": name, "readUrl": url, "datasourceUrl": full}
            for name, url, full in zip(names, urls, fulls, strict=True)
        ]

    def export_filenames_and_read_urls_by_tag_name(self, tag_name: str) -> list[dict[str, str]]:
        """Exports file names, read URLs and datasource URLs of the samples of a tag (by name).

        Args:
            tag_name: Tag name.

        Returns:
            Rows ``{"fileName", "readUrl", "datasourceUrl"}`` in sample order.

        Raises:
            TagDoesNotExistError: If the tag does not exist.
        """
        return self.export_filenames_and_read_urls_by_tag_id(self._tag_id(tag_name))
