"""Saved logits of an evaluation (``evaluation.save_logits``): one safetensors file per (task, split, language).

Rows are ragged (QA windows and tagging sentences differ in length), so a file holds them
flattened and concatenated (``values``) with each row's shape (``shapes``); ensembles
(``crossling.pipelines.ensemble``) read them back row by row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from crossling.errors import DataError
from crossling.utils.io import atomic_path

#: Keys of a logits file: the rows flattened and concatenated, and each row's shape.
VALUES, SHAPES = "values", "shapes"


def logits_path(run_dir: Path, task: str, split: str, language: str) -> Path:
    """Where a run writes the logits of one language (``evaluation.save_logits``)."""
    return run_dir / "logits" / task / f"{split}-{language}.safetensors"


def write_logits(path: Path, rows: Sequence[np.ndarray]) -> None:
    """Save ragged rows (1-D or 2-D float arrays) as ``values`` (flat float32) and ``shapes`` (N x 2), atomically."""
    shapes = np.array([row.shape if row.ndim == 2 else (1, row.shape[0]) for row in rows], dtype=np.int64)
    values = (
        np.concatenate([np.asarray(row, dtype=np.float32).ravel() for row in rows])
        if rows
        else np.zeros(0, dtype=np.float32)
    )
    ndim = {row.ndim for row in rows} or {1}
    if len(ndim) != 1:
        raise ValueError("logit rows of one file must all be 1-D or all be 2-D")
    with atomic_path(path) as tmp:
        save_file({VALUES: values, SHAPES: shapes.reshape(-1, 2)}, str(tmp), metadata={"ndim": str(ndim.pop())})


def read_logits(path: Path) -> list[np.ndarray]:
    """The rows written by :func:`write_logits`."""
    if not path.is_file():
        raise DataError(
            f"{path}: no saved logits; run with evaluation.save_logits: true, or save them from the "
            "trained model with `crossling evaluate RUN --save-logits`"
        )
    with safe_open(str(path), framework="numpy") as handle:
        ndim = int(handle.metadata().get("ndim", "1"))
    tensors = load_file(str(path))
    values, shapes = tensors[VALUES], tensors[SHAPES]
    rows, start = [], 0
    for height, width in shapes.tolist():
        row = values[start : start + height * width].reshape(height, width)
        rows.append(row if ndim == 2 else row[0])
        start += height * width
    if start != values.size:
        raise DataError(f"{path}: the shapes do not cover the values ({start} of {values.size})")
    return rows
