"""Validation of DockerWorkerConfigV3 bodies, field by field against MODELS.md.

``check_config(body["config"], CONFIG, "config")`` returns the config with the nulls of
optional fields dropped, or raises ``ApiError`` 400 ``DOCKER_WORKER_CONFIG_INVALID``
naming the offending field (``config.docker.numThreads: must be of type int, not str``),
with a did-you-mean for unknown keys. Two documented extensions are accepted:
``docker.shutdownWhenJobFinished`` (the real worker knows it and our client sends it)
and ``strategy.strength`` (a weight of the local worker's selection).
"""

from __future__ import annotations

import difflib
import math
from typing import Any

from runner.local.errors import ApiError, bad_request
from runner.local.routes._input import ID, SCORETYPE, TAGNAME

INVALID_CONFIG = "DOCKER_WORKER_CONFIG_INVALID"
BOOL: dict[str, Any] = {"kind": "bool"}
STRING: dict[str, Any] = {"kind": "string"}


def _num(kind: str = "number", **limits: float) -> dict[str, Any]:
    return {"kind": kind, **limits}


def _model(fields: dict[str, Any], *required: str) -> dict[str, Any]:
    return {"kind": "model", "fields": fields, "required": set(required)}


UNIT = _num(ge=0.0, le=1.0)
DOCKER_FIELDS = {
    "checkpoint": STRING,
    "corruptnessCheck": _model({"corruptionThreshold": UNIT}),
    "datasource": _model({"bypassVerify": BOOL, "enableDatapoolUpdate": BOOL, "processAll": BOOL}),
    "embeddings": STRING,
    "enableTraining": BOOL,
    "training": _model({"taskName": {"kind": "string", "pattern": SCORETYPE}}),
    "normalizeEmbeddings": BOOL,
    "numProcesses": _num("int", ge=-1),
    "numThreads": _num("int", ge=-1),
    "outputImageFormat": STRING,
    "pretagging": BOOL,
    "pretaggingUpload": BOOL,
    "relevantFilenamesFile": STRING,
    "selectedSequenceLength": _num("int", ge=1),
    "uploadReport": BOOL,
    "shutdownWhenJobFinished": BOOL,  # accepted by the real worker; our client sends it
}
COLLATE = {
    name: UNIT
    for name in (
        "cjProb", "cjBright", "cjContrast", "cjSat", "cjHue", "minScale",
        "randomGrayScale", "gaussianBlur", "vfProb", "hfProb", "rrProb",
    )
}  # fmt: skip
COLLATE.update(
    inputSize=_num("int", ge=1),
    kernelSize=_num(ge=0.0),
    sigmas={"kind": "array", "items": _num(gt=0.0), "len": 2},
    rrDegrees={"kind": "array", "items": _num(), "len": 2, "nullable": True},
)
LIGHTLY_FIELDS = {
    "seed": _num("int"),
    "checkpointCallback": _model({"saveLast": BOOL}),
    "loader": _model(
        {
            "batchSize": _num("int", ge=1),
            "shuffle": BOOL,
            "numWorkers": _num("int", ge=-1),
            "dropLast": BOOL,
        }
    ),
    "model": _model(
        {
            "name": {
                "kind": "enum",
                "values": ("resnet-18", "resnet-34", "resnet-50", "resnet-101", "resnet-152"),
            },
            "outDim": _num("int", ge=1),
            "numFtrs": _num("int", ge=1),
            "width": _num("int", ge=1),
        }
    ),
    "trainer": _model(
        {
            "gpus": _num("int", ge=0),
            "maxEpochs": _num("int", ge=0),
            "precision": {"kind": "enum", "values": (16, 32)},
        }
    ),
    "criterion": _model({"temperature": _num(gt=0.0)}),
    "optimizer": _model({"lr": _num(ge=0.0), "weightDecay": UNIT}),
    "collate": _model(COLLATE),
}
SELECTION_INPUT = _model(
    {
        "type": {
            "kind": "enum",
            "values": ("EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM"),
        },
        "task": {"kind": "string", "pattern": SCORETYPE},
        "score": {"kind": "string", "pattern": SCORETYPE, "min_len": 1},
        "key": {"kind": "string", "min_len": 1},
        "name": {"kind": "enum", "values": ("CLASS_DISTRIBUTION", "CATEGORY_COUNT")},
        "datasetId": {"kind": "string", "pattern": ID},
        "tagName": {"kind": "string", "pattern": TAGNAME, "min_len": 3},
        "randomSeed": _num("int"),
        "categories": {
            "kind": "array",
            "items": {"kind": "string", "min_len": 1},
            "min": 1,
            "unique": True,
        },
    },
    "type",
)
SELECTION_STRATEGY = _model(
    {
        "type": {
            "kind": "enum",
            "values": ("DIVERSITY", "WEIGHTS", "THRESHOLD", "BALANCE", "SIMILARITY"),
        },
        "stopping_condition_minimum_distance": _num(),
        "threshold": _num(),
        "operation": {
            "kind": "enum",
            "values": ("SMALLER", "SMALLER_EQUAL", "BIGGER", "BIGGER_EQUAL"),
        },
        "target": {"kind": "object"},
        "strength": _num(),  # weight of the strategy (selection.py), default 1
    },
    "type",
)
SELECTION = _model(
    {
        "nSamples": _num("int", ge=-1),
        "proportionSamples": UNIT,
        "strategies": {
            "kind": "array",
            "min": 1,
            "items": _model(
                {"input": SELECTION_INPUT, "strategy": SELECTION_STRATEGY}, "input", "strategy"
            ),
        },
    },
    "strategies",
)
CONFIG = _model(
    {
        "workerType": {"kind": "enum", "values": ("FULL",)},
        "docker": _model(DOCKER_FIELDS),
        "lightly": _model(LIGHTLY_FIELDS),
        "selection": SELECTION,
    },
    "workerType",
)
_JSON_TYPES: dict[str, Any] = {
    "bool": bool,
    "int": int,
    "number": (int, float),
    "string": str,
    "object": dict,
}


