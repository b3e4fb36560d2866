"""Datasource operations: where a dataset's files live, and raw listings of them."""

from __future__ import annotations

import time
import warnings
from typing import Any, Literal

from runner.client._base import _ClientBase
from runner.client.models import DEFAULT_THUMB_SUFFIX, WireModel, wire

Purpose = Literal["INPUT", "LIGHTLY", "INPUT_OUTPUT"]
S3_REGIONS = frozenset(
    [
        "us-east-2",
        "us-east-1",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-south-1",
        "ap-northeast-3",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ca-central-1",
        "cn-northwest-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-south-1",
        "eu-west-3",
        "eu-north-1",
        "eu-south-2",
        "eu-central-2",
        "me-south-1",
        "me-central-1",
        "sa-east-1",
        "us-gov-east",
        "us-gov-west",
    ]
)
_PURPOSES = ("INPUT", "LIGHTLY", "INPUT_OUTPUT")


def _check_purpose(purpose: str) -> None:
    if purpose not in _PURPOSES:
        raise ValueError(f"purpose must be one of {list(_PURPOSES)}, not {purpose!r}")


class _DatasourcesMixin(_ClientBase):
    """Datasources of the current dataset."""

    def _set_datasource(self, config: dict[str, Any], thumbnail_suffix: str | None) -> None:
        if thumbnail_suffix is not None:
            config["thumbSuffix"] = thumbnail_suffix
        self._http.put(self._dataset_path("/datasource"), json=config)

    def get_datasource(self) -> WireModel:
        """Returns the datasource of the current dataset (the one set last).

        Returns:
            The datasource config; its ``type`` says which variant.

        Raises:
            ApiError: If no datasource was configured.
        """
        result: WireModel = wire(self._http.get(self._dataset_path("/datasource")))
        return result

    def set_s3_config(
        self,
        resource_path: str,
        region: str,
        access_key: str,
        secret_access_key: str,
        thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX,
        purpose: Purpose = "INPUT_OUTPUT",
    ) -> None:
        """Sets an S3 bucket as datasource (access key credentials).

        Args:
            resource_path: ``s3://bucket/path/``.
            region: AWS region of the bucket, e.g. ``eu-central-1``.
            access_key: AWS access key id.
            secret_access_key: AWS secret access key.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
            purpose: ``INPUT``, ``LIGHTLY`` or ``INPUT_OUTPUT``.

        Raises:
            ValueError: For an unknown region or purpose.
        """
        if region not in S3_REGIONS:
            raise ValueError(f"region {region!r} is not an S3 region (e.g. 'eu-central-1')")
        _check_purpose(purpose)
        config = {
            "type": "S3",
            "fullPath": resource_path,
            "s3Region": region,
            "s3AccessKeyId": access_key,
            "s3SecretAccessKey": secret_access_key,
            "purpose": purpose,
        }
        self._set_datasource(config, thumbnail_suffix)

    def set_s3_delegated_access_config(
        self,
        resource_path: str,
        region: str,
        role_arn: str,
        external_id: str,
        thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX,
        purpose: Purpose = "INPUT_OUTPUT",
    ) -> None:
        """Sets an S3 bucket as datasource (delegated access through an IAM role).

        Args:
            resource_path: ``s3://bucket/path/``.
            region: AWS region of the bucket.
            role_arn: ARN of the role Lightly assumes.
            external_id: External id of the role's trust policy.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
            purpose: ``INPUT``, ``LIGHTLY`` or ``INPUT_OUTPUT``.

        Raises:
            ValueError: For an unknown region or purpose.
        """
        if region not in S3_REGIONS:
            raise ValueError(f"region {region!r} is not an S3 region (e.g. 'eu-central-1')")
        _check_purpose(purpose)
        config = {
            "type": "S3DelegatedAccess",
            "fullPath": resource_path,
            "s3Region": region,
            "s3ARN": role_arn,
            "s3ExternalId": external_id,
            "purpose": purpose,
        }
        self._set_datasource(config, thumbnail_suffix)

    def set_gcs_config(
        self,
        resource_path: str,
        project_id: str,
        credentials: str,
        thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX,
        purpose: Purpose = "INPUT_OUTPUT",
    ) -> None:
        """Sets a Google Cloud Storage bucket as datasource.

        Args:
            resource_path: ``gs://bucket/path/``.
            project_id: GCP project id.
            credentials: Service account key (JSON text).
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
            purpose: ``INPUT``, ``LIGHTLY`` or ``INPUT_OUTPUT``.
        """
        _check_purpose(purpose)
        config = {
            "type": "GCS",
            "fullPath": resource_path,
            "gcsProjectId": project_id,
            "gcsCredentials": credentials,
            "purpose": purpose,
        }
        self._set_datasource(config, thumbnail_suffix)

    def set_azure_config(
        self,
        container_name: str,
        account_name: str,
        sas_token: str,
        thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX,
        purpose: Purpose = "INPUT_OUTPUT",
    ) -> None:
        """Sets an Azure blob container as datasource.

        Args:
            container_name: ``container/path/``.
            account_name: Storage account name.
            sas_token: Shared access signature token.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
            purpose: ``INPUT``, ``LIGHTLY`` or ``INPUT_OUTPUT``.
        """
        _check_purpose(purpose)
        config = {
            "type": "AZURE",
            "fullPath": container_name,
            "accountName": account_name,
            "accountKey": sas_token,
            "purpose": purpose,
        }
        self._set_datasource(config, thumbnail_suffix)

    def set_obs_config(
        self,
        resource_path: str,
        obs_endpoint: str,
        obs_access_key_id: str,
        obs_secret_access_key: str,
        thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX,
        purpose: Purpose = "INPUT_OUTPUT",
    ) -> None:
        """Sets a Telekom OBS bucket as datasource.

        Args:
            resource_path: ``obs://bucket/path/``.
            obs_endpoint: ``https://…`` endpoint of the OBS service.
            obs_access_key_id: Access key id.
            obs_secret_access_key: Secret access key.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
            purpose: ``INPUT``, ``LIGHTLY`` or ``INPUT_OUTPUT``.

        Raises:
            ValueError: If the endpoint is not an http(s) URL, or for an unknown purpose.
        """
        if not obs_endpoint.startswith(("http://", "https://")):
            raise ValueError(
                f"obs_endpoint must start with http:// or https://, not {obs_endpoint!r}"
            )
        _check_purpose(purpose)
        config = {
            "type": "OBS",
            "fullPath": resource_path,
            "obsEndpoint": obs_endpoint,
            "obsAccessKeyId": obs_access_key_id,
            "obsSecretAccessKey": obs_secret_access_key,
            "purpose": purpose,
        }
        self._set_datasource(config, thumbnail_suffix)

    def set_local_config(
        self, resource_path: str, thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX
    ) -> None:
        """Sets a local folder (or a local file server) as datasource.

        Args:
            resource_path: Folder path (or URL) of the images, as the worker sees it.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
        """
        config = {"type": "LOCAL", "fullPath": resource_path, "purpose": "INPUT_OUTPUT"}
        self._set_datasource(config, thumbnail_suffix)

    def list_datasource_permissions(self) -> dict[str, Any]:
        """Checks what Lightly may do with the datasource.

        Returns:
            ``{"can_list", "can_overwrite", "can_read", "can_write": bool, "errors": None | {permission: message}}``.
        """
        data = self._http.get(self._dataset_path("/datasource/verify"))
        errors = data.get("errors")
        return {
            "can_list": bool(data.get("canList")),
            "can_overwrite": bool(data.get("canOverwrite")),
            "can_read": bool(data.get("canRead")),
            "can_write": bool(data.get("canWrite")),
            "errors": None if not errors else {_snake_permission(k): v for k, v in errors.items()},
        }

    def get_processed_until_timestamp(self) -> int:
        """Returns until when (Unix seconds) the datasource has been processed.

        Returns:
            The timestamp; 0 if never.
        """
        data = self._http.get(self._dataset_path("/datasource/processedUntilTimestamp"))
        return int(data["processedUntilTimestamp"])

    def update_processed_until_timestamp(self, timestamp: int) -> None:
        """Sets until when (Unix seconds) the datasource has been processed.

        Args:
            timestamp: Unix seconds.
        """
        body = {"processedUntilTimestamp": int(timestamp)}
        self._http.put(self._dataset_path("/datasource/processedUntilTimestamp"), json=body)

    def get_prediction_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/predictions/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/predictions/``.

        Returns:
            The signed read URL (returned even if the file does not exist).
        """
        return str(
            self._http.get(
                self._dataset_path("/datasource/predictions/file"), params={"fileName": filename}
            )
        )

    def get_metadata_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/metadata/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/metadata/``.

        Returns:
            The signed read URL.
        """
        return str(
            self._http.get(
                self._dataset_path("/datasource/metadata/file"), params={"fileName": filename}
            )
        )

    def get_custom_embedding_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/embeddings/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/embeddings/``.

        Returns:
            The signed read URL.
        """
        return str(
            self._http.get(
                self._dataset_path("/datasource/embeddings/file"), params={"fileName": filename}
            )
        )

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
            page = self._http.get(path, params=params)
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


def _snake_permission(name: str) -> str:
    return {
        "canRead": "can_read",
        "canWrite": "can_write",
        "canList": "can_list",
        "canOverwrite": "can_overwrite",
    }.get(name, name)
