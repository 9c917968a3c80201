"""Scoring of token classification: window logits merged back to one tag per word, seqeval F1 / accuracy, tag-per-line files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crossling.data.formats.conllu_pos import UPOS_TAGS
from crossling.errors import DataError
from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scoring import LanguageScore
from crossling.tasks.registry import TaskSpec

#: Metrics reported besides the task's primary one, by tag set. POS tasks (the 17 UPOS tags)
#: report XTREME's seqeval ``f1`` and the plain token accuracy ``pos_accuracy`` whichever is
#: primary; other tag sets (BIO entities) report the primary metric only.
TAG_SET_METRICS: Mapping[frozenset[str], tuple[str, ...]] = {frozenset(UPOS_TAGS): ("f1", "pos_accuracy")}


def merge_word_predictions(
    task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]
) -> list[list[str]]:
    """One predicted tag per word of every record, in the records' order.

    ``logits[r]`` is ``length_r x num_labels`` for feature row ``r``; at each position ``t``
    with ``word_ids[r][t] = w >= 0`` the row predicts ``labels[argmax_c logits[r][t, c]]``
    for word ``w`` of record ``example_index[r]`` (the featurizer puts every word in exactly
    one window).

    Raises:
        DataError: when a word is predicted twice or never (features that do not belong to
            these records).
    """
    merged: list[list[str | None]] = [[None] * len(record.tokens) for record in records]
    for row, (index, word_ids) in enumerate(zip(features["example_index"], features["word_ids"], strict=True)):
        positions = np.asarray(word_ids)
        scores = np.asarray(logits[row])
        if scores.shape[0] < positions.shape[0]:
            raise DataError(
                f"{task.name}: feature row {row} has {scores.shape[0]} logits for {positions.shape[0]} tokens"
            )
        tags = scores[: positions.shape[0]].argmax(axis=-1)
        words = merged[index]
        for t in np.flatnonzero(positions >= 0):
            w = int(positions[t])
            if words[w] is not None:
                raise DataError(f"{task.name}: word {w} of example {records[index].id} is predicted by two windows")
            words[w] = task.labels[int(tags[t])]
    for record, words in zip(records, merged, strict=True):
        if None in words:
            missing = words.index(None)
            raise DataError(
                f"{task.name}: word {missing} ({record.tokens[missing]!r}) of example {record.id} "
                "has no prediction; the features do not match the records"
            )
    return merged  # type: ignore[return-value]


def tagging_metrics(
    task: TaskSpec, predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
) -> dict[str, float]:
    """The primary metric under ``task.metric`` and the tag set's other metrics (``TAG_SET_METRICS``).

    A metric whose function names its value differently (``pos_accuracy`` returns
    ``accuracy``) is stored under its registered name; side values (seqeval's
    ``precision``, ``recall``) keep theirs.
    """
    names = (task.metric, *TAG_SET_METRICS.get(frozenset(task.labels), ()))
    metrics: dict[str, float] = {}
    for name in dict.fromkeys(names):
        values = get_metric(name)(predicted, gold)
        if name in values:
            metrics.update(values)
        elif len(values) == 1:
            metrics[name] = next(iter(values.values()))
        else:
            metrics.update({f"{name}_{key}": value for key, value in values.items()})
    return metrics


def score_tagging(task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]) -> LanguageScore:
    """Merge window logits to one tag per word, then score against the records' tags.

    ``predictions`` is one tag list per record (in the split's order), ``count`` the number
    of sentences. See ``merge_word_predictions`` and ``tagging_metrics``.
    """
    predicted = merge_word_predictions(task, logits, features, records)
    gold = [list(record.tags) for record in records]
    return LanguageScore(tagging_metrics(task, predicted, gold), predicted, len(records))


def tag_lines(task: TaskSpec, predictions: Sequence[Sequence[str]]) -> str:
    """xtreme's tagging prediction file: one tag per line, a blank line between sentences, one final newline."""
    if not predictions:
        return ""
    return "\n\n".join("\n".join(tags) for tags in predictions) + "\n"
