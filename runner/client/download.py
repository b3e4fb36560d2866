"""Downloading the images of a dataset."""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from runner.client import bitmask
from runner.client._base import _ClientBase
from runner.client._paths import safe_join
from runner.client.errors import LightlyClientError


class _DownloadMixin(_ClientBase):
    """Dataset downloads."""

    def download_dataset(
        self,
        output_dir: str,
        tag_name: str = "initial-tag",
        max_workers: int = 8,
        verbose: bool = True,
    ) -> None:
        """Downloads the full images of a tag into a folder.

        Args:
            output_dir: Folder to write the images to (by their file names).
            tag_name: Tag whose samples are downloaded.
            max_workers: Downloads in parallel.
            verbose: Warn about images that could not be downloaded.

        Raises:
            ValueError: If the dataset has no full images, the tag does not exist, or a
                file name would write outside ``output_dir``.
        """
        dataset = self._get_dataset_data()
        if dataset.get("imgType") != "full":
            raise ValueError(f"Dataset with id {self.dataset_id} has no downloadable images!")
        tags = self._http.get(self._dataset_path("/tags"))
        tag = next((t for t in tags if t["name"] == tag_name), None)
        if tag is None:
            raise ValueError(f"Dataset with id {self.dataset_id} has no tag {tag_name}!")
        ids = self._http.get(self._dataset_path("/mappings"), params={"field": "_id"})
        names = self._http.get(self._dataset_path("/mappings"), params={"field": "fileName"})
        positions = bitmask.positions_from_hex(tag["bitMaskData"]).tolist()
        targets = [(ids[i], safe_join(output_dir, names[i])) for i in positions]

        def fetch(item: tuple[str, Path]) -> str | None:
            sample_id, target = item
            try:
                url = self._http.get(
                    self._dataset_path("/samples/{}/readurl", sample_id), params={"type": "full"}
                )
                with Image.open(io.BytesIO(self._http.get_signed(str(url)))) as image:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.with_name(f".{target.name}.part")
                    image.save(tmp, format=image.format)
                    tmp.replace(target)
            except (OSError, LightlyClientError) as error:
                return f"Downloading of image {target.name} failed with error {error}"
            return None

        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            for problem in pool.map(fetch, targets):
                if problem and verbose:
                    warnings.warn(problem, stacklevel=2)
