"""Validation of SampleCreateRequest / SampleUpdateRequest bodies.

What is stored is echoed back in SampleData, which the official client parses
strictly, so ``metaData``, ``videoFrameData`` and ``cropData`` are checked key by
key here (unknown keys, wrong types and out-of-range values → 400) and file names
are refused when they could escape a directory (absolute, ``..``, backslash, NUL).
"""

from __future__ import annotations

import math
import re
from typing import Any

from runner.local.errors import bad_request
from runner.local.routes._input import ID, TASKNAME, field

INVALID = "SAMPLE_CREATE_REQUEST_INVALID_FORMAT"
MAX_FILE_NAME = 1024

#: SampleMetaData scalars: key → (kind, minimum, maximum)
_META_SCALARS: dict[str, tuple[str, float | None, float | None]] = {
    "sharpness": ("number", 0, None),
    "luminance": ("number", 0, 100),
    "sizeInBytes": ("int", 0, None),
    "snr": ("number", 0, None),
    "uniformRowRatio": ("number", 0, 1),
}
#: SampleMetaData 3-vectors: key → (kind, minimum, maximum)
_META_VECTORS: dict[str, tuple[str, float | None, float | None]] = {
    "mean": ("number", 0, 1),
    "shape": ("int", 0, None),
    "std": ("number", 0, None),
    "sumOfSquares": ("number", 0, None),
    "sumOfValues": ("number", 0, None),
}
SAMPLE_FIELDS = (
    "fileName",
    "thumbName",
    "exif",
    "metaData",
    "customMetaData",
    "videoFrameData",
    "cropData",
)


def check_file_name(name: str, what: str = "fileName") -> str:
    """A relative posix file name that cannot leave its directory; 400 otherwise."""
    parts = name.split("/")
    if (
        not name
        or len(name) > MAX_FILE_NAME
        or "\\" in name
        or any(ord(c) < 32 for c in name)
        or name.startswith("/")
        or re.match(r"^[A-Za-z]:", name)
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise bad_request(
            f"invalid {what} {name!r}: must be a relative path without '..', "
            "backslashes, empty segments or control characters",
            INVALID,
        )
    return name


def sample_fields(body: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """The known fields of a sample create/update body, validated."""
    fields: dict[str, Any] = {}
    name = field(body, "fileName", "string", required=create)
    if name is not None:
        fields["fileName"] = check_file_name(name)
    if "thumbName" in body:
        thumb = field(body, "thumbName", "string", nullable=True)
        fields["thumbName"] = None if thumb is None else check_file_name(thumb, "thumbName")
    exif = field(body, "exif", "object")
    if exif is not None:
        fields["exif"] = exif
    meta = field(body, "metaData", "object")
    if meta is not None:
        fields["metaData"] = _meta_data(meta)
    if "customMetaData" in body:
        fields["customMetaData"] = field(body, "customMetaData", "object", nullable=True)
    video = field(body, "videoFrameData", "object")
    if video is not None:
        fields["videoFrameData"] = _video_frame(video)
    crop = field(body, "cropData", "object")
    if crop is not None:
        fields["cropData"] = _crop(crop)
    return fields


def _number(value: Any, where: str, kind: str, low: float | None, high: float | None) -> Any:
    ok_type = isinstance(value, int) if kind == "int" else isinstance(value, (int, float))
    if (
        isinstance(value, bool)
        or not ok_type
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise bad_request(f"{where} must be of type {kind}", INVALID)
    if (low is not None and value < low) or (high is not None and value > high):
        raise bad_request(f"{where} must be within [{low}, {high}]", INVALID)
    return value


def _meta_data(meta: dict[str, Any]) -> dict[str, Any]:
    known = {*_META_SCALARS, *_META_VECTORS, "custom", "dynamic"}
    unknown = sorted(set(meta) - known)
    if unknown:
        raise bad_request(f"metaData has unknown keys: {', '.join(unknown)}", INVALID)
    for key, value in meta.items():
        where = f"metaData.{key}"
        if value is None:
            continue
        if key in ("custom", "dynamic"):
            if not isinstance(value, dict):
                raise bad_request(f"{where} must be an object", INVALID)
        elif key in _META_SCALARS:
            _number(value, where, *_META_SCALARS[key])
        else:
            if not isinstance(value, list) or len(value) != 3:
                raise bad_request(f"{where} must be a list of 3 values", INVALID)
            for item in value:
                _number(item, where, *_META_VECTORS[key])
    return {k: v for k, v in meta.items() if v is not None}


def _video_frame(video: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    source = field(video, "sourceVideo", "string")
    if source is not None:
        result["sourceVideo"] = source
    for key in ("sourceVideoFrameIndex", "sourceVideoFrameTimestamp"):
        value = field(video, key, "number")
        if value is not None:
            result[key] = value
    return result


def _crop(crop: dict[str, Any]) -> dict[str, Any]:
    return {
        "parentId": field(crop, "parentId", "string", required=True, pattern=ID),
        "predictionUUIDTimestamp": field(
            crop, "predictionUUIDTimestamp", "int", required=True, minimum=0
        ),
        "predictionIndex": field(crop, "predictionIndex", "int", required=True, minimum=0),
        "predictionTaskName": field(
            crop, "predictionTaskName", "string", required=True, pattern=TASKNAME
        ),
        "predictionTaskCategoryId": field(
            crop, "predictionTaskCategoryId", "int", required=True, minimum=0
        ),
        "predictionTaskScore": _number(
            field(crop, "predictionTaskScore", "number", required=True),
            "cropData.predictionTaskScore",
            "number",
            0,
            1,
        ),
    }
