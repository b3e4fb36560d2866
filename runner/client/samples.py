"""Samples: file names, signed-URL uploads and ``upload_dataset`` (CONTRACT §4, §8.1)."""

from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import requests

from runner.client._args import worker_count
from runner.client._base import _ClientBase, on_one_dataset
from runner.client._http import body_text
from runner.client._images import PreparedImage, list_image_files, prepare_image
from runner.client._parallel import for_each_parallel
from runner.client.cancel import OperationCancelled, raise_if_stopped, unstoppable
from runner.client.errors import ApiError, UnexpectedResponse, error_for_status
from runner.client.metadata import check_sendable, index_by_filename, verify_format

log = logging.getLogger(__name__)
UploadMode = Literal["thumbnails", "full", "metadata"]
_IMG_TYPE = {"thumbnails": "thumbnail", "full": "full", "metadata": "meta"}
_MAX_PATH = 255


@dataclass(frozen=True)
class _Upload:
    """What every per-image upload of one ``upload_dataset`` call shares."""

    files: Mapping[str, Path]
    mode: str
    custom: Mapping[str, Any]
    azure: bool
    #: set once the server has refused ``samples/withWriteUrls`` (404/405): from then
    #: on create samples and fetch their write URLs separately, as 1.4.10 does
    separate_write_urls: threading.Event = field(default_factory=threading.Event)
    #: images Pillow could not read (appended from the upload threads)
    corrupt: list[str] = field(default_factory=list)