def check_config(value: Any, spec: dict[str, Any], where: str) -> Any:
    """``value`` checked against ``spec`` (nulls of optional fields dropped); 400 naming the field."""

    def fail(message: str) -> ApiError:
        return bad_request(f"{where}: {message}", INVALID_CONFIG)

    kind = spec["kind"]
    if kind == "model":
        return _check_model(value, spec, where)
    if kind == "enum":
        if not any(type(value) is type(v) and value == v for v in spec["values"]):
            raise fail(f"must be one of {', '.join(map(str, spec['values']))}, not {value!r}")
        return value
    if kind == "array":
        if not isinstance(value, list):
            raise fail(f"must be a list, not {type(value).__name__}")
        if "len" in spec and len(value) != spec["len"]:
            raise fail(f"must have exactly {spec['len']} entries, has {len(value)}")
        if len(value) < spec.get("min", 0):
            raise fail(f"must have at least {spec['min']} entries, has {len(value)}")
        items = [check_config(v, spec["items"], f"{where}[{i}]") for i, v in enumerate(value)]
        if spec.get("unique") and len(set(items)) != len(items):
            raise fail("entries must be unique")
        return items
    if not isinstance(value, _JSON_TYPES[kind]) or (kind != "bool" and isinstance(value, bool)):
        raise fail(f"must be of type {kind}, not {type(value).__name__}")
    if kind in ("int", "number"):
        _check_limits(value, spec, fail)
    if kind == "string":
        if len(value) < spec.get("min_len", 0):
            raise fail(f"must have at least {spec['min_len']} characters")
        if "pattern" in spec and not spec["pattern"].fullmatch(value):
            raise fail(f"must match {spec['pattern'].pattern}, got {value!r}")
    return value


_BOUNDS = {"ge": (">=", float.__ge__), "le": ("<=", float.__le__), "gt": (">", float.__gt__)}


def _check_limits(value: float, spec: dict[str, Any], fail: Any) -> None:
    if not math.isfinite(value):
        raise fail("must be a finite number")
    for bound, (sign, holds) in _BOUNDS.items():
        if bound in spec and not holds(float(value), float(spec[bound])):
            raise fail(f"must be {sign} {spec[bound]}, got {value!r}")


def _check_model(value: Any, spec: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"{where}: must be an object, not {type(value).__name__}", INVALID_CONFIG)
    fields: dict[str, Any] = spec["fields"]
    result = {}
    for key, item in value.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(fields)}"
            raise bad_request(f"{where}: unknown key {key!r}{hint}", INVALID_CONFIG)
        if item is None and not fields[key].get("nullable"):
            if key in spec["required"]:
                raise bad_request(f"{where}.{key}: is required", INVALID_CONFIG)
            continue
        result[key] = None if item is None else check_config(item, fields[key], f"{where}.{key}")
    missing = sorted(spec["required"] - set(result))
    if missing:
        raise bad_request(f"{where}.{missing[0]}: is required", INVALID_CONFIG)
    return result
