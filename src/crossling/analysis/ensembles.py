"""The arithmetic of ensembles: combining members' rows, fitting their weights, the oracle and the member baselines.

A member's *row* is what it saved for one feature row (``crossling.evaluation.logits``):
logits, or for retrieval one query's similarities to every candidate. With M members, weights
``w`` on the simplex (uniform unless fitted) and ``axis`` the kind's ``probability_axis``, an
ensemble's row ``i`` is, by ``method``:

* ``prob`` (and ``weighted``): ``log(sum_m w_m softmax_axis(row_m[i]))``, the mixture of the
  members' distributions; a kind without a probability axis (retrieval similarities)
  combines its scores as ``sum_m w_m row_m[i]``: the averaged similarity matrix.
* ``logit``: ``sum_m w_m row_m[i]``, the mean of the raw logits (or similarities).
* ``vote``: each member votes for the argmax along ``axis``; an entry scores
  ``votes + 0.5 * mean_m softmax_axis(row_m[i])``, so the most voted entry wins and a tie
  between entries with equal votes goes to the higher mean probability (then, if still
  equal, to the lower index: numpy's argmax). QA votes per position for the start and the
  end separately; the span decoder then adds a start's and an end's scores.

``weighted`` weights are fitted on English dev by ``fit_simplex_weights``: a grid over the
simplex, scored with the kind's own scorer. ``oracle_rows`` and ``compare_with_members``
give what ``crossling.pipelines.ensemble`` reports beside the ensemble.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from crossling.analysis.stats import Interval, bootstrap_pvalue, bootstrap_replicates, percentile_interval
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import FRACTIONS, metric_from_sums

#: Ensemble methods (see the module docstring).
METHODS = ("prob", "logit", "vote", "weighted")
#: Most simplex points the weight grid scores (the step is coarsened to stay below it).
MAX_GRID_POINTS = 300


def _log_softmax(row: np.ndarray, axis: int) -> np.ndarray:
    shifted = row - row.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _aligned(members: Sequence[Sequence[np.ndarray]]) -> list[tuple[np.ndarray, ...]]:
    """The members' rows zipped, checking every member has as many rows and each row the same shape."""
    counts = {len(rows) for rows in members}
    if len(counts) != 1:
        raise DataError(f"ensemble members have different numbers of rows: {sorted(counts)}")
    rows = []
    for group in zip(*members, strict=True):
        shapes = {row.shape for row in group}
        if len(shapes) != 1:
            raise DataError(f"ensemble members disagree on a row's shape: {sorted(shapes)}")
        rows.append(tuple(np.asarray(row, dtype=np.float64) for row in group))
    return rows


def _mixture(group: tuple[np.ndarray, ...], axis: int, weights: np.ndarray) -> np.ndarray:
    """``log(sum_m w_m softmax_axis(row_m))``, computed in log space."""
    stacked = np.stack([_log_softmax(row, axis) for row in group])
    with np.errstate(divide="ignore"):
        stacked = stacked + np.log(weights).reshape(-1, *([1] * group[0].ndim))
    peak = stacked.max(axis=0)
    return peak + np.log(np.exp(stacked - peak).sum(axis=0))


def _votes(group: tuple[np.ndarray, ...], axis: int) -> np.ndarray:
    """Votes for each entry along ``axis`` plus half the mean probability (the tie-break)."""
    counts = np.zeros_like(group[0])
    for row in group:
        winner = np.expand_dims(row.argmax(axis=axis), axis)
        np.put_along_axis(counts, winner, np.take_along_axis(counts, winner, axis) + 1.0, axis)
    uniform = np.full(len(group), 1.0 / len(group))
    return counts + 0.5 * np.exp(_mixture(group, axis, uniform))