class _SamplesMixin(_ClientBase):
    """Samples: file names and uploads."""

    def get_filenames(self) -> list[str]:
        """Downloads the file names of all samples of the current dataset, in sample order.

        This is an expensive operation for large datasets.

        Returns:
            The file names; position i is sample i (the bit i of tag bitmasks).
        """
        names: list[str] = self._http.get(
            self._dataset_path("/mappings"), params={"field": "fileName"}, expect=list
        )
        return names

    def upload_file_with_signed_url(
        self,
        file: IO[bytes] | bytes,
        signed_write_url: str,
        headers: dict[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> requests.Response:
        """Uploads a file to a signed write URL with a PUT request (no Lightly credentials).

        Args:
            file: The file object (or bytes) to upload.
            signed_write_url: The signed URL to upload the file to.
            headers: Extra headers for the request (e.g. for Azure).
            session: A requests session to send it with; default: the client's
                pooled session (with retries).

        Returns:
            The response of the PUT request.

        Raises:
            ApiError: If the storage answers with an error status.
        """
        all_headers = _upload_headers(signed_write_url, headers)
        if session is None:
            return self._http.put_signed(signed_write_url, file, headers=all_headers)
        response = session.put(signed_write_url, data=file, headers=all_headers)
        if not response.ok:
            label = signed_write_url.split("?", 1)[0]
            raise error_for_status(
                response.status_code, body_text(response), method="PUT", path=label
            )
        return response

    @on_one_dataset
    def upload_dataset(
        self,
        input: str | Any,
        max_workers: int = 8,
        mode: UploadMode = "thumbnails",
        custom_metadata: dict[str, Any] | None = None,
    ) -> None:
        """Uploads the images of a folder (or dataset object) to the current dataset.

        Files already in the dataset are skipped. Each image gets its metadata and
        EXIF, and by ``mode`` a WebP thumbnail (``thumbnails``), thumbnail and
        original (``full``), or nothing else (``metadata``). Failed images are
        reported as warnings.

        Args:
            input: A folder of images (file names are relative to it), or a dataset
                object (a ``LightlyDataset``) with ``get_filenames()`` and
                ``get_filepath_from_filename(filename, image)``, and ``(image, label,
                filename)`` at each index.
            max_workers: Maximum number of images uploaded in parallel.
            mode: One of ``thumbnails``, ``full``, ``metadata``.
            custom_metadata: COCO-style custom metadata (see ``upload_custom_metadata``).

        Raises:
            ValueError: If the input has no images or the wrong type, the mode is
                unknown, the dataset would exceed the quota, or ``custom_metadata``'s
                entries lack the keys that join them to the images.
            KeyError: If ``custom_metadata`` lacks ``images`` or ``metadata``.
            RuntimeError: If no image could be uploaded, or the connection to the server
                failed (``TransportError``).
        """
        if mode not in _IMG_TYPE:
            raise ValueError(f"mode must be one of {sorted(_IMG_TYPE)}, not {mode!r}")
        workers = worker_count(max_workers)
        files = _local_files(input)
        custom: dict[str, Any] = {}
        if custom_metadata is not None:  # checked before any request
            verify_format(custom_metadata)
            custom = index_by_filename(custom_metadata)
            check_sendable(custom_metadata)
        tags = self._http.get(self._dataset_path("/tags"), expect=list)
        todo, job = self._new_files(files)
        plan = _Upload(files, mode, custom, self._datasource_type() == "AZURE")
        self._http.put(self._dataset_path("/registerDatasetUpload"), json=job)
        failures = self._upload_all(todo, plan, workers)
        _report_corrupt(sorted(plan.corrupt), len(todo))
        _report_failures(todo, failures)
        if not tags:
            body = {"imgType": _IMG_TYPE[mode], "creator": self._creator}
            self._http.post(self._dataset_path("/tags/initial"), json=body)
        elif todo or _tags_fall_short(tags, job["processed"]):
            name = time.strftime("%Y%m%d_%Hh%Mm%Ss")
            body = {"upsizeTagName": name, "upsizeTagCreator": self._creator}
            self._http.post(self._dataset_path("/tags/upsize"), json=body)

    def _new_files(self, files: Mapping[str, Path]) -> tuple[list[str], dict[str, Any]]:
        """The files not yet on the server, and the upload job (JobStatusMeta) to register.

        Raises:
            ValueError: If the dataset would exceed the quota.
        """
        partial = self._http.get(
            self._dataset_path("/samples/partial"),
            params={"mode": "fileNames"},
            retry=True,
            expect=list,
        )
        on_server = {sample["fileName"] for sample in partial}
        total = len(on_server | files.keys())
        quota = int(self._http.get("/v1/quota"))
        if total > quota:
            raise ValueError(
                f"The dataset would have {total} samples, more than your quota of {quota}."
            )
        todo = [name for name in files if name not in on_server]
        job = {"total": total, "processed": len(on_server), "uploadMethod": "USER_PIP"}
        return todo, {**job, "isRegistered": True}

    def _datasource_type(self) -> str:
        try:
            datasource = self._http.get(self._dataset_path("/datasource"))
        except ApiError:
            return "LIGHTLY"
        return str((datasource or {}).get("type", "LIGHTLY"))

    def _upload_all(
        self, todo: list[str], plan: _Upload, max_workers: int
    ) -> dict[str, BaseException]:
        """Upload ``todo`` in parallel; file name → error of each failed image."""
        failures: dict[str, BaseException] = {}

        def upload(name: str) -> None:
            try:
                self._upload_one(name, plan)
            except Exception as error:  # per-image failures become warnings
                failures[name] = error

        bar = self._progress_bar(len(todo), "upload", "img")
        with bar:
            for_each_parallel(upload, todo, max_workers=max_workers, done=lambda: bar.update(1))
        return failures

    def _upload_one(self, name: str, plan: _Upload) -> None:
        path = plan.files[name]
        if len(str(path)) > _MAX_PATH:
            raise ValueError(f"the file path is longer than {_MAX_PATH} characters: {path}")
        image = prepare_image(path, name, with_thumbnail=plan.mode != "metadata")
        if image.corrupt:
            plan.corrupt.append(name)
        blobs: dict[str, bytes] = {}  # write-URL kind → bytes
        if image.thumbnail is not None and plan.mode in ("thumbnails", "full"):
            blobs["thumb"] = image.thumbnail
        if plan.mode == "full":
            blobs["full"] = path.read_bytes()
        body = _sample_body(image, plan.custom.get(name))
        if not blobs:
            self._create_sample("/samples", body)
            return
        raise_if_stopped()
        with unstoppable():  # a cancel must not leave a new sample without its images
            try:
                sample_id, urls = self._create_sample_for_blobs(body, list(blobs), plan)
                self._store_blobs(name, sample_id, urls, blobs, plan)
            except OperationCancelled:  # it ended a retry's wait: the sample may be half made
                log.warning(
                    "the upload was cancelled while %s was stored: the sample may exist "
                    "without its images, and uploading again skips files already there",
                    name,
                )
                raise

    def _store_blobs(
        self,
        name: str,
        sample_id: str,
        urls: Mapping[str, str],
        blobs: Mapping[str, bytes],
        plan: _Upload,
    ) -> None:
        """PUT each blob to its write URL (once more, freshly signed, if refused)."""
        for kind, url in urls.items():
            try:
                self._put_blob(blobs[kind], url, plan.azure)
            except ApiError:
                # the storage refused this URL (an expired signature, say), and a file
                # already on the server is never uploaded again: once more, freshly signed
                try:
                    fresh = self._write_urls(sample_id, [kind])[kind]
                    self._put_blob(blobs[kind], fresh, plan.azure)
                except Exception as error:
                    raise _without_image(name, kind, error) from error
            except Exception as error:  # the transport failed after its own retries
                raise _without_image(name, kind, error) from error

    def _create_sample_for_blobs(
        self, body: dict[str, Any], kinds: list[str], plan: _Upload
    ) -> tuple[str, dict[str, str]]:
        """Create the sample: its id, and the write URL of each blob kind (``thumb``, ``full``).

        One request (``samples/withWriteUrls``) where the server has it: a round trip
        per image fewer than 1.4.10's POST ``samples`` + GET ``writeurl(s)`` (§8.1).
        """
        if not plan.separate_write_urls.is_set():
            try:
                created = self._create_sample("/samples/withWriteUrls", body)
            except (ApiError, UnexpectedResponse) as error:
                # an older server, whose unknown-route page may be HTML; the dataset is
                # checked below, and a server that is no Lightly API fails there too
                if error.status not in (404, 405):
                    raise
                plan.separate_write_urls.set()
            else:
                urls = created.get("sampleWriteUrls")
                if urls is None:  # the sample existed: its answer was lost
                    return str(created["id"]), self._write_urls(str(created["id"]), kinds)
                return str(created["id"]), {kind: urls[kind] for kind in kinds}
        sample_id = str(self._create_sample("/samples", body)["id"])
        return sample_id, self._write_urls(sample_id, kinds)

    def _create_sample(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST the sample (retried); its answer, or ``{"id"}`` of the sample of that file
        name when a repeat of the POST is refused as the sample exists: an earlier attempt
        made it, its answer lost. Its images are still to be stored.
        """
        try:
            created: dict[str, Any] = self._http.post(
                self._dataset_path(route), json=body, retry=True, expect=dict
            )
            return created
        except ApiError as error:
            if error.status not in (400, 409) or error.attempt == 1:
                raise
            existing = self._http.get(
                self._dataset_path("/samples/partial"),
                params={"mode": "fileNames", "fileName": body["fileName"]},
                retry=True,
                expect=list,
            )
            match = [s for s in existing if s.get("fileName") == body["fileName"]]
            if len(match) != 1:
                raise
            log.info("sample %s existed already (an answer was lost): using it", body["fileName"])
            return {"id": match[0]["id"]}

    def _write_urls(self, sample_id: str, kinds: list[str]) -> dict[str, str]:
        """Freshly signed write URLs of a sample's blobs (GET ``writeurl(s)``, §8.1)."""
        if kinds == ["thumb"]:
            url = self._http.get(
                self._dataset_path("/samples/{}/writeurl", sample_id),
                params={"isThumbnail": True},
                retry=True,
            )
            return {"thumb": url}
        path = self._dataset_path("/samples/{}/writeurls", sample_id)
        urls = self._http.get(path, retry=True, expect=dict)
        return {kind: urls[kind] for kind in kinds}

    def _put_blob(self, data: bytes, url: str, azure: bool) -> None:
        self.upload_file_with_signed_url(data, url, headers=_azure_headers(data) if azure else None)


def _tags_fall_short(tags: list[dict[str, Any]], samples: int) -> bool:
    """Whether a tag spans fewer than the dataset's ``samples``: an earlier upload's
    upsize never happened (it failed, or the upload was cut short), and is due now."""
    return any(int(tag.get("totSize") or 0) < samples for tag in tags)


class SampleWithoutImage(RuntimeError):
    """A sample was created, but its thumbnail or image could not be stored."""


def _without_image(name: str, kind: str, error: BaseException) -> SampleWithoutImage:
    blob = "thumbnail" if kind == "thumb" else "image"
    return SampleWithoutImage(
        f"{error}; the sample {name} exists on the server without its {blob}, and uploading "
        "again skips files already there"
    )


def _sample_body(image: PreparedImage, custom: Any) -> dict[str, Any]:
    """The SampleCreateRequest of ``image`` (keys in the official client's order)."""
    body: dict[str, Any] = {"fileName": image.file_name}
    if image.thumb_name is not None:
        body["thumbName"] = image.thumb_name
    if image.exif is not None:
        body["exif"] = image.exif
    body["metaData"] = image.meta_data
    body["customMetaData"] = custom  # explicit null when the image has none
    return body


def _report_corrupt(names: list[str], total: int) -> None:
    if names:
        shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
        log.warning(
            "%d of %d images cannot be read as images (corrupt or truncated): uploaded "
            "with their file size only, no thumbnail or metadata: %s",
            len(names),
            total,
            shown,
        )


def _report_failures(todo: list[str], failures: Mapping[str, BaseException]) -> None:
    if not failures:
        return
    first = next(i for i, name in enumerate(todo) if name in failures)
    if len(failures) == len(todo):
        error = failures[todo[first]]
        raise RuntimeError(
            f"None of the {len(todo)} images could be uploaded; e.g. {todo[first]}: {error}"
        ) from error
    for name in todo:
        if name in failures:
            warnings.warn(
                f"Upload of image {name} failed with error {failures[name]}", stacklevel=3
            )
    warnings.warn(
        f"{len(failures)} of {len(todo)} images failed to upload; the first failed index "
        f"is {first} ({todo[first]}).",
        stacklevel=3,
    )


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
    looks_like_s3 = ".amazonaws.com/" in url and ".s3." in url
    if key and looks_like_s3 and "x-amz-server-side-encryption" not in result:
        if key.lower() == "true":
            result["x-amz-server-side-encryption"] = "AES256"
        else:
            result["x-amz-server-side-encryption"] = "aws:kms"
            result["x-amz-server-side-encryption-aws-kms-key-id"] = key
    return result


class _FolderFiles(Mapping[str, Path]):
    """File name → path under ``folder``, the paths made when asked: a dict of a
    million ``Path`` objects would hold about 300 MB for the whole upload."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        self._folder = folder
        self._names = dict.fromkeys(names)  # ordered, and membership in O(1)

    def __getitem__(self, name: str) -> Path:
        if name not in self._names:
            raise KeyError(name)
        return self._folder / name

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _local_files(source: str | Any) -> Mapping[str, Path]:
    """File name → path of the images to upload, in upload order."""
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"input must be a folder of images; {str(folder)!r} is not a folder")
        files = _FolderFiles(folder, list_image_files(folder))
        if not files:
            raise ValueError(f"input folder {str(folder)!r} contains no image files")
        return files
    if not (hasattr(source, "get_filenames") and hasattr(source, "get_filepath_from_filename")):
        raise ValueError(
            "input must be a folder path or a dataset with get_filenames() and "
            f"get_filepath_from_filename(); got {type(source).__name__}"
        )
    return _DatasetFiles(source)


class _DatasetFiles(Mapping[str, Path]):
    """File name → path of a dataset object's images (a ``LightlyDataset``), each path
    asked for when the image is uploaded.

    An image with a file of its own is read from it. One without (a video frame) is
    taken from ``dataset[i]``, ``(image, label, filename)``, and passed to
    ``get_filepath_from_filename(filename, image)``, which writes it, as 1.4.10 does.
    """

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset
        self._indices = {str(name): i for i, name in enumerate(dataset.get_filenames())}

    def __getitem__(self, name: str) -> Path:
        index = self._indices[name]
        try:
            path = Path(self._dataset.get_filepath_from_filename(name))
        except (TypeError, ValueError):  # it needs the image: no file of its own
            if not hasattr(self._dataset, "__getitem__"):
                raise
        else:
            if path.is_file() or not hasattr(self._dataset, "__getitem__"):
                return path
        item = self._dataset[index]
        if not (isinstance(item, tuple) and len(item) == 3):
            raise ValueError(
                f"dataset[{index}] must be (image, label, filename), as a LightlyDataset's "
                f"items are, not {type(item).__name__}"
            )
        image, _label, filename = item
        return Path(self._dataset.get_filepath_from_filename(filename, image))

    def __iter__(self) -> Iterator[str]:
        return iter(self._indices)

    def __len__(self) -> int:
        return len(self._indices)
