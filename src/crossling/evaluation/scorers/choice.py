"""Scoring of multiple choice (XCOPA, SIQA): argmax over the choices, accuracy, one index per line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scoring import LanguageScore
from crossling.tasks.registry import TaskSpec


def score_choices(task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]) -> LanguageScore:
    """Predicted choice = argmax of the C scores of each example; the task's metric on choice indices."""
    predicted = [int(np.argmax(row)) for row in logits]
    gold = [int(label) for label in features["labels"]]
    return LanguageScore(get_metric(task.metric)(predicted, gold), predicted, len(gold))


def choice_lines(task: TaskSpec, predictions: Sequence[int]) -> str:
    """One predicted choice index (0-based) per line, in the split's order (xtreme's XCOPA format)."""
    return "".join(f"{index}\n" for index in predictions)
