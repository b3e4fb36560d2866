"""Worker, Lightly and selection configs: snake_case dicts → validated wire dicts (CONTRACT §3.5)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from runner.client.errors import InvalidConfigurationError
from runner.client.models import WireModel, to_camel, to_snake, to_wire, wire

#: Allowed keys of DockerWorkerConfigV3Docker / …Lightly (MODELS.md); nested dicts map to their fields.
DOCKER_FIELDS: dict[str, Any] = {
    "checkpoint": None,
    "corruptnessCheck": {"corruptionThreshold": None},
    "datasource": {"bypassVerify": None, "enableDatapoolUpdate": None, "processAll": None},
    "embeddings": None,
    "enableTraining": None,
    "training": {"taskName": None},
    "normalizeEmbeddings": None,
    "numProcesses": None,
    "numThreads": None,
    "outputImageFormat": None,
    "pretagging": None,
    "pretaggingUpload": None,
    "relevantFilenamesFile": None,
    "selectedSequenceLength": None,
    "uploadReport": None,
    # accepted by the real worker though absent from the 1.4.10 model
    "shutdownWhenJobFinished": None,
}
LIGHTLY_FIELDS: dict[str, Any] = {
    "seed": None,
    "checkpointCallback": {"saveLast": None},
    "loader": {"batchSize": None, "shuffle": None, "numWorkers": None, "dropLast": None},
    "model": {"name": None, "outDim": None, "numFtrs": None, "width": None},
    "trainer": {"gpus": None, "maxEpochs": None, "precision": None},
    "criterion": {"temperature": None},
    "optimizer": {"lr": None, "weightDecay": None},
    "collate": dict.fromkeys(
        [
            "inputSize",
            "cjProb",
            "cjBright",
            "cjContrast",
            "cjSat",
            "cjHue",
            "minScale",
            "randomGrayScale",
            "gaussianBlur",
            "kernelSize",
            "sigmas",
            "vfProb",
            "hfProb",
            "rrProb",
            "rrDegrees",
        ]
    ),
}
#: the only config field MODELS.md marks nullable: sent as null when set to None; every
#: other None is left out of the body (CONTRACT §2.3), as the official models do
NULLABLE_FIELDS = frozenset({"rrDegrees"})
SELECTION_FIELDS = {"nSamples", "proportionSamples", "strategies"}
ENTRY_FIELDS = {"input", "strategy"}
INPUT_FIELDS = {
    "type",
    "task",
    "score",
    "key",
    "name",
    "datasetId",
    "tagName",
    "randomSeed",
    "categories",
}
STRATEGY_FIELDS = {
    "type",
    "stopping_condition_minimum_distance",
    "threshold",
    "operation",
    "target",
}
INPUT_TYPES = {"EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM"}
STRATEGY_TYPES = {"DIVERSITY", "WEIGHTS", "THRESHOLD", "BALANCE", "SIMILARITY"}


def _unknown(key: str, allowed: Any, where: str) -> InvalidConfigurationError:
    """The official client's message: the closest option is always suggested (cutoff 0),
    spelled as the key is (snake_case unless it has a capital)."""
    del where  # the message format is pinned to the official one, which has no location
    options = sorted(allowed)
    if not options:
        return InvalidConfigurationError(f"Option '{key}' does not exist!")

    def similarity(option: str) -> float:
        return max(
            difflib.SequenceMatcher(None, spelling, option).ratio()
            for spelling in (key, to_camel(key))
        )

    best = max(options, key=similarity)
    # in the key's own spelling: the official client suggests its snake_case names
    suggestion = best if any(c.isupper() for c in key) else to_snake(best)
    return InvalidConfigurationError(f"Option '{key}' does not exist! Did you mean '{suggestion}'?")


def convert_config(
    config: Mapping[str, Any] | None, fields: Mapping[str, Any], where: str
) -> dict[str, Any] | None:
    """camelCase the keys of a worker/lightly config recursively and reject unknown ones."""
    if config is None:
        return None
    config = _mapping(config, where)
    result: dict[str, Any] = {}
    for key, value in config.items():
        wire_key = to_camel(key)
        if wire_key not in fields:
            raise _unknown(key, fields, where)
        if value is None and wire_key not in NULLABLE_FIELDS:
            continue
        nested = fields[wire_key]
        if isinstance(nested, dict) and isinstance(value, Mapping):
            value = convert_config(value, nested, f"{where}.{wire_key}")
        result[wire_key] = value
    return result


def _section(
    entry: Mapping[str, Any], name: str, allowed: set[str], types: set[str], where: str
) -> dict[str, Any]:
    if name not in entry or not isinstance(entry[name], Mapping):
        raise InvalidConfigurationError(f"{where} needs an '{name}' mapping with a 'type'.")
    section: dict[str, Any] = {}
    for key, value in entry[name].items():
        wire_key = key if key in allowed else to_camel(key)
        if wire_key not in allowed:
            raise _unknown(key, allowed, f"{where}.{name}")
        if value is not None:
            section[wire_key] = value
    if section.get("type") not in types:
        raise InvalidConfigurationError(
            f"{where}.{name}.type must be one of {sorted(types)}, not {section.get('type')!r}."
        )
    return section


def selection_config_from_dict(cfg: Mapping[str, Any]) -> WireModel:
    """Validates a selection config (snake_case or camelCase keys) and returns its wire form.

    Args:
        cfg: ``{"n_samples"|"proportion_samples": …, "strategies": [{"input": {…}, "strategy": {…}}]}``.

    Returns:
        The SelectionConfig as sent on the wire (wire keys; read as ``config.n_samples``).

    Raises:
        InvalidConfigurationError: If ``cfg`` is not a mapping, on unknown keys, missing
            strategies or unknown types.
    """
    cfg = _mapping(cfg, "selection_config")
    result: dict[str, Any] = {}
    for key, value in cfg.items():
        wire_key = to_camel(key)
        if wire_key not in SELECTION_FIELDS:
            raise _unknown(key, SELECTION_FIELDS, "selection_config")
        if value is not None:
            result[wire_key] = value
    strategies = result.get("strategies")
    if not isinstance(strategies, list) or not strategies:
        raise InvalidConfigurationError("selection_config needs a non-empty list 'strategies'.")
    result["strategies"] = [_entry(entry, f"strategies[{i}]") for i, entry in enumerate(strategies)]
    selection: WireModel = wire(result)
    return selection


def _mapping(config: Any, where: str) -> Mapping[str, Any]:
    """``config`` in wire form, if it is a mapping (or an official config model)."""
    converted = to_wire(config)
    if not isinstance(converted, Mapping):
        raise InvalidConfigurationError(
            f"{where} must be a mapping of options, not {type(config).__name__}"
        )
    return converted


def _entry(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InvalidConfigurationError(f"{where} must be a mapping with 'input' and 'strategy'.")
    for key in entry:
        if key not in ENTRY_FIELDS:
            raise _unknown(key, ENTRY_FIELDS, where)
    return {
        "input": _section(entry, "input", INPUT_FIELDS, INPUT_TYPES, where),
        "strategy": _section(entry, "strategy", STRATEGY_FIELDS, STRATEGY_TYPES, where),
    }