def combine(
    members: Sequence[Sequence[np.ndarray]], method: str, axis: int | None, weights: Sequence[float] | None = None
) -> list[np.ndarray]:
    """The ensemble's rows from every member's rows (``members[m][i]``: member m's row i), by ``method``.

    Args:
        members: Each member's rows, in the same order (same count and shapes).
        method: One of ``METHODS``.
        axis: The kind's ``probability_axis``; ``None``: the rows are scores, not logits
            (``prob`` and ``weighted`` average them, ``vote`` is refused).
        weights: One non-negative weight per member summing to 1 (``weighted``); default uniform.

    Raises:
        ConfigError: an unknown method, or ``vote`` on rows without a probability axis.
        DataError: members whose rows do not line up.
    """
    if method not in METHODS:
        raise ConfigError(f"ensemble method: expected one of {', '.join(METHODS)}, got {method!r}")
    w = np.full(len(members), 1.0 / len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(members),) or (w < 0).any() or not math.isclose(w.sum(), 1.0, abs_tol=1e-6):
        raise ConfigError(f"ensemble weights: expected {len(members)} non-negative weights summing to 1, got {w}")
    if method == "vote" and axis is None:
        raise ConfigError("ensemble method vote: these rows are similarity scores with no label axis to vote along")
    out = []
    for group in _aligned(members):
        if method == "vote":
            row = _votes(group, axis)  # type: ignore[arg-type]
        elif method == "logit" or axis is None:
            row = np.tensordot(w, np.stack(group), axes=1)
        else:
            row = _mixture(group, axis, w)
        out.append(row.astype(np.float32))
    return out


def average_probabilities(members: Sequence[Sequence[np.ndarray]], axis: int) -> list[np.ndarray]:
    """Row-wise ``log(mean_m softmax_axis(row_m))`` over the members' rows: ``combine(members, "prob", axis)``."""
    return combine(members, "prob", axis)


def simplex_grid(n_members: int, max_points: int = MAX_GRID_POINTS) -> np.ndarray:
    """Every weight vector whose entries are multiples of ``1/k`` and sum to 1: ``[points, n_members]``.

    ``k`` is the largest of 10, 9, ..., 1 whose grid has at most ``max_points`` points
    (``C(k + M - 1, M - 1)``; k = 10 up to 4 members).
    """
    for k in range(10, 0, -1):
        if math.comb(k + n_members - 1, n_members - 1) <= max_points or k == 1:
            break
    # Stars and bars: the positions of M - 1 bars among k + M - 1 slots give one composition of k.
    points = []
    for bars in itertools.combinations(range(k + n_members - 1), n_members - 1):
        edges = (-1, *bars, k + n_members - 1)
        points.append([edges[i + 1] - edges[i] - 1 for i in range(n_members)])
    return np.asarray(points, dtype=np.float64) / k


def fit_simplex_weights(n_members: int, objective: Callable[[np.ndarray], float]) -> tuple[np.ndarray, float]:
    """``(weights, score)``: the point of ``simplex_grid`` where ``objective`` (a dev metric) is highest.

    A grid, not ``scipy.optimize``: the dev metric (accuracy, F1, span F1) is piecewise
    constant in the weights, so gradients are zero almost everywhere. Ties go to the point
    closest to uniform weights (then the first in the grid's order).
    """
    grid = simplex_grid(n_members)
    uniform = np.full(n_members, 1.0 / n_members)
    scores = np.array([objective(point) for point in grid])
    best = np.flatnonzero(scores >= scores.max() - 1e-9)
    chosen = best[np.argmin(np.round(np.linalg.norm(grid[best] - uniform, axis=1), 9))]
    return grid[chosen], float(scores[chosen])


