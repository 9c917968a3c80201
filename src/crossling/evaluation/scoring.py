"""Turn logits into predictions and scores, by task kind; the prediction-file format of each kind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from crossling.evaluation.metrics import get_metric
from crossling.tasks.registry import TaskKind, TaskSpec


@dataclass
class LanguageScore:
    """Scores and predictions of one language.

    Args:
        metrics: Metric name -> value (percent).
        predictions: One prediction per example, in the split's order (what the prediction file holds).
        count: Number of scored examples.
    """

    metrics: dict[str, float]
    predictions: list[Any]
    count: int


class KindScorer(Protocol):
    """Decodes a kind's logits and scores them against the features' labels."""

    def __call__(self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any) -> LanguageScore: ...


def score_classification(task: TaskSpec, logits: Sequence[np.ndarray], features: Any) -> LanguageScore:
    """Predicted class = argmax of the logits; scored with the task's metric on label names."""
    predicted = [task.labels[int(np.argmax(row))] for row in logits]
    gold = [task.labels[i] for i in features["labels"]]
    return LanguageScore(get_metric(task.metric)(predicted, gold), predicted, len(gold))


#: Scorer of each task kind.
SCORERS: dict[TaskKind, KindScorer] = {TaskKind.PAIR_CLASSIFICATION: score_classification}


def score(task: TaskSpec, logits: Sequence[np.ndarray], features: Any) -> LanguageScore:
    """Score one language's logits with the scorer of the task's kind."""
    try:
        scorer = SCORERS[task.kind]
    except KeyError:
        raise ValueError(f"no scorer for task kind {task.kind}") from None
    return scorer(task, logits, features)


def prediction_file_lines(task: TaskSpec, predictions: Sequence[Any]) -> str:
    """Prediction file text as google-research/xtreme's scorer reads it (one label per line for classification)."""
    if task.kind is TaskKind.PAIR_CLASSIFICATION:
        return "".join(f"{p}\n" for p in predictions)
    raise ValueError(f"no prediction file format for task kind {task.kind}")
