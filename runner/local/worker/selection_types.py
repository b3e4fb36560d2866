"""The selection's data types and its one error: what ``select`` reads, returns and raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


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
