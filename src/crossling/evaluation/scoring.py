"""What a scorer returns for one language: metrics, predictions, count (the scorers live in ``evaluation.scorers``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crossling.evaluation.example_stats import ExampleStats


@dataclass
class LanguageScore:
    """Scores and predictions of one language.

    Args:
        metrics: Metric name -> value (percent).
        predictions: What the prediction file holds: one entry per example in the split's
            order (classification, tagging), or ``{id: answer}`` (QA).
        count: Number of scored examples.
        examples: Per-example statistics of the primary metric (``crossling.evaluation.example_stats``),
            for intervals; ``None`` where the metric has no per-example decomposition.
    """

    metrics: dict[str, float]
    predictions: Any
    count: int
    examples: ExampleStats | None = None


#: Scorer (task, logits per feature row, features, records) -> LanguageScore: the functions of
#: ``crossling.evaluation.scorers``, which each kind plugin's ``score`` calls.
Scorer = Callable[..., LanguageScore]
