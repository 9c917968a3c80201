"""Sentence-pair classification (XNLI, PAWS-X): both sentences in one sequence, a pooled classification head, argmax."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from crossling.data.featurizers.pairs import featurize_pairs
from crossling.evaluation.scorers.classification import label_lines, score_classification
from crossling.evaluation.scoring import LanguageScore
from crossling.models.heads import SequenceClassificationHead
from crossling.taskspec import FineTunedKind, TaskKind, TaskSpec


class PairClassification(FineTunedKind):
    """``featurize_pairs`` -> ``SequenceClassificationHead`` -> ``score_classification``; one label per line."""

    kind = TaskKind.PAIR_CLASSIFICATION

    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """Sentence pairs tokenized together (see ``featurize_pairs``)."""
        return featurize_pairs(records, labels, tokenizer, max_length)

    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
        """A ``SequenceClassificationHead`` over ``num_labels`` classes."""
        return SequenceClassificationHead(hidden_size, num_labels, **options)

    def score(
        self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
    ) -> LanguageScore:
        """Argmax class, the task's metric on label names."""
        return score_classification(task, logits, features, records)

    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """One predicted label per line."""
        return label_lines(task, predictions)


PAIR_CLASSIFICATION = PairClassification()
