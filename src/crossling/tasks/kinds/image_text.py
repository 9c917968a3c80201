"""Image-text alignment (the multimodal intermediate task): sentences projected onto scene vectors, trained contrastively."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from crossling.config.schema import TaskConfig
from crossling.data.featurizers.image_text import featurize_image_text
from crossling.errors import ConfigError
from crossling.evaluation.scorers.classification import label_lines
from crossling.evaluation.scorers.image_text import score_image_text
from crossling.evaluation.scoring import LanguageScore
from crossling.models.heads import AlignmentHead
from crossling.taskspec import DataSource, FineTunedKind, TaskKind, TaskSpec, VectorSource


class ImageTextAlignment(FineTunedKind):
    """``featurize_image_text`` -> ``AlignmentHead`` -> ``score_image_text``; the retrieved scene index per line.

    Outputs are vectors, neither distributions nor scores: they cannot be ensembled.
    """

    kind = TaskKind.IMAGE_TEXT_ALIGNMENT
    probability_axis = None

    def for_source(self, task: TaskSpec, source: DataSource) -> TaskSpec:
        """``task`` with ``output_dim`` = the source's feature length (``VectorSource``), so the head fits the data."""
        if isinstance(source, VectorSource):
            dim = source.feature_dim()
            return task if dim == task.output_dim else dataclasses.replace(task, output_dim=dim)
        if task.output_dim < 1:
            raise ConfigError(f"task {task.name!r}: its source {type(source).__name__} does not say the feature length")
        return task

    def featurizer_options(self, task: TaskSpec, config: TaskConfig) -> dict[str, Any]:
        """The scene-vector size of the task's data (``TaskSpec.output_dim``, see ``for_source``)."""
        return {"vector_size": task.output_dim}

    def featurize(
        self, records: Sequence[Any], labels: tuple[str, ...], tokenizer: Any, max_length: int, **options: Any
    ) -> dict[str, list]:
        """Tokenized sentences with their scene vectors as targets (see ``featurize_image_text``)."""
        return featurize_image_text(records, labels, tokenizer, max_length, **options)

    def build_head(self, hidden_size: int, num_labels: int, **options: Any) -> nn.Module:
        """An ``AlignmentHead`` projecting onto the ``num_labels``-dimensional scene space."""
        return AlignmentHead(hidden_size, num_labels, **options)

    def score(
        self, task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
    ) -> LanguageScore:
        """Text-to-scene retrieval@1 over the split."""
        return score_image_text(task, logits, features, records)

    def prediction_text(self, task: TaskSpec, predictions: Any) -> str:
        """The retrieved scene index per line."""
        return label_lines(task, predictions)


IMAGE_TEXT_ALIGNMENT = ImageTextAlignment()
