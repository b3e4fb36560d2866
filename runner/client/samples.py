"""Uploading samples: ``upload_dataset`` and signed-URL uploads."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Literal

import requests
from tqdm import tqdm

from runner.client._base import _ClientBase
from runner.client._images import PreparedImage, list_image_files, prepare_image
from runner.client.errors import ApiError, LightlyClientError
from runner.client.metadata import index_by_filename, verify_format

UploadMode = Literal["thumbnails", "full", "metadata"]
_IMG_TYPE = {"thumbnails": "thumbnail", "full": "full", "metadata": "meta"}


def progress_enabled() -> bool:
    """Progress bars only on a terminal, and not when the runner draws its own."""
    return sys.stderr.isatty() and not os.environ.get("LIGHTLY_RUN_NO_PROGRESS")


class _SamplesMixin(_ClientBase):
    """Sample uploads."""

    def upload_file_with_signed_url(
        self,
        file: IO[bytes] | bytes,
        signed_write_url: str,
        headers: dict[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> requests.Response:
        """Uploads a file to a signed write URL (PUT, no Lightly credentials).

        Args:
            file: The file object (or bytes) to upload.
            signed_write_url: The signed URL.
            headers: Extra headers (e.g. for Azure or S3 encryption).
            session: Ignored: uploads reuse the client's pooled session.

        Returns:
            The HTTP response.
        """
        return self._http.put_signed(
            signed_write_url, file, headers=_upload_headers(signed_write_url, headers)
        )

    def upload_dataset(
        self,
        input: str | Any,
        max_workers: int = 8,
        mode: UploadMode = "thumbnails",
        custom_metadata: dict[str, Any] | None = None,
    ) -> None:
        """Uploads the images of a folder to the current dataset.

        Files already in the dataset are skipped. Each image gets its metadata
        (and EXIF) and, by ``mode``, a 128 px WebP thumbnail and the original file.

        Args:
            input: A folder of images, or a dataset object with ``get_filenames()``
                and ``get_filepath_from_filename(filename)``.
            max_workers: Uploads in parallel.
            mode: ``thumbnails``, ``full`` (thumbnail and original) or ``metadata``.
            custom_metadata: COCO-style custom metadata for the images (see
                ``upload_custom_metadata``).

        Raises:
            ValueError: If the folder does not exist, the mode is unknown or the
                dataset would exceed its quota.
            RuntimeError: If no image could be uploaded.
        """
        if mode not in _IMG_TYPE:
            raise ValueError(f"mode must be one of {sorted(_IMG_TYPE)}, not {mode!r}")
        local = _local_files(input)
        tags = self._http.get(self._dataset_path("/tags"))
        on_server = {
            s["fileName"]
            for s in self._http.get(
                self._dataset_path("/samples/partial"), params={"mode": "fileNames"}
            )
        }
        quota = int(self._http.get("/v1/quota"))
        total = len(on_server | set(local))
        if total > quota:
            raise ValueError(f"The dataset would have {total} samples; your quota is {quota}.")
        metadata_by_name: Mapping[str, Any] = {}
        if custom_metadata is not None:
            verify_format(custom_metadata)
            metadata_by_name = index_by_filename(custom_metadata)
        datasource_type = self._datasource_type()
        self._http.put(
            self._dataset_path("/registerDatasetUpload"),
            json={
                "total": total,
                "processed": len(on_server),
                "uploadMethod": "USER_PIP",
                "isRegistered": True,
            },
        )
        todo = [name for name in local if name not in on_server]
        failures = self._upload_all(
            todo, local, mode, metadata_by_name, datasource_type, max_workers
        )
        if todo and len(failures) == len(todo):
            raise RuntimeError(
                f"None of the {len(todo)} images could be uploaded; first error: {failures[0][1]}"
            )
        for name, error in failures:
            warnings.warn(f"Upload of image {name} failed with error {error}", stacklevel=2)
        if not tags:
            body = {"imgType": _IMG_TYPE[mode], "creator": self._creator}
            self._http.post(self._dataset_path("/tags/initial"), json=body)
        elif len(failures) < len(todo):
            name = time.strftime("%Y%m%d_%Hh%Mm%Ss")
            body = {"upsizeTagName": name, "upsizeTagCreator": self._creator}
            self._http.post(self._dataset_path("/tags/upsize"), json=body)

    def _datasource_type(self) -> str:
        try:
            return str(self._http.get(self._dataset_path("/datasource")).get("type", "LIGHTLY"))
        except ApiError:
            return "LIGHTLY"

    def _upload_all(
        self,
        todo: list[str],
        local: Mapping[str, Path],
        mode: str,
        metadata_by_name: Mapping[str, Any],
        datasource_type: str,
        max_workers: int,
    ) -> list[tuple[str, str]]:
        failures: list[tuple[str, str]] = []

        def upload(name: str) -> None:
            try:
                self._upload_one(
                    local[name], name, mode, metadata_by_name.get(name), datasource_type
                )
            except (OSError, LightlyClientError, ValueError) as error:
                failures.append((name, str(error)))

        with (
            ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool,
            tqdm(total=len(todo), unit="img", desc="upload", disable=not progress_enabled()) as bar,
        ):
            for _ in pool.map(upload, todo):
                bar.update(1)
        return failures

    def _upload_one(
        self, path: Path, name: str, mode: str, custom: Any, datasource_type: str
    ) -> None:
        if len(str(path)) > 255:
            raise ValueError(f"file path longer than 255 characters: {path}")
        image = prepare_image(path, name, with_thumbnail=mode != "metadata")
        sample_id = self._create_sample(image, custom)
        headers = _azure_headers if datasource_type == "AZURE" else None
        if mode == "thumbnails" and image.thumbnail is not None:
            url = self._http.get(
                self._dataset_path("/samples/{}/writeurl", sample_id), params={"isThumbnail": True}
            )
            self.upload_file_with_signed_url(
                image.thumbnail, url, headers=headers and headers(image.thumbnail)
            )
        elif mode == "full":
            urls = self._http.get(self._dataset_path("/samples/{}/writeurls", sample_id))
            if image.thumbnail is not None:
                self.upload_file_with_signed_url(
                    image.thumbnail, urls["thumb"], headers=headers and headers(image.thumbnail)
                )
            data = path.read_bytes()
            self.upload_file_with_signed_url(data, urls["full"], headers=headers and headers(data))

    def _create_sample(self, image: PreparedImage, custom: Any) -> str:
        body: dict[str, Any] = {
            "fileName": image.file_name,
            "metaData": image.meta_data,
            "customMetaData": custom,
        }
        if image.thumb_name is not None and image.thumbnail is not None:
            body["thumbName"] = image.thumb_name
        if image.exif is not None:
            body["exif"] = image.exif
        created = self._http.post(self._dataset_path("/samples"), json=body, retry=True)
        return str(created["id"])


def _azure_headers(data: bytes) -> dict[str, str]:
    size = str(len(data))
    return {
        "x-ms-blob-type": "BlockBlob",
        "Accept": "*/*",
        "Content-Length": size,
        "x-ms-original-content-length": size,
        "Accept-Encoding": "*",
    }


def _upload_headers(url: str, headers: Mapping[str, str] | None) -> dict[str, str]:
    """Add S3 server-side-encryption headers when LIGHTLY_S3_SSE_KMS_KEY asks for them."""
    result = dict(headers or {})
    key = os.environ.get("LIGHTLY_S3_SSE_KMS_KEY", "").strip()
    looks_like_s3 = ".amazonaws.com" in url or "x-amz-" in url.lower()
    if key and looks_like_s3 and "x-amz-server-side-encryption" not in result:
        if key.lower() == "true":
            result["x-amz-server-side-encryption"] = "AES256"
        else:
            result["x-amz-server-side-encryption"] = "aws:kms"
            result["x-amz-server-side-encryption-aws-kms-key-id"] = key
    return result


def _local_files(source: str | Any) -> dict[str, Path]:
    """file name → path of the images to upload."""
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(
                f"input must be a folder of images; {str(folder)!r} is not a directory"
            )
        return {name: folder / name for name in list_image_files(folder)}
    return {name: Path(source.get_filepath_from_filename(name)) for name in source.get_filenames()}
