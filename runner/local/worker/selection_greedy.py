"""The greedy core: a selection plan's terms, and picking samples from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Weights:
    """A WEIGHTS term: raw weights, min-max normalised over the candidates when run."""

    values: np.ndarray  # (n,) raw weights
    strength: float
    stats: dict[str, Any]


@dataclass
class Diversity:
    """A DIVERSITY term: one point per sample (rows not ``valid`` are zeros)."""

    points: np.ndarray  # (n, d) float32
    strength: float
    stop: float | None
    valid: np.ndarray
    stats: dict[str, Any]


@dataclass
class Balance:
    """A BALANCE term: the category fractions of each sample and the target.

    Without ``strength`` it takes precedence over the other terms; with it, its gain
    is one more weighted term of the joint score.
    """

    matrix: np.ndarray  # (n, k) category fractions per sample
    goal: np.ndarray  # (k,) target fractions
    free: np.ndarray  # (k,) columns without a target
    columns: list[str]
    stats: dict[str, Any]
    strength: float | None = None


@dataclass
class Plan:
    """The config entries applied: the candidates left, the preselected samples, the terms."""

    candidates: np.ndarray
    preselected: np.ndarray
    weights: list[Weights] = field(default_factory=list)
    diversity: list[Diversity] = field(default_factory=list)
    balance: list[Balance] = field(default_factory=list)


def run_plan(plan: Plan, limit: int) -> tuple[np.ndarray, str]:
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
            t.term.stats["duplicates_skipped"] = t.duplicates_skipped
    for w in plan.weights:
        w.stats["mean_weight_candidates"] = float(w.values[idx].mean()) if len(idx) else None
        w.stats["mean_weight_selected"] = float(w.values[picked].mean()) if len(picked) else None
    for b in plan.balance:
        sums = b.matrix[picked].sum(axis=0)
        total = sums.sum() or 1.0
        b.stats["achieved"] = {c: float(v / total) for c, v in zip(b.columns, sums, strict=True)}
    return picked.astype(np.int64), stopped


def _combined_weights(terms: Sequence[Weights], idx: np.ndarray) -> np.ndarray | None:
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
    balance: Sequence[Balance],
    idx: np.ndarray,
    limit: int,
) -> tuple[list[int], str]:
    """Greedy picks on the joint score (one pass over the candidates per pick)."""
    balances = [_BalanceState(b, idx) for b in balance]
    alive = np.ones(len(idx), bool)
    for state in terms:
        state.drop_duplicates(alive)
    chosen: list[int] = []
    pruned = False
    while len(chosen) < limit:
        pruned = any([t.prune(alive) for t in terms]) or pruned
        j = _choose(terms, weights, balances, alive)
        if j < 0:
            if pruned:
                return chosen, "minimum_distance"
            return chosen, "duplicates" if any(t.duplicates_skipped for t in terms) else "exhausted"
        chosen.append(j)
        alive[j] = False
        for state in terms:
            state.add(j)
            state.drop_duplicates(alive, j)
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
    if not balances:
        return int(np.argmax(np.where(alive, score, -np.inf)))
    leading = [b for b in balances if b.strength is None]
    for b in balances:
        if b.strength is not None:
            score += b.strength * _min_max(b.gain(), alive)
    for b in leading:
        # never a category without target share while one with a share has candidates
        wanted = alive & (b.wanted > 0)
        if wanted.any():
            alive = wanted
    if leading:
        gain = np.sum([b.gain() for b in leading], axis=0)
        alive = alive & (gain >= gain[alive].max() - 1e-9)
    ranked = np.where(alive, score, -np.inf)
    # ties (all gains 0 once on target) go to the most mass in categories with a share
    tied = ranked >= ranked.max()
    wanted_mass = np.sum([b.wanted for b in balances], axis=0)
    return int(np.argmax(np.where(tied, wanted_mass, -np.inf)))


def _min_max(values: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """``values`` scaled so that the alive ones span [0, 1] (all 0 when they are equal)."""
    low, high = values[alive].min(), values[alive].max()
    scaled: np.ndarray = (values - low) / (high - low) if high > low else np.zeros(len(values))
    return scaled


class _DiversityState:
    """Squared distance of every candidate to its nearest selected (or preselected) point,
    and the candidates' exact duplicates, which are dropped when their twin is a centre."""

    def __init__(self, term: Diversity, idx: np.ndarray, preselected: np.ndarray) -> None:
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
        self.dead, self.group, self.members = _exact_duplicates(
            term.points, idx, np.flatnonzero(preselected & term.valid)
        )
        self.duplicates_skipped = 0

    def drop_duplicates(self, alive: np.ndarray, j: int | None = None) -> None:
        """Mark not ``alive`` the exact duplicates (distance 0) of the new pick ``j``, or,
        without ``j``, of the preselected samples."""
        if j is None:
            twins = self.dead
        elif self.group[j] >= 0:
            twins = self.members[self.group[j]]
        else:
            return
        self.duplicates_skipped += int(alive[twins].sum())
        alive[twins] = False

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
        state.drop_duplicates(self.alive)
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
                    return chosen, "duplicates" if self.s.duplicates_skipped else "exhausted"
                found = (j, float(self.s.mind[j]))
            if self.s.stop2 is not None and found[1] < self.s.stop2:
                return chosen, "minimum_distance"
            chosen.append(found[0])
            self._take(*found)
        return chosen, "n_samples"

    def _take(self, j: int, value: float) -> None:
        self.s.picked_at.append(float(np.sqrt(value)))
        self.alive[j] = False
        self.s.drop_duplicates(self.alive, j)
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


