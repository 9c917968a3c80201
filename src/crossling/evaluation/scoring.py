"""Turn logits into predictions and scores by task kind; one table names each kind's scorer and file format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossling.tasks.registry import TaskKind, TaskSpec
from crossling.utils.imports import resolve


@dataclass
class LanguageScore:
    """Scores and predictions of one language.

    Args:
        metrics: Metric name -> value (percent).
        predictions: What the prediction file holds: one entry per example in the split's
            order (classification, tagging), or ``{id: answer}`` (QA).
        count: Number of scored examples.
    """

    metrics: dict[str, float]
    predictions: Any
    count: int


#: Scorer (task, logits per feature row, features, records) -> LanguageScore. Scorers of kinds whose
#: ``KindScoring.needs_language`` is set also get ``language=`` (the evaluated language's code).
Scorer = Callable[..., LanguageScore]


@dataclass(frozen=True)
class KindScoring:
    """How a task kind is scored and how its predictions are written (xtreme's scorer formats).

    Args:
        scorer: ``"module:function"`` of the ``Scorer``.
        writer: ``"module:function"`` turning predictions into the prediction file's text.
        extension: File extension of the prediction file (``tsv`` or ``json``).
        needs_language: The scorer takes ``language=`` (the evaluated language's code), for
            metrics that depend on it (MLQA normalizes answers per language).
        probability_axis: Axis of a row's logits that a softmax turns into a distribution, so
            that several models' rows can be averaged (ensembles); ``None``: not averageable.
    """

    scorer: str
    writer: str
    extension: str
    needs_language: bool = False
    probability_axis: int | None = -1


_CLASSIFICATION = "crossling.evaluation.scorers.classification"

#: The one table of scoring rules per task kind (modules are loaded on first use).
SCORING: dict[TaskKind, KindScoring] = {
    TaskKind.PAIR_CLASSIFICATION: KindScoring(
        f"{_CLASSIFICATION}:score_classification", f"{_CLASSIFICATION}:label_lines", "tsv"
    ),
    TaskKind.MULTIPLE_CHOICE: KindScoring(
        "crossling.evaluation.scorers.choice:score_choices", "crossling.evaluation.scorers.choice:choice_lines", "tsv"
    ),
    TaskKind.TOKEN_CLASSIFICATION: KindScoring(
        "crossling.evaluation.scorers.tagging:score_tagging", "crossling.evaluation.scorers.tagging:tag_lines", "tsv"
    ),
    TaskKind.IMAGE_TEXT_ALIGNMENT: KindScoring(
        "crossling.evaluation.scorers.image_text:score_image_text",
        f"{_CLASSIFICATION}:label_lines",
        "tsv",
        probability_axis=None,
    ),
    # QA rows are T x 2 start/end logits: the distributions are over the window's positions.
    TaskKind.EXTRACTIVE_QA: KindScoring(
        "crossling.evaluation.scorers.qa:score_qa",
        "crossling.evaluation.scorers.qa:answers_json",
        "json",
        needs_language=True,
        probability_axis=0,
    ),
}


def _rules(task: TaskSpec) -> KindScoring:
    try:
        return SCORING[task.kind]
    except KeyError:
        raise ValueError(f"no scoring rules for task kind {task.kind}") from None


def score(
    task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
) -> LanguageScore:
    """Score one language's logits with the scorer of the task's kind (``language``: the evaluated language).

    ``language`` is handed on only to scorers whose kind declares ``needs_language``.
    """
    rules = _rules(task)
    extra = {"language": language} if rules.needs_language else {}
    return resolve(rules.scorer)(task, logits, features, records, **extra)


def prediction_file(task: TaskSpec, predictions: Any) -> tuple[str, str]:
    """(extension, text) of the prediction file, in the format google-research/xtreme's scorer reads."""
    rules = _rules(task)
    return rules.extension, resolve(rules.writer)(task, predictions)


def probability_axis(task: TaskSpec) -> int | None:
    """The axis along which a row of the task's logits is a distribution (``KindScoring.probability_axis``)."""
    return _rules(task).probability_axis
