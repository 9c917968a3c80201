"""Scoring of image-text alignment: each sentence retrieves its own scene among all scenes of the split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crossling.evaluation.example_stats import list_stats
from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scoring import LanguageScore
from crossling.taskspec import TaskSpec


def score_image_text(
    task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]
) -> LanguageScore:
    """Prediction = index of the scene vector with the highest cosine to the sentence's projection.

    Accuracy is the share of sentences whose nearest scene is their own (text -> image
    retrieval@1 over the split); the prediction file holds the retrieved index per line. Rows
    of one image (several captions: ``ImageTextExample.image_id``) are one scene: a row's index
    is that of the image's first row, for the prediction and the gold alike.
    """
    text = np.stack(logits).astype(np.float64)
    scenes = np.asarray(features["labels"], dtype=np.float64)
    text /= np.linalg.norm(text, axis=1, keepdims=True).clip(min=1e-12)
    scenes /= np.linalg.norm(scenes, axis=1, keepdims=True).clip(min=1e-12)
    keys = [getattr(record, "image_id", "") or record.id for record in records]
    first = {key: keys.index(key) for key in dict.fromkeys(keys)}
    canonical = [first[key] for key in keys]
    predicted = [canonical[i] for i in (text @ scenes.T).argmax(axis=1).tolist()]
    gold = canonical
    return LanguageScore(
        get_metric(task.metric)(predicted, gold),
        predicted,
        len(gold),
        list_stats(task.metric, predicted, gold, [record.id for record in records]),
    )
