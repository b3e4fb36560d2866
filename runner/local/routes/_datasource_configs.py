"""DatasourceConfig variants (MODELS.md "Datasources"): validate and keep only their fields."""

from __future__ import annotations

import re
from typing import Any

from runner.local.errors import bad_request
from runner.local.routes._input import field

PURPOSES = ("INPUT_OUTPUT", "INPUT", "LIGHTLY")
S3_REGIONS = [
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
KMS_KEY = re.compile(r"^arn:aws:kms:[a-zA-Z0-9-]*:[0-9]{12}:key.+$")
ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role.+$")
EXTERNAL_ID = re.compile(r"^[a-zA-Z0-9_+=,.@:\/-]+$")
HTTP_URL = re.compile(r"^https?:\/\/.+$")

#: type → [(field, required, min length, pattern, choices)]
Spec = tuple[str, bool, int, "re.Pattern[str] | None", "tuple[str, ...] | list[str] | None"]
VARIANTS: dict[str, list[Spec]] = {
    "LIGHTLY": [],
    "LOCAL": [],
    "S3": [
        ("s3Region", True, 0, None, S3_REGIONS),
        ("s3AccessKeyId", True, 1, None, None),
        ("s3SecretAccessKey", True, 1, None, None),
        ("s3ServerSideEncryptionKMSKey", False, 1, KMS_KEY, None),
    ],
    "S3DelegatedAccess": [
        ("s3Region", True, 0, None, S3_REGIONS),
        ("s3ExternalId", True, 10, EXTERNAL_ID, None),
        ("s3ARN", True, 12, ROLE_ARN, None),
        ("s3ServerSideEncryptionKMSKey", False, 1, KMS_KEY, None),
    ],
    "GCS": [("gcsProjectId", True, 1, None, None), ("gcsCredentials", True, 0, None, None)],
    "AZURE": [("accountName", True, 1, None, None), ("accountKey", True, 1, None, None)],
    "OBS": [
        ("obsEndpoint", True, 1, HTTP_URL, None),
        ("obsAccessKeyId", True, 1, None, None),
        ("obsSecretAccessKey", True, 1, None, None),
    ],
}
#: the official client also accepts the variant class names as discriminator
ALIASES = {f"DatasourceConfig{name}": name for name in VARIANTS}


def validate_config(body: dict[str, Any]) -> dict[str, Any]:
    """The wire-shaped config of a PUT body: common fields plus its variant's, nothing else."""
    kind = field(body, "type", "string", required=True)
    kind = ALIASES.get(kind, kind)
    if kind not in VARIANTS:
        raise bad_request(f"'type' must be one of {', '.join(VARIANTS)}, got {kind!r}")
    config: dict[str, Any] = {
        "purpose": field(body, "purpose", "string", required=True, choices=PURPOSES),
        "type": kind,
        "fullPath": field(body, "fullPath", "string", required=True),
    }
    thumb_suffix = field(body, "thumbSuffix", "string")
    if thumb_suffix is not None:
        config["thumbSuffix"] = thumb_suffix
    for name, required, min_len, pattern, choices in VARIANTS[kind]:
        value = field(
            body,
            name,
            "string",
            required=required,
            min_len=min_len,
            pattern=pattern,
            choices=choices,
        )
        if value is not None:
            config[name] = value
    return config
