"""Raw listings of a dataset's datasource: files, predictions and metadata, with read URLs.

Split from ``datasources.py`` as the official client splits
``api_workflow_datasource_listing``; ``_DatasourcesMixin`` builds on it.
"""

from __future__ import annotations

import numbers
import time
import warnings
from typing import Any

from runner.client._base import _ClientBase


class _DatasourceListingMixin(_ClientBase):
    """Cursor-paginated listings of the datasource and the processed-until mark."""

    def get_processed_until_timestamp(self) -> int:
        """Returns until when (Unix seconds) the datasource has been processed.

        Returns:
            The timestamp; 0 if never.
        """
        path = self._dataset_path("/datasource/processedUntilTimestamp")
        data = self._http.get(path, expect=dict)
        return int(data["processedUntilTimestamp"])

    def update_processed_until_timestamp(self, timestamp: int) -> None:
        """Sets until when (Unix seconds) the datasource has been processed.

        Args:
            timestamp: Unix seconds.
        """
        if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Integral):
            raise ValueError(
                f"timestamp must be whole Unix seconds (an int), not {type(timestamp).__name__}"
            )
        if timestamp < 0:
            raise ValueError(f"timestamp must be >= 0, not {timestamp}")
        body = {"processedUntilTimestamp": int(timestamp)}
        self._http.put(self._dataset_path("/datasource/processedUntilTimestamp"), json=body)

    def download_raw_samples(
        self,
        from_: int = 0,
        to: int | None = None,
        relevant_filenames_file_name: str | None = None,
        use_redirected_read_url: bool = False,
        progress_bar: Any = None,
    ) -> list[tuple[str, str]]:
        """Lists the files of the datasource modified within [from_, to], with read URLs.

        Args:
            from_: Unix seconds, inclusive.
            to: Unix seconds, inclusive; default now.
            relevant_filenames_file_name: Datasource file listing the names to include.
            use_redirected_read_url: Non-expiring redirect URLs instead of signed ones.
            progress_bar: Optional tqdm bar, advanced per page.

        Returns:
            ``(file name, read URL)`` pairs.
        """
        return self._listing(
            "/datasource/list",
            [],
            from_,
            to,
            relevant_filenames_file_name,
            use_redirected_read_url,
            progress_bar,
        )

    def download_raw_predictions(
        self,
        task_name: str,
        from_: int = 0,
        to: int | None = None,
        relevant_filenames_file_name: str | None = None,
        run_id: str | None = None,
        relevant_filenames_artifact_id: str | None = None,
        use_redirected_read_url: bool = False,
        progress_bar: Any = None,
    ) -> list[tuple[str, str]]:
        """Lists the prediction files of a task in the datasource, with read URLs.

        Args:
            task_name: Prediction task.
            from_: Unix seconds, inclusive.
            to: Unix seconds, inclusive; default now.
            relevant_filenames_file_name: Datasource file listing the names to include.
            run_id: Run whose relevant-filenames artifact restricts the listing.
            relevant_filenames_artifact_id: That artifact (with ``run_id``).
            use_redirected_read_url: Non-expiring redirect URLs instead of signed ones.
            progress_bar: Optional tqdm bar.

        Returns:
            ``(file name, read URL)`` pairs.

        Raises:
            ValueError: If only one of ``run_id`` and ``relevant_filenames_artifact_id`` is given.
        """
        extra = _run_filter(run_id, relevant_filenames_artifact_id)
        return self._listing(
            "/datasource/predictions/list",
            [("taskName", task_name), *extra],
            from_,
            to,
            relevant_filenames_file_name,
            use_redirected_read_url,
            progress_bar,
            leading=True,
        )

    def download_raw_metadata(
        self,
        from_: int = 0,
        to: int | None = None,
        run_id: str | None = None,
        relevant_filenames_artifact_id: str | None = None,
        relevant_filenames_file_name: str | None = None,
        use_redirected_read_url: bool = False,
        progress_bar: Any = None,
    ) -> list[tuple[str, str]]:
        """Lists the metadata files of the datasource, with read URLs.

        Args:
            from_: Unix seconds, inclusive.
            to: Unix seconds, inclusive; default now.
            run_id: Run whose relevant-filenames artifact restricts the listing.
            relevant_filenames_artifact_id: That artifact (with ``run_id``).
            relevant_filenames_file_name: Datasource file listing the names to include.
            use_redirected_read_url: Non-expiring redirect URLs instead of signed ones.
            progress_bar: Optional tqdm bar.

        Returns:
            ``(file name, read URL)`` pairs.

        Raises:
            ValueError: If only one of ``run_id`` and ``relevant_filenames_artifact_id`` is given.
        """
        extra = _run_filter(run_id, relevant_filenames_artifact_id)
        return self._listing(
            "/datasource/metadata/list",
            extra,
            from_,
            to,
            relevant_filenames_file_name,
            use_redirected_read_url,
            progress_bar,
        )

    def download_new_raw_samples(
        self, use_redirected_read_url: bool = False
    ) -> list[tuple[str, str]]:
        """Lists the files added since the last call, and records the new high-water mark.

        Args:
            use_redirected_read_url: Non-expiring redirect URLs instead of signed ones.

        Returns:
            ``(file name, read URL)`` pairs.
        """
        since = self.get_processed_until_timestamp()
        start = since + 1 if since else 0
        now = int(time.time())
        samples = self.download_raw_samples(start, now, None, use_redirected_read_url)
        self.update_processed_until_timestamp(now)
        return samples

    def _listing(
        self,
        suffix: str,
        fixed: list[tuple[str, Any]],
        from_: int,
        to: int | None,
        relevant_file: str | None,
        redirected: bool,
        progress_bar: Any,
        *,
        leading: bool = False,
    ) -> list[tuple[str, str]]:
        path = self._dataset_path(suffix)
        relevant = [("relevantFilenamesFileName", relevant_file)] if relevant_file else []
        window = [("from", from_), ("to", int(time.time()) if to is None else to)]
        redirect = [("useRedirectedReadUrl", redirected)]
        head = fixed[:1] if leading else []
        tail = fixed[1:] if leading else fixed
        params = [*head, *window, *redirect, *relevant, *tail]
        rows: dict[str, str] = {}
        while True:
            page = self._http.get(path, params=params, expect=dict)
            for row in page.get("data", []):
                _keep(rows, row["fileName"], row["readUrl"])
            if progress_bar is not None:
                progress_bar.update(len(page.get("data", [])))
            if not page.get("hasMore"):
                return list(rows.items())
            params = [*head, ("cursor", page["cursor"]), *redirect, *relevant, *tail]


def _keep(rows: dict[str, str], name: str, url: str) -> None:
    if name.startswith(("/", "./", "../")):
        warnings.warn(f"Absolute or relative file name {name!r} skipped.", stacklevel=3)
    elif name in rows:
        warnings.warn(f"Duplicate file name {name!r} skipped.", stacklevel=3)
    else:
        rows[name] = url


def _run_filter(run_id: str | None, artifact_id: str | None) -> list[tuple[str, Any]]:
    if (run_id is None) != (artifact_id is None):
        raise ValueError("run_id and relevant_filenames_artifact_id must be given together")
    if run_id is None:
        return []
    return [("relevantFilenamesRunId", run_id), ("relevantFilenamesArtifactId", artifact_id)]
