"""Downloading the images of a tag (CONTRACT §8.2)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from runner.client import bitmask
from runner.client._args import worker_count
from runner.client._base import _ClientBase, on_one_dataset
from runner.client._parallel import for_each_parallel
from runner.client._paths import safe_join


class _DownloadMixin(_ClientBase):
    """Downloads of full images."""

    @on_one_dataset
    def download_dataset(
        self,
        output_dir: str,
        tag_name: str = "initial-tag",
        max_workers: int = 8,
        verbose: bool = True,
    ) -> None:
        """Downloads the images of a tag of the current dataset to ``output_dir``.

        Each image is written to ``output_dir/<file name>`` (folders created), via a
        temporary file renamed into place once complete. Images that fail are
        reported as warnings.

        Args:
            output_dir: Where to store the images.
            tag_name: Name of the tag whose images are downloaded.
            max_workers: Maximum number of images downloaded in parallel.
            verbose: Show a progress bar.

        Raises:
            ValueError: If the dataset has no full images, the tag does not exist,
                ``output_dir`` is a file, or a file name from the server would be
                written outside ``output_dir``.
            RuntimeError: If no image could be downloaded (some failing: warnings).
        """
        workers = worker_count(max_workers)
        if not isinstance(output_dir, (str, os.PathLike)):
            raise ValueError(f"output_dir must be a folder path, not {type(output_dir).__name__}")
        if Path(output_dir).exists() and not Path(output_dir).is_dir():
            raise ValueError(f"output_dir {output_dir} is a file, not a folder")
        dataset = self._get_dataset_data()
        if dataset.get("imgType") != "full":
            how = {
                "thumbnail": "Its images were uploaded as thumbnails only",
                "meta": "Its images were uploaded as metadata only",
            }.get(str(dataset.get("imgType")), "It has no uploaded images")
            raise ValueError(
                f"Dataset with id {dataset['id']} has no downloadable images! {how}; only "
                "upload_dataset(mode='full') keeps the originals."
            )
        tags = self._http.get(self._dataset_path("/tags"), expect=list)
        tag = next((t for t in tags if t["name"] == tag_name), None)
        if tag is None:
            raise ValueError(f"Dataset with id {dataset['id']} has no tag {tag_name}!")
        mappings = self._dataset_path("/mappings")
        sample_ids = self._http.get(mappings, params={"field": "_id"}, expect=list)
        filenames = self._http.get(mappings, params={"field": "fileName"}, expect=list)
        positions = bitmask.positions_from_hex(tag["bitMaskData"]).tolist()
        if positions and positions[-1] >= min(len(sample_ids), len(filenames)):
            raise ValueError(f"Tag {tag_name} refers to more samples than the dataset has.")
        for i in positions:  # every target is checked before anything is written
            safe_join(output_dir, filenames[i])
        # made again as they are downloaded: a list of a million paths would hold ~300 MB
        jobs = ((sample_ids[i], safe_join(output_dir, filenames[i])) for i in positions)
        self._download_all(jobs, len(positions), workers, show=verbose)

    def _download_all(
        self, jobs: Iterable[tuple[str, Path]], count: int, max_workers: int, *, show: bool
    ) -> None:
        failures: list[tuple[Path, BaseException]] = []

        def download(job: tuple[str, Path]) -> None:
            try:
                self._download_image(*job)
            except Exception as error:  # per-image failures become warnings
                failures.append((job[1], error))

        bar = self._progress_bar(count, "download", "img", shown=show)
        with bar:
            for_each_parallel(download, jobs, max_workers=max_workers, done=lambda: bar.update(1))
        failures.sort(key=lambda f: str(f[0]))
        if failures and len(failures) == count:  # nothing at all: not a partial success
            target, error = failures[0]
            raise RuntimeError(
                f"None of the {count} images could be downloaded; e.g. {target}: {error}"
            ) from error
        for target, error in failures:
            warnings.warn(f"Download of image {target} failed with error {error}", stacklevel=3)

    def _download_image(self, sample_id: str, target: Path) -> None:
        url = self._http.get(
            self._dataset_path("/samples/{}/readurl", sample_id), params={"type": "full"}
        )
        partial = target.with_name(f".{target.name}.download")
        self._http.download(str(url), partial)
        try:
            with Image.open(partial) as image:
                image.verify()  # only decodable images are kept, as the official client
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
