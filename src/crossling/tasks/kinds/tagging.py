"""Token classification (UD POS, PAN-X NER): words aligned to sub-tokens, a per-token head, one tag per word."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from crossling.config.schema import TaskConfig
from crossling.data.featurizers.tagging import featurize_tagging
from crossling.evaluation.scorers.tagging import score_tagging, tag_lines
from crossling.evaluation.scoring import LanguageScore
from crossling.models.heads import TokenClassificationHead
from crossling.taskspec import FineTunedKind, TaskKind, TaskSpec


class TokenTagging(FineTunedKind):
    """``featurize_tagging`` -> ``TokenClassificationHead`` -> ``score_tagging``; one tag per line, sentences blank-separated.

    Labels are per sub-token, so the collator pads them along the sequence (``sequence_labels``).
    """

    kind = TaskKind.TOKEN_CLASSIFICATION
    sequence_labels = True

    def featurizer_options(self, task: TaskSpec, config: TaskConfig) -> dict[str, Any]:
        """Where a word's label goes: ``task.subword_labels``."""
        return {"subword_labels": config.subword_labels}

    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """Word-tagged sentences as windows of sub-tokens (see ``featurize_tagging``)."""
        return featurize_tagging(records, labels, tokenizer, max_length, **options)

    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
        """A ``TokenClassificationHead`` over ``num_labels`` tags."""
        return TokenClassificationHead(hidden_size, num_labels, **options)

    def score(
        self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
    ) -> LanguageScore:
        """Window logits merged to one tag per word; seqeval F1 (and POS accuracy)."""
        return score_tagging(task, logits, features, records)

    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """One tag per line, a blank line after each sentence."""
        return tag_lines(task, predictions)


TOKEN_TAGGING = TokenTagging()
