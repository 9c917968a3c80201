"""Extractive QA (SQuAD, XQuAD, MLQA, TyDiQA-GoldP): context windows, start/end logits, the best span per question."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from crossling.data.featurizers.qa import featurize_qa
from crossling.evaluation.scorers.qa import answers_json, score_qa
from crossling.evaluation.scoring import LanguageScore
from crossling.models.heads import SpanExtractionHead
from crossling.taskspec import FineTunedKind, TaskKind, TaskSpec


class ExtractiveQA(FineTunedKind):
    """``featurize_qa`` -> ``SpanExtractionHead`` -> ``score_qa``; predictions as ``{id: answer}`` JSON.

    A row's logits are T x 2 (start, end): for ensembles the distributions are over the
    window's positions, axis 0.
    """

    kind = TaskKind.EXTRACTIVE_QA
    probability_axis = 0
    prediction_extension = "json"

    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """(question, context) windows with offsets and span labels (see ``featurize_qa``)."""
        return featurize_qa(records, labels, tokenizer, max_length)

    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
        """A ``SpanExtractionHead`` (two logits per token)."""
        return SpanExtractionHead(hidden_size, num_labels, **options)

    def score(
        self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
    ) -> LanguageScore:
        """Best span per question; SQuAD EM/F1, or MLQA's, which normalizes answers per ``language``."""
        return score_qa(task, logits, features, records, language=language)

    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """``{question id: answer}`` as JSON."""
        return answers_json(task, predictions)


EXTRACTIVE_QA = ExtractiveQA()
