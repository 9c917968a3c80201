"""Scoring of sequence-level classification (pairs, multiple choice): argmax, metric on label names, label-per-line files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scoring import LanguageScore
from crossling.tasks.registry import TaskSpec


def score_classification(
    task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]
) -> LanguageScore:
    """Predicted class = argmax of the logits; scored with the task's metric on label names."""
    predicted = [task.labels[int(np.argmax(row))] for row in logits]
    gold = [task.labels[i] for i in features["labels"]]
    return LanguageScore(get_metric(task.metric)(predicted, gold), predicted, len(gold))


def label_lines(task: TaskSpec, predictions: Sequence[Any]) -> str:
    """One predicted label per line, in the split's order (xtreme's classification format)."""
    return "".join(f"{p}\n" for p in predictions)
