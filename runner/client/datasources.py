"""Datasource operations: configuration, permissions and read URLs (listings: datasource_listing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from runner.client.datasource_listing import _DatasourceListingMixin
from runner.client.models import DEFAULT_THUMB_SUFFIX, WireModel, wire

Purpose = Literal["INPUT", "LIGHTLY", "INPUT_OUTPUT"]
# fmt: off
#: ENUMS.md S3Region, in the generator's order. Parameters stay ``str`` (a 30-value enum
#: would swamp ``lightly-run actions``); the setters check against this list instead.
S3Region = Literal[
    "us-east-2", "us-east-1", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-south-2",
    "ap-southeast-3", "ap-southeast-4", "ap-south-1", "ap-northeast-3", "ap-northeast-2",
    "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1", "cn-northwest-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-west-3", "eu-north-1",
    "eu-south-2", "eu-central-2", "me-south-1", "me-central-1", "sa-east-1", "us-gov-east",
    "us-gov-west",
]
# fmt: on
S3_REGIONS: tuple[str, ...] = get_args(S3Region)
PURPOSES: tuple[str, ...] = get_args(Purpose)


@dataclass(frozen=True)
class _Rule:
    """MODELS.md's constraint on one DatasourceConfig field, by its parameter's name."""

    parameter: str
    min_length: int = 1
    pattern: str | None = None
    meaning: str = ""  # what ``pattern`` asks for, in words
    secret: bool = True  # never shown in a message


_FIELD_RULES = {
    "s3AccessKeyId": _Rule("access_key"),
    "s3SecretAccessKey": _Rule("secret_access_key"),
    "s3ARN": _Rule(
        "role_arn",
        12,
        r"arn:aws:iam::[0-9]{12}:role.+",
        "arn:aws:iam::<account>:role/<name>",
        False,
    ),
    "s3ExternalId": _Rule(
        "external_id", 10, r"[a-zA-Z0-9_+=,.@:/-]+", "letters, digits and _+=,.@:/- only"
    ),
    "gcsProjectId": _Rule("project_id", secret=False),
    "gcsCredentials": _Rule("credentials", 0),
    "accountName": _Rule("account_name", secret=False),
    "accountKey": _Rule("sas_token"),
    "obsEndpoint": _Rule("obs_endpoint", 1, r"https?://.+", "an http:// or https:// URL", False),
    "obsAccessKeyId": _Rule("obs_access_key_id"),
    "obsSecretAccessKey": _Rule("obs_secret_access_key"),
}


def _check_field(field: str, value: object) -> None:
    """Refuse what the platform's model of ``field`` would (before any request).

    Raises:
        ValueError: Naming the parameter, and its value unless it is a credential.
    """
    rule = _FIELD_RULES[field]
    shown = "" if rule.secret else f", not {value!r}"
    if not isinstance(value, str):
        raise ValueError(f"{rule.parameter} must be a string, not {type(value).__name__}")
    if len(value) < rule.min_length:
        characters = "character" if rule.min_length == 1 else "characters"
        raise ValueError(
            f"{rule.parameter} must have at least {rule.min_length} {characters}{shown}"
        )
    if rule.pattern is not None and re.fullmatch(rule.pattern, value) is None:
        raise ValueError(f"{rule.parameter} must be {rule.meaning}{shown}")


def _checked(purpose: str, region: str | None = None) -> str:
    """Client-side checks of the DatasourceConfig variants (before any request)."""
    if region is not None and region not in S3_REGIONS:
        raise ValueError(f"region {region!r} is not an S3 region (one of {', '.join(S3_REGIONS)})")
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {list(PURPOSES)}, not {purpose!r}")
    return purpose


class _DatasourcesMixin(_DatasourceListingMixin):
    """Datasources of the current dataset: configuration, permissions, read URLs, listings."""

    def _set_datasource(
        self, kind: str, full_path: str, thumbnail_suffix: str | None, **fields: str
    ) -> None:
        """PUT a DatasourceConfig; a None ``thumbnail_suffix`` omits ``thumbSuffix``.

        Raises:
            ValueError: If a field breaks its MODELS.md constraint (before any request).
        """
        for field, value in fields.items():
            if field in _FIELD_RULES:
                _check_field(field, value)
        config = {"type": kind, "fullPath": full_path, **fields}
        if thumbnail_suffix is not None:
            config["thumbSuffix"] = thumbnail_suffix
        self._http.put(self._dataset_path("/datasource"), json=config)

    def _read_url(self, kind: str, filename: str) -> str:
        path = self._dataset_path(f"/datasource/{kind}/file")
        return str(self._http.get(path, params={"fileName": filename}))

    def get_datasource(self) -> WireModel:
        """Returns the datasource of the current dataset (the one set last).

        Returns:
            The datasource config; its ``type`` says which variant.

        Raises:
            ApiError: If no datasource was configured.
        """
        result: WireModel = wire(self._http.get(self._dataset_path("/datasource"), expect=dict))
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
            ValueError: For a region not in S3Region, an unknown purpose or an empty key.
        """
        self._set_datasource(
            "S3",
            resource_path,
            thumbnail_suffix,
            s3Region=region,
            s3AccessKeyId=access_key,
            s3SecretAccessKey=secret_access_key,
            purpose=_checked(purpose, region),
        )

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
            ValueError: For a region not in S3Region, an unknown purpose, a role ARN or
                external id the platform refuses (MODELS.md).
        """
        self._set_datasource(
            "S3DelegatedAccess",
            resource_path,
            thumbnail_suffix,
            s3Region=region,
            s3ARN=role_arn,
            s3ExternalId=external_id,
            purpose=_checked(purpose, region),
        )

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

        Raises:
            ValueError: For an unknown purpose or an empty project id.
        """
        self._set_datasource(
            "GCS",
            resource_path,
            thumbnail_suffix,
            gcsProjectId=project_id,
            gcsCredentials=credentials,
            purpose=_checked(purpose),
        )

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

        Raises:
            ValueError: For an unknown purpose, or an empty account name or token.
        """
        self._set_datasource(
            "AZURE",
            container_name,
            thumbnail_suffix,
            accountName=account_name,
            accountKey=sas_token,
            purpose=_checked(purpose),
        )

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
            ValueError: If the endpoint is not an http(s) URL, a key is empty, or for an
                unknown purpose.
        """
        self._set_datasource(
            "OBS",
            resource_path,
            thumbnail_suffix,
            obsEndpoint=obs_endpoint,
            obsAccessKeyId=obs_access_key_id,
            obsSecretAccessKey=obs_secret_access_key,
            purpose=_checked(purpose),
        )

    def set_local_config(
        self, resource_path: str, thumbnail_suffix: str | None = DEFAULT_THUMB_SUFFIX
    ) -> None:
        """Sets a local folder (or a local file server) as datasource.

        Args:
            resource_path: Folder path (or URL) of the images, as the worker sees it.
            thumbnail_suffix: Where thumbnails go; None: no thumbnails.
        """
        self._set_datasource("LOCAL", resource_path, thumbnail_suffix, purpose="INPUT_OUTPUT")

    def list_datasource_permissions(self) -> dict[str, Any]:
        """Checks what Lightly may do with the datasource.

        Returns:
            ``{"can_list", "can_overwrite", "can_read", "can_write": bool, "errors": None | {permission: message}}``.
        """
        data = self._http.get(self._dataset_path("/datasource/verify"), expect=dict)
        errors = data.get("errors")
        return {
            "can_list": bool(data.get("canList")),
            "can_overwrite": bool(data.get("canOverwrite")),
            "can_read": bool(data.get("canRead")),
            "can_write": bool(data.get("canWrite")),
            "errors": None if not errors else {_snake_permission(k): v for k, v in errors.items()},
        }

    def get_prediction_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/predictions/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/predictions/``.

        Returns:
            The signed read URL (returned even if the file does not exist).
        """
        return self._read_url("predictions", filename)

    def get_metadata_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/metadata/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/metadata/``.

        Returns:
            The signed read URL.
        """
        return self._read_url("metadata", filename)

    def get_custom_embedding_read_url(self, filename: str) -> str:
        """Returns a read URL of a file under ``.lightly/embeddings/`` of the datasource.

        Args:
            filename: Path relative to ``.lightly/embeddings/``.

        Returns:
            The signed read URL.
        """
        return self._read_url("embeddings", filename)


def _snake_permission(name: str) -> str:
    return {
        "canRead": "can_read",
        "canWrite": "can_write",
        "canList": "can_list",
        "canOverwrite": "can_overwrite",
    }.get(name, name)
