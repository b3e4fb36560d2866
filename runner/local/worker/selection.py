"""The local worker's selection: a wire SelectionConfig applied to arrays (pure, no I/O).

Semantics (what ``select`` does with a config):

* **Inputs** turn into one value per sample. EMBEDDINGS: the (n, d) vectors.
  SCORES: ``scores["<task>/<score>"]``; when absent, the uncertainty scores
  ``uncertainty_least_confidence``, ``uncertainty_margin`` and ``uncertainty_entropy``
  are derived from the task's predictions (``scores_from_predictions``).
  METADATA: the dotted ``key`` looked up in each sample's mapping (the worker puts the
  computed image metadata under ``"lightly"``, so ``lightly.sharpness`` works beside
  custom keys such as ``weather.scenario``). PREDICTIONS: per-sample object counts per
  category of ``task`` (restricted to ``categories`` when given); ``CATEGORY_COUNT``
  as a number is their sum, ``CLASS_DISTRIBUTION`` is the vector of fractions.
  RANDOM: a uniform number in [0, 1) per sample from ``randomSeed`` (else ``seed``,
  else a fresh seed that is recorded in the stats).
* A sample lacking a value that a strategy needs (NaN score, missing metadata key,
  no predictions for a distribution) is not a candidate; the stats count them.
* **THRESHOLD** filters candidates (``value <operation> threshold``).
* **WEIGHTS** ranks: each weight input is min-max normalised over the candidates and
  multiplied by ``strength`` (default 1); without DIVERSITY or BALANCE the highest
  summed weights are taken (ties in sample order). RANDOM + WEIGHTS is thus a seeded
  uniform sample without replacement.
* **DIVERSITY** is k-centre greedy (farthest point, Euclidean) started from the
  preselected samples, or else from the candidate farthest from the candidates'
  mean. A candidate closer than ``stopping_condition_minimum_distance`` (> 0; 0 or
  negative: off) to the selection is never picked; the run stops when none is left.
  Alone it is exact farthest point (batched updates, see ``_Farthest``); with other
  terms each step picks the argmax of ``sum(strength * distance / max distance) +
  weights``. ``strength`` (DIVERSITY, WEIGHTS) is an optional extension, default 1.
* **BALANCE** (METADATA categories, or PREDICTIONS) takes precedence: each step only
  considers the candidates that most reduce the gap between ``target`` (category ->
  fraction, summing to at most 1; the categories without a target share the rest) and
  the fractions of the new selection so far; DIVERSITY and WEIGHTS choose among them
  (else sample order). PREDICTIONS count objects: a sample's mass is split over the
  categories of its objects.
* Only THRESHOLD given: the first passing samples in sample order.
* Size: ``nSamples`` (-1: no limit) and ``proportionSamples`` (of all n samples,
  rounded, at least 1); with both the smaller wins. Preselected samples condition
  DIVERSITY but are never returned and do not count.
* Rejected with ``SelectionError``: SIMILARITY (needs a query tag the local worker
  does not have), unknown keys or enum values, a strategy on an input it cannot use.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


class SelectionError(ValueError):
    """A selection config that cannot be applied to this data; the message says why."""


@dataclass(frozen=True)
class SelectionInputs:
    """Everything the strategies can read, aligned by sample position.

    ``category_names`` maps task -> categoryId -> category name (from the prediction
    task schema); BALANCE targets and ``categories`` use names, else ``str(id)``.
    """

    filenames: list[str]
    embeddings: np.ndarray | None
    scores: Mapping[str, np.ndarray]
    predictions: Mapping[str, Sequence[Any]]
    metadata: Sequence[Mapping[str, Any] | None]
    preselected: np.ndarray | None = None
    category_names: Mapping[str, Mapping[int, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SelectionResult:
    """Selected sample indices in selection order, and per-strategy stats for the report."""

    selected: np.ndarray
    stats: dict[str, Any]


def select(
    config: Mapping[str, Any], inputs: SelectionInputs, *, seed: int | None = None
) -> SelectionResult:
    """Apply a wire SelectionConfig (camelCase or snake_case keys) to ``inputs``."""
    n = len(inputs.filenames)
    _check_alignment(inputs, n)
    top = _canon(config, _TOP_KEYS, "selection config")
    entries = _entries(top.get("strategies"))
    limit = _limit(top, n, entries)
    pre = np.zeros(n, bool) if inputs.preselected is None else np.asarray(inputs.preselected, bool)
    plan = _Plan(candidates=~pre, preselected=pre)
    stats = [_apply(plan, where, inp, strat, inputs, seed) for where, inp, strat in entries]
    candidates = int(plan.candidates.sum())
    picked, stopped_by = _run(plan, limit)
    summary = {
        "n_samples_total": n,
        "n_preselected": int(pre.sum()),
        "n_candidates": candidates,
        "n_requested": limit,
        "n_selected": len(picked),
        "stopped_by": stopped_by,
        "strategies": stats,
    }
    return SelectionResult(picked, summary)


def _check_alignment(inputs: SelectionInputs, n: int) -> None:
    sizes = {"metadata": len(inputs.metadata)}
    if inputs.embeddings is not None:
        sizes["embeddings"] = len(inputs.embeddings)
    if inputs.preselected is not None:
        sizes["preselected"] = len(inputs.preselected)
    sizes.update({f"scores[{k}]": len(v) for k, v in inputs.scores.items()})
    sizes.update({f"predictions[{k}]": len(v) for k, v in inputs.predictions.items()})
    wrong = {k: v for k, v in sizes.items() if v != n}
    if wrong:
        raise SelectionError(f"inputs are not aligned with the {n} filenames: {wrong}")


def _canon(obj: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """Rename snake_case aliases, drop null values, reject unknown keys."""
    if not isinstance(obj, Mapping):
        raise SelectionError(f"{where} must be an object, not {type(obj).__name__}")
    out = {_ALIASES.get(str(k), str(k)): v for k, v in obj.items() if v is not None}
    unknown = sorted(set(out) - allowed)
    if unknown:
        raise SelectionError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    return out


def _entries(raw: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
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
        _enum(inp.get("type"), INPUT_TYPES, f"{where}: input type")
        _enum(strat.get("type"), STRATEGY_TYPES, f"{where}: strategy type")
        entries.append((where, inp, strat))
    return entries


def _enum(value: Any, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise SelectionError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def _limit(top: Mapping[str, Any], n: int, entries: Sequence[tuple[str, Any, Any]]) -> int:
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


def _apply(
    plan: _Plan,
    where: str,
    inp: dict[str, Any],
    strat: dict[str, Any],
    inputs: SelectionInputs,
    seed: int | None,
) -> dict[str, Any]:
    """Add one config entry to the plan; return its stats."""
    kind, itype = strat["type"], inp["type"]
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
    stats: dict[str, Any] = {"input": dict(inp), "strategy": dict(strat)}
    if itype == "RANDOM":
        used = inp.get("randomSeed", seed)
        used = secrets.randbits(32) if used is None else int(used)
        stats["random_seed"] = used
        values: np.ndarray = np.random.default_rng(used).random(len(inputs.filenames))
    elif kind == "BALANCE":
        _apply_balance(plan, where, inp, strat, inputs, stats)
        return stats
    elif kind == "DIVERSITY":
        values = _points(where, inp, inputs)
    else:
        values = _scalar(where, inp, inputs)
    valid = ~np.isnan(values).any(axis=1) if values.ndim == 2 else ~np.isnan(values)
    stats["missing_values"] = int((plan.candidates & ~valid).sum())
    plan.candidates &= valid
    if kind == "THRESHOLD":
        passed = OPERATIONS[strat["operation"]](np.where(valid, values, 0.0), strat["threshold"])
        stats["removed"] = int((plan.candidates & ~passed).sum())
        plan.candidates &= passed
        stats["kept"] = int(plan.candidates.sum())
    elif kind == "WEIGHTS":
        plan.weights.append(
            _Weights(np.where(valid, values, 0.0), float(strat.get("strength", 1.0)), stats)
        )
    else:
        points = values if valid.all() else np.where(valid[:, None], values, 0.0)
        points = points.astype(np.float32, copy=False)
        stop = strat.get("stopping_condition_minimum_distance")
        plan.diversity.append(
            _Diversity(points, float(strat.get("strength", 1.0)), stop, valid, stats)
        )
    return stats


def _check_strategy_fields(where: str, kind: str, strat: Mapping[str, Any]) -> None:
    allowed = {"type"} | {
        "DIVERSITY": {"stopping_condition_minimum_distance", "strength"},
        "WEIGHTS": {"strength"},
        "THRESHOLD": {"threshold", "operation"},
        "BALANCE": {"target"},
    }[kind]
    extra = sorted(set(strat) - allowed)
    if extra:
        raise SelectionError(f"{where}: {kind} does not take {extra}")
    if kind == "THRESHOLD":
        if not isinstance(strat.get("threshold"), (int, float)) or "operation" not in strat:
            raise SelectionError(
                f"{where}: THRESHOLD needs a number 'threshold' and an 'operation'"
            )
        _enum(strat["operation"], tuple(OPERATIONS), f"{where}: operation")
    for name in ("strength", "stopping_condition_minimum_distance"):
        if name in strat and (
            isinstance(strat[name], bool) or not isinstance(strat[name], (int, float))
        ):
            raise SelectionError(f"{where}: {name} must be a number, not {strat[name]!r}")


def _points(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> np.ndarray:
    """(n, d) vectors for DIVERSITY; NaN rows are missing."""
    if inp["type"] == "EMBEDDINGS":
        if inputs.embeddings is None:
            raise SelectionError(
                f"{where}: input type EMBEDDINGS needs embeddings, but this run has none"
            )
        return np.asarray(inputs.embeddings, dtype=np.float32)
    if inp["type"] == "PREDICTIONS" and _prediction_name(where, inp) == "CLASS_DISTRIBUTION":
        counts, _ = _prediction_counts(where, inp, inputs)
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, counts / totals, np.nan)
    return _scalar(where, inp, inputs)[:, None]


def _scalar(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> np.ndarray:
    """One number per sample (NaN: missing) from a SCORES, METADATA or PREDICTIONS input."""
    if inp["type"] == "SCORES":
        return _score_values(where, inp, inputs)
    if inp["type"] == "METADATA":
        raw = _metadata_values(where, inp, inputs)
        out = np.full(len(raw), np.nan)
        for i, value in enumerate(raw):
            if value is None:
                continue
            if isinstance(value, str) or not isinstance(value, (int, float)):
                raise SelectionError(
                    f"{where}: METADATA key {inp['key']!r} has the non-numeric "
                    f"value {value!r} (sample {inputs.filenames[i]!r}); "
                    "only BALANCE can use categories"
                )
            out[i] = float(value)
        return out
    if _prediction_name(where, inp) != "CATEGORY_COUNT":
        raise SelectionError(
            f"{where}: PREDICTIONS {inp['name']} is a distribution, not a "
            "number; use CATEGORY_COUNT (or DIVERSITY/BALANCE)"
        )
    counts, _ = _prediction_counts(where, inp, inputs)
    total: np.ndarray = counts.sum(axis=1)
    return total


def _score_values(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> np.ndarray:
    task, score = inp.get("task"), inp.get("score")
    if not task or not score:
        raise SelectionError(f"{where}: input type SCORES needs task and score")
    key = f"{task}/{score}"
    if key in inputs.scores:
        return np.asarray(inputs.scores[key], dtype=np.float64)
    if task in inputs.predictions:
        derived = scores_from_predictions(inputs.predictions[task])
        if score in derived:
            return derived[score]
    known = sorted(inputs.scores) + [f"{t}/{s}" for t in inputs.predictions for s in SCORE_NAMES]
    raise SelectionError(f"{where}: no scores {key!r}; available: {known or 'none'}")


def _metadata_values(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> list[Any]:
    key = inp.get("key")
    if not key:
        raise SelectionError(f"{where}: input type METADATA needs key")
    values = []
    for entry in inputs.metadata:
        value: Any = entry
        for part in str(key).split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        values.append(value)
    if all(v is None for v in values):
        raise SelectionError(f"{where}: no sample has metadata key {key!r}")
    return values


def _prediction_name(where: str, inp: Mapping[str, Any]) -> str:
    if not inp.get("task") or not inp.get("name"):
        raise SelectionError(
            f"{where}: input type PREDICTIONS needs task and name ({' or '.join(PREDICTION_NAMES)})"
        )
    _enum(inp["name"], PREDICTION_NAMES, f"{where}: PREDICTIONS name")
    return str(inp["name"])


def _prediction_counts(
    where: str, inp: Mapping[str, Any], inputs: SelectionInputs
) -> tuple[np.ndarray, list[str]]:
    """(n, k) object counts per category name of the task, NaN rows: no predictions."""
    task = inp["task"]
    if task not in inputs.predictions:
        raise SelectionError(
            f"{where}: no predictions for task {task!r}; "
            f"available: {sorted(inputs.predictions) or 'none'}"
        )
    names = dict(inputs.category_names.get(task, {}))
    per_sample = inputs.predictions[task]
    try:
        labels = [
            [names.get(int(p["categoryId"]), str(p["categoryId"])) for p in singletons or []]
            for singletons in per_sample
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise SelectionError(
            f"{where}: predictions of task {task!r} need an integer "
            f"categoryId in every singleton ({error!r})"
        ) from error
    wanted = inp.get("categories")
    columns = list(wanted) if wanted else sorted({x for row in labels for x in row})
    position = {name: j for j, name in enumerate(columns)}
    counts = np.zeros((len(per_sample), len(columns)))
    for i, row in enumerate(labels):
        if not per_sample[i]:
            counts[i] = np.nan
        for label in row:
            if label in position:
                counts[i, position[label]] += 1
    return counts, columns


def _apply_balance(
    plan: _Plan,
    where: str,
    inp: dict[str, Any],
    strat: dict[str, Any],
    inputs: SelectionInputs,
    stats: dict[str, Any],
) -> None:
    target = strat.get("target")
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
    if inp["type"] == "METADATA":
        raw = _metadata_values(where, inp, inputs)
        labels = [None if v is None else _category(v) for v in raw]
        columns = sorted({x for x in labels if x is not None} | set(target))
        position = {name: j for j, name in enumerate(columns)}
        matrix = np.zeros((len(labels), len(columns)))
        for i, label in enumerate(labels):
            if label is None:
                matrix[i] = np.nan
            else:
                matrix[i, position[label]] = 1.0
    else:
        _prediction_name(where, inp)
        counts, found = _prediction_counts(where, inp, inputs)
        columns = found + sorted(set(target) - set(found))
        counts = np.pad(counts, ((0, 0), (0, len(columns) - len(found))))
        with np.errstate(invalid="ignore", divide="ignore"):
            matrix = counts / counts.sum(axis=1, keepdims=True)
    valid = ~np.isnan(matrix).any(axis=1)
    stats["missing_values"] = int((plan.candidates & ~valid).sum())
    plan.candidates &= valid
    goal = np.array([float(target.get(c, 0.0)) for c in columns])
    plan.balance.append(
        _Balance(
            np.nan_to_num(matrix),
            goal,
            np.array([c not in target for c in columns]),
            columns,
            stats,
        )
    )


def _category(value: Any) -> str:
    """A metadata value as a category name (``2.0`` -> ``"2"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


SCORE_NAMES = ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")


def scores_from_predictions(
    per_sample: Sequence[Sequence[Mapping[str, Any]] | None],
) -> dict[str, np.ndarray]:
    """Uncertainty scores in [0, 1] per sample from prediction singletons (NaN: none).

    A singleton's class probabilities are its ``probabilities`` or, without them,
    ``[score, 1 - score]``. least_confidence = (1 - max p) * k / (k - 1); margin =
    1 - (p1 - p2); entropy = H(p) / log k. A sample with several singletons (object
    detection) gets the maximum over its objects.
    """
    out = {name: np.full(len(per_sample), np.nan) for name in SCORE_NAMES}
    for i, singletons in enumerate(per_sample):
        for singleton in singletons or []:
            probs = singleton.get("probabilities")
            if not probs:
                s = float(singleton.get("score", 1.0))
                probs = [s, 1.0 - s]
            p = np.clip(np.sort(np.asarray(probs, dtype=np.float64))[::-1], 0.0, 1.0)
            k = max(len(p), 2)
            p = np.pad(p, (0, k - len(p)))
            entropy = -float(np.sum(p[p > 0] * np.log(p[p > 0]))) / np.log(k)
            values = ((1 - p[0]) * k / (k - 1), 1 - (p[0] - p[1]), entropy)
            for name, value in zip(SCORE_NAMES, values, strict=True):
                out[name][i] = np.fmax(out[name][i], min(max(value, 0.0), 1.0))
    return out


# --- the greedy core -------------------------------------------------------------------


@dataclass
class _Weights:
    values: np.ndarray  # (n,) raw weights
    strength: float
    stats: dict[str, Any]


@dataclass
class _Diversity:
    points: np.ndarray  # (n, d) float32
    strength: float
    stop: float | None
    valid: np.ndarray
    stats: dict[str, Any]


@dataclass
class _Balance:
    matrix: np.ndarray  # (n, k) category fractions per sample
    goal: np.ndarray  # (k,) target fractions
    free: np.ndarray  # (k,) columns without a target
    columns: list[str]
    stats: dict[str, Any]


@dataclass
class _Plan:
    candidates: np.ndarray
    preselected: np.ndarray
    weights: list[_Weights] = field(default_factory=list)
    diversity: list[_Diversity] = field(default_factory=list)
    balance: list[_Balance] = field(default_factory=list)


def _run(plan: _Plan, limit: int) -> tuple[np.ndarray, str]:
    """Pick up to ``limit`` candidates; return them and why the selection stopped."""
    idx = np.flatnonzero(plan.candidates)
    weights = _combined_weights(plan.weights, idx)
    terms = [_DiversityState(t, idx, plan.preselected) for t in plan.diversity]
    if not terms and not plan.balance:
        order = idx if weights is None else idx[np.argsort(-weights, kind="stable")]
        picked = order[:limit]
        stopped = "n_samples" if len(idx) >= limit else "exhausted"
    else:
        if len(terms) == 1 and weights is None and not plan.balance:
            chosen, stopped = _Farthest(terms[0]).run(limit)
        else:
            chosen, stopped = _joint(terms, weights, plan.balance, idx, limit)
        picked = idx[np.asarray(chosen, dtype=np.int64)]
        for t in terms:
            finite = [d for d in t.picked_at if np.isfinite(d)]
            t.term.stats["min_distance_selected"] = min(finite) if finite else None
    for w in plan.weights:
        w.stats["mean_weight_candidates"] = float(w.values[idx].mean()) if len(idx) else None
        w.stats["mean_weight_selected"] = float(w.values[picked].mean()) if len(picked) else None
    for b in plan.balance:
        sums = b.matrix[picked].sum(axis=0)
        total = sums.sum() or 1.0
        b.stats["achieved"] = {c: float(v / total) for c, v in zip(b.columns, sums, strict=True)}
    return picked.astype(np.int64), stopped


def _combined_weights(terms: Sequence[_Weights], idx: np.ndarray) -> np.ndarray | None:
    """Sum of strength * min-max normalised weights over the candidates."""
    if not terms:
        return None
    total = np.zeros(len(idx))
    for term in terms:
        v = term.values[idx].astype(np.float64)
        span = float(v.max() - v.min()) if len(v) else 0.0
        if span > 0:
            total += term.strength * (v - v.min()) / span
    return total


def _joint(
    terms: Sequence[_DiversityState],
    weights: np.ndarray | None,
    balance: Sequence[_Balance],
    idx: np.ndarray,
    limit: int,
) -> tuple[list[int], str]:
    """Greedy picks on the joint score (one pass over the candidates per pick)."""
    balances = [_BalanceState(b, idx) for b in balance]
    alive = np.ones(len(idx), bool)
    chosen: list[int] = []
    pruned = False
    while len(chosen) < limit:
        pruned = any([t.prune(alive) for t in terms]) or pruned
        j = _choose(terms, weights, balances, alive)
        if j < 0:
            return chosen, "minimum_distance" if pruned else "exhausted"
        chosen.append(j)
        alive[j] = False
        for state in terms:
            state.add(j)
        for balance_state in balances:
            balance_state.add(j)
    return chosen, "n_samples"


def _choose(
    terms: Sequence[_DiversityState],
    weights: np.ndarray | None,
    balances: Sequence[_BalanceState],
    alive: np.ndarray,
) -> int:
    """Index (into the candidates) of the next pick, or -1 when none is left."""
    if not alive.any():
        return -1
    if len(terms) == 1 and weights is None and not balances:
        return int(np.argmax(np.where(alive, terms[0].ranking(), -np.inf)))
    score = np.zeros(len(alive)) if weights is None else weights.copy()
    for t in terms:
        distance = np.sqrt(t.ranking(), dtype=np.float64)
        top = distance[alive].max()
        if top > 0:
            score += t.term.strength * distance / top
    if balances:
        gain = np.sum([b.gain() for b in balances], axis=0)
        alive = alive & (gain >= gain[alive].max() - 1e-9)
    return int(np.argmax(np.where(alive, score, -np.inf)))


class _DiversityState:
    """Squared distance of every candidate to its nearest selected (or preselected) point."""

    def __init__(self, term: _Diversity, idx: np.ndarray, preselected: np.ndarray) -> None:
        self.term = term
        # Centred, so float32 |x|^2 - 2x.c + |c|^2 does not cancel away small distances.
        x = term.points if len(idx) == len(term.points) else term.points[idx]
        offset = x.mean(axis=0, dtype=np.float64).astype(np.float32) if len(x) else 0.0
        self.x = np.ascontiguousarray(x - offset)
        self.sq = np.einsum("ij,ij->i", self.x, self.x)
        centres = term.points[preselected & term.valid] - offset
        self.empty = len(centres) == 0
        self.mind = _min_sq_distances(self.x, self.sq, centres)
        self.stop2 = None if term.stop is None or term.stop <= 0 else float(term.stop) ** 2
        self.picked_at: list[float] = []
        self._buf = np.empty(len(idx), np.float32)

    def ranking(self) -> np.ndarray:
        """Squared distances to rank by; before any centre, to the candidates' mean."""
        if not self.empty:
            return self.mind
        ranked: np.ndarray = self.sq  # the candidates are centred
        return ranked

    def prune(self, alive: np.ndarray) -> bool:
        """Drop candidates closer than the stopping distance; True if any was dropped."""
        if self.stop2 is None or self.empty:
            return False
        close = alive & (self.mind < self.stop2)
        alive &= ~close
        return bool(close.any())

    def add(self, j: int) -> None:
        self.picked_at.append(float(np.sqrt(self.mind[j])))
        buf = self._buf
        np.dot(self.x, self.x[j], out=buf)
        buf *= -2.0
        buf += self.sq
        buf += self.sq[j]
        np.maximum(buf, 0.0, out=buf)
        np.minimum(self.mind, buf, out=self.mind)
        self.empty = False


class _Farthest:
    """Exact farthest-point picks for a lone DIVERSITY term, with batched updates.

    New centres stay pending until ``batch`` of them are folded into ``mind`` by one
    matrix product. Meanwhile ``mind`` is an upper bound: the candidates ranked by it
    are checked exactly against the pending centres until the best exact value is at
    least the next bound, which makes it the true farthest point.
    """

    batch, head, chunk = 64, 2048, 128

    def __init__(self, state: _DiversityState) -> None:
        self.s = state
        self.alive = np.ones(len(state.x), bool)
        self.pending: list[int] = []
        self.order = np.zeros(0, np.int64)
        self.complete = False

    def run(self, limit: int) -> tuple[list[int], str]:
        chosen: list[int] = []
        if self.s.empty and len(self.s.x):
            chosen.append(int(np.argmax(self.s.ranking())))
            self._take(chosen[0], np.inf)
        self._refresh()
        while len(chosen) < limit:
            if len(self.pending) >= self.batch:
                self._refresh()
            found = self._walk()
            if found is None:
                self._refresh()
                j = int(self.order[0]) if len(self.order) else -1
                if j < 0 or not self.alive[j]:
                    return chosen, "exhausted"
                found = (j, float(self.s.mind[j]))
            if self.s.stop2 is not None and found[1] < self.s.stop2:
                return chosen, "minimum_distance"
            chosen.append(found[0])
            self._take(*found)
        return chosen, "n_samples"

    def _take(self, j: int, value: float) -> None:
        self.s.picked_at.append(float(np.sqrt(value)))
        self.alive[j] = False
        self.pending.append(j)
        self.s.empty = False

    def _refresh(self) -> None:
        s = self.s
        if self.pending:
            np.minimum(s.mind, _min_sq_distances(s.x, s.sq, s.x[self.pending]), out=s.mind)
            self.pending = []
        ranked = np.where(self.alive, s.mind, -np.inf)
        top = (
            np.argpartition(-ranked, self.head)[: self.head]
            if len(ranked) > self.head
            else np.arange(len(ranked))
        )
        self.order = top[np.argsort(-ranked[top], kind="stable")]
        self.order = self.order[self.alive[self.order]]
        self.complete = len(ranked) <= self.head

    def _walk(self) -> tuple[int, float] | None:
        """The exact farthest alive candidate, or None when the ranked head does not tell."""
        s, order = self.s, self.order
        centres = s.x[self.pending]
        centres_sq = s.sq[self.pending]
        best, best_value = -1, -np.inf
        for start in range(0, len(order), self.chunk):
            ids = order[start : start + self.chunk]
            ids = ids[self.alive[ids]]
            if len(ids):
                d = s.sq[ids, None] - 2.0 * (s.x[ids] @ centres.T) + centres_sq
                exact = np.minimum(s.mind[ids], np.maximum(d.min(axis=1, initial=np.inf), 0))
                k = int(np.argmax(exact))
                if exact[k] > best_value:
                    best, best_value = int(ids[k]), float(exact[k])
            end = start + self.chunk
            if end >= len(order):
                return (best, best_value) if self.complete and best >= 0 else None
            if best_value >= s.mind[order[end]]:
                return best, best_value
        return None


def _min_sq_distances(x: np.ndarray, sq: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distance of each row of ``x`` to its nearest centre (inf without centres)."""
    out = np.full(len(x), np.inf, np.float32)
    for start in range(0, len(centres), 256):
        block = centres[start : start + 256].astype(np.float32)
        block_sq = np.einsum("ij,ij->i", block, block)
        for row in range(0, len(x), 16384):
            part = sq[row : row + 16384, None] - 2.0 * (x[row : row + 16384] @ block.T) + block_sq
            np.minimum(out[row : row + 16384], part.min(axis=1), out=out[row : row + 16384])
    return np.maximum(out, 0.0)


class _BalanceState:
    """Category mass of the new selection; gain of each candidate towards the target."""

    def __init__(self, term: _Balance, idx: np.ndarray) -> None:
        self.p = term.matrix[idx]
        self.goal = term.goal
        self.free = term.free
        self.rest = max(0.0, 1.0 - float(term.goal.sum()))
        self.sums = np.zeros(len(term.goal))

    def gain(self) -> np.ndarray:
        total = self.sums.sum()
        fraction = self.sums / total if total > 0 else self.sums
        need = self.goal - fraction
        need[self.free] = self.rest - fraction[self.free].sum()
        gain: np.ndarray = self.p @ need
        return gain

    def add(self, j: int) -> None:
        self.sums += self.p[j]
