"""The mean of several models' probabilities, row by row: the arithmetic of ensembles.

For rows ``logits_m[i]`` of M members the ensemble's row ``i`` is

    log( (1/M) * sum_m softmax_axis(logits_m[i]) )

(``axis``: the task kind's ``probability_axis``: the labels for classification, choice and
tagging, the window's positions for QA start/end logits). ``crossling.pipelines.ensemble``
reads the members' saved logits and scores the result as a single run is scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossling.errors import DataError


def _log_softmax(row: np.ndarray, axis: int) -> np.ndarray:
    shifted = row - row.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def average_probabilities(members: Sequence[Sequence[np.ndarray]], axis: int) -> list[np.ndarray]:
    """Row-wise ``log(mean_m softmax_axis(row_m))`` over the members' rows (each member: one list of rows)."""
    counts = {len(rows) for rows in members}
    if len(counts) != 1:
        raise DataError(f"ensemble members have different numbers of rows: {sorted(counts)}")
    out = []
    for rows in zip(*members, strict=True):
        shapes = {row.shape for row in rows}
        if len(shapes) != 1:
            raise DataError(f"ensemble members disagree on a row's shape: {sorted(shapes)}")
        stacked = np.stack([_log_softmax(np.asarray(row, dtype=np.float64), axis) for row in rows])
        peak = stacked.max(axis=0)
        out.append((peak + np.log(np.exp(stacked - peak).mean(axis=0))).astype(np.float32))
    return out