def _exact_duplicates(
    points: np.ndarray, idx: np.ndarray, centres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Exact duplicates among the candidates ``points[idx]`` and the centres ``points[centres]``.

    Returns the candidates equal to a centre; per candidate its group of equal
    candidates (-1: none); each group's candidates (positions in ``idx``). Rows are
    bucketed by a hash of their bytes and only colliding rows are compared.
    """
    rows = np.concatenate([idx, centres])
    hashes = _row_hashes(points, rows)
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    same = sorted_hashes[1:] == sorted_hashes[:-1]
    dead = np.zeros(0, np.int64)
    group = np.full(len(idx), -1, np.int64)
    if not same.any():
        return dead, group, []
    colliding = order[np.flatnonzero(np.r_[same, False] | np.r_[False, same])]
    block = np.ascontiguousarray(points[rows[colliding]], dtype=np.float32) + np.float32(0.0)
    keys = block.view(np.dtype((np.void, block.dtype.itemsize * block.shape[1]))).ravel()
    _, label, count = np.unique(keys, return_inverse=True, return_counts=True)
    label = label.ravel()
    several = count[label] > 1
    colliding, label = colliding[several], label[several]
    is_candidate = colliding < len(idx)
    with_centre = np.unique(label[~is_candidate])
    dead_mask = is_candidate & np.isin(label, with_centre)
    dead = colliding[dead_mask]
    keep = is_candidate & ~dead_mask
    colliding, label = colliding[keep], label[keep]
    members: list[np.ndarray] = []
    if len(colliding):
        by_label = np.argsort(label, kind="stable")
        colliding, label = colliding[by_label], label[by_label]
        starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
        for part in np.split(colliding, starts[1:]):
            if len(part) > 1:
                group[part] = len(members)
                members.append(part)
    return dead, group, members


def _row_hashes(points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of the float32 bytes of each ``points[rows]`` (equal rows, equal hashes)."""
    dim = points.shape[1] if points.ndim == 2 else 1
    factors = np.random.default_rng(5).integers(1, 2**63, dim, dtype=np.uint64) | np.uint64(1)
    out = np.empty(len(rows), np.uint64)
    for start in range(0, len(rows), 1024):
        part = points[rows[start : start + 1024]].astype(np.float32) + np.float32(0.0)  # -0 -> 0
        words = part.reshape(len(part), dim).view(np.uint32).astype(np.uint64)
        words *= factors  # wraps modulo 2**64
        out[start : start + 1024] = words.sum(axis=1)
    return out


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

    def __init__(self, term: Balance, idx: np.ndarray) -> None:
        self.p = term.matrix[idx]
        self.goal = term.goal
        self.free = term.free
        rest = 1.0 - float(term.goal.sum())
        # as in the target's check: 0.7 + 0.2 + 0.1 leaves 1e-16, which is no share
        self.rest = rest if rest > 1e-9 else 0.0
        self.sums = np.zeros(len(term.goal))
        self.strength = term.strength
        share = (term.goal > 0) | (term.free & (self.rest > 0))
        #: each candidate's mass in categories with a target share
        self.wanted: np.ndarray = self.p @ share.astype(np.float64)

    def gain(self) -> np.ndarray:
        total = self.sums.sum()
        fraction = self.sums / total if total > 0 else self.sums
        need = self.goal - fraction
        need[self.free] = self.rest - fraction[self.free].sum()
        gain: np.ndarray = self.p @ need
        return gain

    def add(self, j: int) -> None:
        self.sums += self.p[j]
