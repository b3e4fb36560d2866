"""The wire SelectionConfig: its vocabulary, and parsing and validation of its keys and values."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from runner.local.worker.selection_types import SelectionError

INPUT_TYPES = ("EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS", "RANDOM")
STRATEGY_TYPES = ("DIVERSITY", "WEIGHTS", "THRESHOLD", "BALANCE", "SIMILARITY")
PREDICTION_NAMES = ("CLASS_DISTRIBUTION", "CATEGORY_COUNT")
OPERATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "SMALLER": np.less,
    "SMALLER_EQUAL": np.less_equal,
    "BIGGER": np.greater,
    "BIGGER_EQUAL": np.greater_equal,
}
#: which input types each strategy accepts
ACCEPTS = {
    "DIVERSITY": ("EMBEDDINGS", "SCORES", "METADATA", "PREDICTIONS"),
    "WEIGHTS": ("SCORES", "METADATA", "PREDICTIONS", "RANDOM"),
    "THRESHOLD": ("SCORES", "METADATA", "PREDICTIONS", "RANDOM"),
    "BALANCE": ("METADATA", "PREDICTIONS"),
}
_ALIASES = {
    "n_samples": "nSamples",
    "proportion_samples": "proportionSamples",
    "random_seed": "randomSeed",
    "dataset_id": "datasetId",
    "tag_name": "tagName",
    "stoppingConditionMinimumDistance": "stopping_condition_minimum_distance",
}
_TOP_KEYS = {"nSamples", "proportionSamples", "strategies"}
_INPUT_KEYS = {
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
_STRATEGY_KEYS = {
    "type",
    "stopping_condition_minimum_distance",
    "threshold",
    "operation",
    "target",
    "strength",
}

#: one config entry: where it is ("strategy 2"), its canonical input and strategy
Entry = tuple[str, dict[str, Any], dict[str, Any]]


def parse(config: Any, n: int) -> tuple[list[Entry], int]:
    """The canonical entries of a config and how many of ``n`` samples to pick at most.

    Checks the keys and enum values of every entry; what a strategy makes of its input
    is checked when the entry is applied (``check_strategy``), so that errors come in
    entry order.
    """
    top = _canon(config, _TOP_KEYS, "selection config")
    entries = _entries(top.get("strategies"))
    return entries, _limit(top, n, entries)


def check_selection_config(config: Any) -> None:
    """Raise ``SelectionError`` for what no dataset can make valid: unknown keys or enum
    values, a strategy that cannot use its input, bad limits or fields. What depends on
    the data (a metadata key, a prediction task) is checked when the selection runs."""
    entries, _limit = parse(config, 1)
    for where, inp, strat in entries:
        check_strategy(where, strat["type"], inp["type"], strat)


def _canon(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """Rename snake_case aliases, drop null values, reject unknown keys."""
    if not isinstance(obj, Mapping):
        raise SelectionError(f"{where} must be an object, not {type(obj).__name__}")
    out = {_ALIASES.get(str(k), str(k)): v for k, v in obj.items() if v is not None}
    unknown = sorted(set(out) - allowed)
    if unknown:
        raise SelectionError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    return out


def _entries(raw: Any) -> list[Entry]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise SelectionError("selection config needs a non-empty list 'strategies'")
    entries = []
    for i, entry in enumerate(raw, 1):
        where = f"strategy {i}"
        body = _canon(entry, {"input", "strategy"}, where)
        if "input" not in body or "strategy" not in body:
            raise SelectionError(f"{where}: needs both 'input' and 'strategy'")
        inp = _canon(body["input"], _INPUT_KEYS, f"{where} input")
        strat = _canon(body["strategy"], _STRATEGY_KEYS, f"{where} strategy")
        check_one_of(inp.get("type"), INPUT_TYPES, f"{where}: input type")
        check_one_of(strat.get("type"), STRATEGY_TYPES, f"{where}: strategy type")
        entries.append((where, inp, strat))
    return entries


def check_one_of(value: Any, allowed: Sequence[str], what: str) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise SelectionError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def _limit(top: Mapping[str, Any], n: int, entries: Sequence[Entry]) -> int:
    """How many new samples to pick at most."""
    limits = []
    n_samples = top.get("nSamples")
    if n_samples is not None:
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, int)
            or n_samples < -1
            or n_samples == 0
        ):
            raise SelectionError(
                f"nSamples must be an integer >= 1 (or -1: no limit), not {n_samples!r}"
            )
        limits.append(n if n_samples == -1 else n_samples)
    proportion = top.get("proportionSamples")
    if proportion is not None:
        if (
            isinstance(proportion, bool)
            or not isinstance(proportion, (int, float))
            or not 0 < proportion <= 1
        ):
            raise SelectionError(f"proportionSamples must be in (0, 1], not {proportion!r}")
        limits.append(max(1, int(proportion * n + 0.5)))
    stops = any(
        isinstance(d := s.get("stopping_condition_minimum_distance"), (int, float)) and d > 0
        for _, _, s in entries
    )
    if not limits and not stops:
        raise SelectionError(
            "selection config needs nSamples, proportionSamples or a DIVERSITY strategy "
            "with stopping_condition_minimum_distance"
        )
    return min(limits) if limits else n


def check_strategy(where: str, kind: str, itype: str, strat: Mapping[str, Any]) -> None:
    """Raise unless strategy ``kind`` can use input type ``itype`` with these fields."""
    if kind == "SIMILARITY":
        raise SelectionError(
            f"{where}: SIMILARITY is not supported by the local worker "
            "(it needs a query tag); use DIVERSITY, WEIGHTS, THRESHOLD or BALANCE"
        )
    if itype not in ACCEPTS[kind]:
        raise SelectionError(
            f"{where}: strategy {kind} cannot use input type {itype}; "
            f"it takes {', '.join(ACCEPTS[kind])}"
        )
    _check_strategy_fields(where, kind, strat)
    if kind == "BALANCE":
        _check_target(where, strat.get("target"))


def _check_strategy_fields(where: str, kind: str, strat: Mapping[str, Any]) -> None:
    allowed = {"type"} | {
        "DIVERSITY": {"stopping_condition_minimum_distance", "strength"},
        "WEIGHTS": {"strength"},
        "THRESHOLD": {"threshold", "operation", "strength"},
        "BALANCE": {"target", "strength"},
    }[kind]
    extra = sorted(set(strat) - allowed)
    if extra:
        raise SelectionError(f"{where}: {kind} does not take {extra}")
    if kind == "THRESHOLD":
        threshold = strat.get("threshold")
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or "operation" not in strat
        ):
            raise SelectionError(
                f"{where}: THRESHOLD needs a number 'threshold' and an 'operation'"
            )
        check_one_of(strat["operation"], tuple(OPERATIONS), f"{where}: operation")
    for name in ("strength", "stopping_condition_minimum_distance"):
        if name in strat and (
            isinstance(strat[name], bool) or not isinstance(strat[name], (int, float))
        ):
            raise SelectionError(f"{where}: {name} must be a number, not {strat[name]!r}")


def _check_target(where: str, target: Any) -> None:
    """A BALANCE target: category -> fraction >= 0, the fractions summing to at most 1."""
    if not isinstance(target, Mapping) or not target:
        raise SelectionError(f"{where}: BALANCE needs 'target', an object category -> fraction")
    bad = {
        k: v
        for k, v in target.items()
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0
    }
    if bad or sum(target.values()) > 1 + 1e-9:
        raise SelectionError(
            f"{where}: BALANCE target fractions must be numbers >= 0 summing "
            f"to at most 1, got {dict(target)}"
        )
