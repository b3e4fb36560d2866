"""The local worker's selection: ``select`` applies a wire SelectionConfig to arrays (no I/O).

Semantics (what ``select`` does with a config):

* **Inputs** turn into one value per sample. EMBEDDINGS: the (n, d) vectors.
  SCORES: ``scores["<task>/<score>"]``; when absent, the uncertainty scores
  ``uncertainty_least_confidence``, ``uncertainty_margin`` and ``uncertainty_entropy``
  are derived from the task's predictions (``scores_from_predictions``).
  METADATA: the dotted ``key`` looked up in each sample's mapping (the worker puts the
  computed image metadata under ``"lightly"``, so ``lightly.sharpness`` works beside
  custom keys such as ``weather.scenario``). PREDICTIONS: per-sample object counts per
  category of ``task`` (restricted to ``categories`` when given); ``CATEGORY_COUNT``
  as a number is their sum, ``CLASS_DISTRIBUTION`` is the vector of fractions. An
  empty prediction list is an image with 0 objects; only an image without a
  prediction entry has no value (and no distribution either way).
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
  Exact duplicates (distance 0) of a selected or preselected sample are never picked
  either (as in the Lightly Worker), so fewer than ``nSamples`` may be selected
  (``stopped_by``: ``"duplicates"``; each term counts ``duplicates_skipped``).
  Alone it is exact farthest point (batched updates, see ``selection_greedy._Farthest``);
  with other terms each step picks the argmax of ``sum(strength * distance / max
  distance) + weights``.
* **BALANCE** (METADATA categories, or PREDICTIONS) without ``strength`` takes
  precedence: each step only considers the candidates that most reduce the gap
  between ``target`` (category -> fraction, summing to at most 1; the categories
  without a target share the rest) and the fractions of the new selection so far;
  DIVERSITY and WEIGHTS choose among them (else sample order). A candidate only in
  categories without a share (target 0, or untargeted when the targets sum to 1) is
  taken only once no candidate with a share is left. With ``strength`` BALANCE is
  soft: ``strength *`` the gain, min-max normalised over the candidates, is added to
  the joint score. PREDICTIONS count objects: a sample's mass is split over the
  categories of its objects. A boolean metadata value matches its target key in any
  case (``"true"``, ``"True"``).
* ``strength`` is optional on every strategy (default 1), as in the Lightly docs:
  the weight of a DIVERSITY or WEIGHTS term, of a BALANCE as above; THRESHOLD, a
  hard filter, accepts it without effect.
* Only THRESHOLD given: the first passing samples in sample order.
* Size: ``nSamples`` (-1: no limit) and ``proportionSamples`` (of all n samples,
  rounded, at least 1); with both the smaller wins. Preselected samples condition
  DIVERSITY but are never returned and do not count.
* ``select`` may return no sample; ``why_nothing_selected`` says why from its stats.
* Rejected with ``SelectionError``: SIMILARITY (needs a query tag the local worker
  does not have), unknown keys or enum values, a strategy on an input it cannot use.

Here: ``select`` and the application of each config entry to a ``Plan``. The parts:
``selection_types`` (inputs, result, error), ``selection_config`` (parsing and
validation), ``selection_values`` (what each input type reads) and ``selection_greedy``
(picking from the plan). The public names are re-exported here (``__all__``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from runner.local.worker.selection_config import (
    ACCEPTS,
    INPUT_TYPES,
    OPERATIONS,
    PREDICTION_NAMES,
    STRATEGY_TYPES,
    check_selection_config,
    check_strategy,
    parse,
)
from runner.local.worker.selection_greedy import Balance, Diversity, Plan, Weights, run_plan
from runner.local.worker.selection_types import SelectionError, SelectionInputs, SelectionResult
from runner.local.worker.selection_values import (
    SCORE_NAMES,
    category_fractions,
    diversity_points,
    random_values,
    scalar_values,
    scores_from_predictions,
)

__all__ = [
    "ACCEPTS",
    "INPUT_TYPES",
    "OPERATIONS",
    "PREDICTION_NAMES",
    "SCORE_NAMES",
    "STRATEGY_TYPES",
    "SelectionError",
    "SelectionInputs",
    "SelectionResult",
    "check_selection_config",
    "scores_from_predictions",
    "select",
    "why_fewer_selected",
    "why_nothing_selected",
]


def select(
    config: Mapping[str, Any], inputs: SelectionInputs, *, seed: int | None = None
) -> SelectionResult:
    """Apply a wire SelectionConfig (camelCase or snake_case keys) to ``inputs``."""
    n = len(inputs.filenames)
    _check_alignment(inputs, n)
    entries, limit = parse(config, n)
    pre = np.zeros(n, bool) if inputs.preselected is None else np.asarray(inputs.preselected, bool)
    plan = Plan(candidates=~pre, preselected=pre)
    stats = []
    for where, inp, strat in entries:
        stats.append(_apply(plan, where, inp, strat, inputs, seed))
        stats[-1]["candidates_left"] = int(plan.candidates.sum())
    candidates = int(plan.candidates.sum())
    picked, stopped_by = run_plan(plan, limit)
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


def why_nothing_selected(stats: Mapping[str, Any]) -> str:
    """Why a selection with these ``SelectionResult.stats`` picked no sample."""
    total, pre = stats["n_samples_total"], stats["n_preselected"]
    if total == pre:
        return f"all {total} samples are preselected; there is nothing new to select"
    left = total - pre
    for i, entry in enumerate(stats["strategies"], 1):
        if entry.get("candidates_left") == 0:
            return f"strategy {i} ({_describe(entry)}) left none of the {left} candidates"
    if stats["stopped_by"] == "minimum_distance":
        return (
            f"each of the {left} candidates is closer than "
            "stopping_condition_minimum_distance to a preselected sample"
        )
    if stats["stopped_by"] == "duplicates":
        return f"each of the {left} candidates is an exact duplicate of a preselected sample"
    return f"none of the {left} candidates could be selected"


_STOPPED_BY = {
    "duplicates": "the other candidates' embeddings equal those of selected samples",
    "minimum_distance": "the other candidates are closer than "
    "stopping_condition_minimum_distance to selected samples",
    "exhausted": "no other candidate was left",
}


def why_fewer_selected(stats: Mapping[str, Any]) -> str:
    """`` (5 were asked: why)`` when a selection with these ``SelectionResult.stats``
    picked fewer samples than asked, else ""."""
    asked, selected = stats["n_requested"], stats["n_selected"]
    reason = _STOPPED_BY.get(stats["stopped_by"])
    if selected >= asked or reason is None:
        return ""
    return f" ({asked} were asked: {reason})"


def _describe(entry: Mapping[str, Any]) -> str:
    """``THRESHOLD on METADATA lightly.sharpness BIGGER 5: 3 without a value, 7 removed``."""
    inp, strat = entry["input"], entry["strategy"]
    source = "/".join(str(inp[k]) for k in ("task", "score", "name", "key") if inp.get(k))
    words = [strat["type"], "on", inp["type"], source]
    if strat["type"] == "THRESHOLD":
        words += [strat["operation"], str(strat["threshold"])]
    counts = [f"{entry['missing_values']} without a value"] if entry.get("missing_values") else []
    if entry.get("removed"):
        counts.append(f"{entry['removed']} removed")
    text = " ".join(w for w in words if w)
    return f"{text}: {', '.join(counts)}" if counts else text


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


def _apply(
    plan: Plan,
    where: str,
    inp: dict[str, Any],
    strat: dict[str, Any],
    inputs: SelectionInputs,
    seed: int | None,
) -> dict[str, Any]:
    """Add one config entry to the plan; return its stats."""
    kind, itype = strat["type"], inp["type"]
    check_strategy(where, kind, itype, strat)
    stats: dict[str, Any] = {"input": dict(inp), "strategy": dict(strat)}
    if itype == "RANDOM":
        used, values = random_values(inp, inputs, seed)
        stats["random_seed"] = used
    elif kind == "BALANCE":
        _apply_balance(plan, where, inp, strat, inputs, stats)
        return stats
    elif kind == "DIVERSITY":
        values = diversity_points(where, inp, inputs)
    else:
        values = scalar_values(where, inp, inputs)
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
            Weights(np.where(valid, values, 0.0), float(strat.get("strength", 1.0)), stats)
        )
    else:
        points = values if valid.all() else np.where(valid[:, None], values, 0.0)
        points = points.astype(np.float32, copy=False)
        stop = strat.get("stopping_condition_minimum_distance")
        plan.diversity.append(
            Diversity(points, float(strat.get("strength", 1.0)), stop, valid, stats)
        )
    return stats


def _apply_balance(
    plan: Plan,
    where: str,
    inp: dict[str, Any],
    strat: dict[str, Any],
    inputs: SelectionInputs,
    stats: dict[str, Any],
) -> None:
    target = strat["target"]
    matrix, columns = category_fractions(where, inp, inputs, target)
    valid = ~np.isnan(matrix).any(axis=1)
    stats["missing_values"] = int((plan.candidates & ~valid).sum())
    plan.candidates &= valid
    goal = np.array([float(target.get(c, 0.0)) for c in columns])
    strength = strat.get("strength")
    plan.balance.append(
        Balance(
            np.nan_to_num(matrix),
            goal,
            np.array([c not in target for c in columns]),
            columns,
            stats,
            None if strength is None else float(strength),
        )
    )
