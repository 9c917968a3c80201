"""Ensembles of fine-tuned runs: average their per-row probabilities, score with the task's own scorer.

Each member run must have evaluated with ``evaluation.save_logits: true``, which writes
``logits/<task>/<split>-<lang>.safetensors``. For every language the ensemble's row ``i`` is

    log( (1/M) * sum_m softmax_axis(logits_m[i]) )

(``axis``: the task kind's ``probability_axis``: the labels for classification, choice and
tagging, the window's positions for QA start/end logits), scored exactly as a single run is
(``crossling.evaluation.scoring.score``) on the features and records the members were
evaluated on. Members must agree on the target task, its data and split, the languages and
the tokenizer, so that their rows are the same feature rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from crossling.config.loader import load_config, to_dict
from crossling.errors import ConfigError, DataError
from crossling.evaluation.scoring import prediction_file, probability_axis, score
from crossling.models.encoder import load_tokenizer
from crossling.reports.results import RESULTS_SCHEMA, summarize
from crossling.utils.io import atomic_path, atomic_write_json, atomic_write_text

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
    from safetensors import safe_open

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


def _member_identity(config: Any) -> dict[str, Any]:
    """What members must share for their rows to be the same feature rows."""
    task = to_dict(config.task)
    return {
        "task": {
            k: task[k]
            for k in (
                "name",
                "source",
                "data_dir",
                "eval_split",
                "max_length",
                "max_eval_examples",
                "params",
                "subword_labels",
            )
            if k in task
        },
        "model": config.model.name_or_path,
    }


def ensemble_runs(
    run_dirs: Sequence[Path], output_dir: Path, *, languages: Sequence[str] | None = None
) -> dict[str, Any]:
    """Average the saved probabilities of ``run_dirs`` per language, score them; write ``output_dir/results.json``.

    Returns the results (schema ``crossling.results/1``, plus ``members``). Prediction files go
    to ``output_dir/predictions/<task>/`` in the xtreme format, like a run's.

    Raises:
        ConfigError: fewer than two runs, or runs that differ in task, data, split or tokenizer.
        DataError: a member without saved logits for a language, or rows that do not line up.
    """
    from crossling.pipelines.experiment import plan_stages

    if len(run_dirs) < 2:
        raise ConfigError("an ensemble needs at least two run directories")
    configs = []
    for run_dir in run_dirs:
        if not (run_dir / "config.yaml").is_file():
            raise ConfigError(f"{run_dir}: not a run directory (no config.yaml)")
        configs.append(load_config(run_dir / "config.yaml"))
    first = _member_identity(configs[0])
    for run_dir, config in zip(run_dirs[1:], configs[1:], strict=True):
        if _member_identity(config) != first:
            raise ConfigError(
                f"{run_dir} cannot join the ensemble of {run_dirs[0]}: its target task, data, split or "
                f"encoder differ ({_member_identity(config)} vs {first})"
            )
    config = configs[0]
    data = plan_stages(config, run_dirs[0])[-1].task
    axis = probability_axis(data.spec)
    if axis is None:
        raise ConfigError(f"{data.spec.name}: {data.spec.kind} outputs cannot be averaged as probabilities")
    tokenizer = load_tokenizer(config.model)
    split = data.config.eval_split
    per_language: dict[str, dict[str, Any]] = {}
    for language in languages or data.eval_languages():
        members = [read_logits(logits_path(run_dir, data.spec.name, split, language)) for run_dir in run_dirs]
        features = data.features(language, split, tokenizer)
        averaged = average_probabilities(members, axis)
        if len(averaged) != len(features):
            raise DataError(
                f"{language}: the members' {len(averaged)} rows do not match the {len(features)} feature rows"
            )
        result = score(data.spec, averaged, features, data.records(language, split), language=language)
        per_language[language] = {**result.metrics, "count": result.count}
        extension, text = prediction_file(data.spec, result.predictions)
        atomic_write_text(output_dir / "predictions" / data.spec.name / f"{split}-{language}.{extension}", text)
    results = {
        "schema": RESULTS_SCHEMA,
        "name": output_dir.name,
        "task": data.spec.name,
        "kind": str(data.spec.kind),
        "metric": data.spec.metric,
        "eval_split": split,
        "model": config.model.name_or_path,
        "members": [str(run_dir) for run_dir in run_dirs],
        "ensemble": "mean of probabilities",
        "train_languages": list(data.config.train_languages),
        "languages": per_language,
        "summary": summarize(per_language, data.spec.metric, data.config.train_languages),
    }
    atomic_write_json(output_dir / "results.json", results)
    return results
