"""What each selection input type reads from ``SelectionInputs`` (NaN: missing)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from runner.local.worker.selection_config import PREDICTION_NAMES, check_one_of
from runner.local.worker.selection_types import SelectionError, SelectionInputs

SCORE_NAMES = ("uncertainty_least_confidence", "uncertainty_margin", "uncertainty_entropy")


def random_values(
    inp: Mapping[str, Any], inputs: SelectionInputs, seed: int | None
) -> tuple[int, np.ndarray]:
    """A uniform [0, 1) per sample, and its seed: ``randomSeed``, else ``seed``, else fresh."""
    used = inp.get("randomSeed", seed)
    used = secrets.randbits(32) if used is None else int(used)
    values: np.ndarray = np.random.default_rng(used).random(len(inputs.filenames))
    return used, values


def diversity_points(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> np.ndarray:
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
    return scalar_values(where, inp, inputs)[:, None]


def scalar_values(where: str, inp: Mapping[str, Any], inputs: SelectionInputs) -> np.ndarray:
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


def category_fractions(
    where: str, inp: Mapping[str, Any], inputs: SelectionInputs, target: Mapping[str, Any]
) -> tuple[np.ndarray, list[str]]:
    """(n, k) fraction of each sample in each category (NaN rows: missing), and the k names.

    The categories are those found in the data plus those of ``target``. A METADATA
    value is one category; PREDICTIONS split a sample over the categories of its objects.
    """
    if inp["type"] == "METADATA":
        raw = _metadata_values(where, inp, inputs)
        labels = [None if v is None else _category(v, target) for v in raw]
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
    return matrix, columns


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
    check_one_of(inp["name"], PREDICTION_NAMES, f"{where}: PREDICTIONS name")
    return str(inp["name"])


def _prediction_counts(
    where: str, inp: Mapping[str, Any], inputs: SelectionInputs
) -> tuple[np.ndarray, list[str]]:
    """(n, k) object counts per category name of the task; NaN rows: no prediction entry
    (an empty list is an image with 0 objects)."""
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
        if per_sample[i] is None:
            counts[i] = np.nan
        for label in row:
            if label in position:
                counts[i, position[label]] += 1
    return counts, columns


def _category(value: Any, target: Mapping[str, Any]) -> str:
    """A metadata value as a category name (``2.0`` -> ``"2"``); a boolean is the target
    key spelling it in any case (``"true"``, ``"TRUE"``), else ``"True"``/``"False"``."""
    if isinstance(value, bool):
        name = str(value)
        if name in target:
            return name
        return next((str(k) for k in target if str(k).lower() == name.lower()), name)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


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
