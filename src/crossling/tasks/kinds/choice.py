"""Multiple choice (XCOPA, SIQA): one sequence per choice, a scalar score per choice, argmax over the choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from crossling.data.featurizers.choice import featurize_choices
from crossling.evaluation.scorers.choice import choice_lines, score_choices
from crossling.evaluation.scoring import LanguageScore
from crossling.models.heads import MultipleChoiceHead
from crossling.taskspec import FineTunedKind, TaskKind, TaskSpec


class MultipleChoice(FineTunedKind):
    """``featurize_choices`` -> ``MultipleChoiceHead`` -> ``score_choices``; one choice index per line."""

    kind = TaskKind.MULTIPLE_CHOICE

    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """C (premise + question, choice) sequences per example (see ``featurize_choices``)."""
        return featurize_choices(records, labels, tokenizer, max_length)

    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
        """A ``MultipleChoiceHead`` (the number of choices comes from the inputs' shape)."""
        return MultipleChoiceHead(hidden_size, num_labels, **options)

    def score(
        self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
    ) -> LanguageScore:
        """Argmax over each example's choices, the task's metric on choice indices."""
        return score_choices(task, logits, features, records)

    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """One 0-based choice index per line."""
        return choice_lines(task, predictions)


MULTIPLE_CHOICE = MultipleChoice()