def oracle_rows(members: np.ndarray, aggregate: str, max_iterations: int = 100) -> np.ndarray:
    """Per example, the member row that maximises the corpus metric: ``[N, S]`` from ``members`` ``[M, N, S]``.

    An example counts as its best member's: for accuracy (``(correct, 1)`` rows) that is
    "correct if any member is correct"; for QA, each question's highest F1 (or EM) over the
    members; for POS accuracy, each sentence's member with most correct tokens; for
    seqeval / BUCC F1 (``(tp, fp, fn)`` rows) the per-sentence choice that maximises the
    corpus F1. Every rule is a fraction ``100 * num / den`` (``FRACTIONS``), so the choice is
    Dinkelbach's: starting at the best member's value ``v``, each example takes the row
    maximising ``num - v/100 * den``, and ``v`` is recomputed until it stops rising. The
    oracle is therefore never below the best member.
    """
    fraction = FRACTIONS[aggregate]
    count = members.shape[1]
    values = metric_from_sums(aggregate, members.sum(axis=1))
    rows = members[int(values.argmax())]
    value = float(values.max())
    for _ in range(max_iterations):
        numerator, denominator = fraction(members)
        choice = (numerator - value / 100.0 * denominator).argmax(axis=0)
        candidate = members[choice, np.arange(count)]
        new = float(metric_from_sums(aggregate, candidate.sum(axis=0)))
        if new <= value + 1e-12:
            break
        rows, value = candidate, new
    return rows


@dataclass(frozen=True)
class MemberComparison:
    """One language's ensemble beside its members, each with a 95% bootstrap interval.

    Args:
        ensemble: The ensemble's metric.
        best_member: The member with the highest metric (``best_index``: its position).
        mean_member: The mean of the members' metrics.
        oracle: ``oracle_rows``' metric.
        minus_best: The paired difference ensemble - best member (the same bootstrap draws for both).
        p_minus_best: Its two-sided percentile-bootstrap p-value (``bootstrap_pvalue``).
    """

    ensemble: Interval
    best_member: Interval
    best_index: int
    mean_member: Interval
    oracle: Interval
    minus_best: Interval
    p_minus_best: float


def compare_with_members(
    ensemble: np.ndarray, members: Sequence[np.ndarray], aggregate: str, *, n_resamples: int = 2000, seed: int = 0
) -> MemberComparison:
    """The ensemble, best member, mean member and oracle of one language, with paired bootstrap intervals.

    ``ensemble`` and each member are ``[N, S]`` per-example statistics with rows aligned by
    example. The intervals come from ``crossling.analysis.stats.bootstrap_replicates`` (one
    seed, so only test examples are resampled; every system gets the same draws): the mean
    member's replicate is the mean of the members' replicates.
    """
    stacked = np.stack([np.asarray(m, dtype=np.float64) for m in members])
    oracle = oracle_rows(stacked, aggregate)
    systems = {"ensemble": ensemble, "oracle": oracle, **{str(i): m for i, m in enumerate(stacked)}}
    samples = {name: {"all": np.asarray(rows, dtype=np.float64)[None]} for name, rows in systems.items()}
    replicates = {
        name: by_language["all"]
        for name, by_language in bootstrap_replicates(samples, aggregate, n_resamples=n_resamples, seed=seed).items()
    }
    points = {name: float(metric_from_sums(aggregate, rows.sum(axis=0))) for name, rows in systems.items()}
    member_points = [points[str(i)] for i in range(len(stacked))]
    best = int(np.argmax(member_points))
    mean_replicates = np.mean([replicates[str(i)] for i in range(len(stacked))], axis=0)
    gain_replicates = replicates["ensemble"] - replicates[str(best)]
    return MemberComparison(
        ensemble=percentile_interval(points["ensemble"], replicates["ensemble"]),
        best_member=percentile_interval(member_points[best], replicates[str(best)]),
        best_index=best,
        mean_member=percentile_interval(float(np.mean(member_points)), mean_replicates),
        oracle=percentile_interval(points["oracle"], replicates["oracle"]),
        minus_best=percentile_interval(points["ensemble"] - member_points[best], gain_replicates),
        p_minus_best=bootstrap_pvalue(gain_replicates),
    )
