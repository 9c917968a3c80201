"""Scoring of extractive QA: n-best span search per window, best span per question, SQuAD/MLQA EM and F1."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crossling.data.qa_sources import answer_language
from crossling.evaluation.metrics import get_metric
from crossling.evaluation.scoring import LanguageScore
from crossling.tasks.registry import TaskSpec

#: Start and end candidates kept per window: the N_BEST highest start and end logits (HF/XTREME ``n_best_size``).
N_BEST = 20

#: Longest answer considered, in sub-tokens (HF/XTREME ``max_answer_length``).
MAX_ANSWER_TOKENS = 30

#: Metrics that normalize answers per language: they get ``language=`` (the answer language).
LANGUAGE_METRICS = frozenset({"mlqa"})


def best_window_span(logits: np.ndarray, offsets: Sequence[Sequence[int]]) -> tuple[float, int, int] | None:
    """``(start_logit + end_logit, start, end)`` of the best span of one window, or ``None``.

    Candidates pair each of the ``N_BEST`` best start tokens with each of the ``N_BEST`` best
    end tokens; a span is kept when both tokens are context tokens (offset not ``(-1, -1)``),
    ``end >= start`` and it is at most ``MAX_ANSWER_TOKENS`` tokens long.

    Args:
        logits: T x 2 start/end logits of the window (T = the window's length).
        offsets: T character spans from the featurizer (``(-1, -1)`` outside the context).
    """
    offsets_arr = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    valid = offsets_arr[:, 0] >= 0
    count = int(valid.sum())
    if count == 0:
        return None
    start_logits = np.where(valid, logits[: len(valid), 0], -np.inf)
    end_logits = np.where(valid, logits[: len(valid), 1], -np.inf)
    k = min(N_BEST, count)
    starts = np.argsort(-start_logits, kind="stable")[:k]
    ends = np.argsort(-end_logits, kind="stable")[:k]
    width = ends[None, :] - starts[:, None]
    scores = start_logits[starts][:, None] + end_logits[ends][None, :]
    scores = np.where((width >= 0) & (width < MAX_ANSWER_TOKENS), scores, -np.inf)
    best = np.unravel_index(int(np.argmax(scores)), scores.shape)
    if not np.isfinite(scores[best]):
        return None
    return float(scores[best]), int(starts[best[0]]), int(ends[best[1]])


def decode_answers(logits: Sequence[np.ndarray], features: Any, records: Sequence[Any]) -> dict[str, str]:
    """``{question id: answer text}``: the best span over all windows of each question.

    The answer is ``context[offsets[start][0]:offsets[end][1]]`` of the window with the highest
    ``start_logit + end_logit``; a question without any valid span gets ``""``.
    """
    offsets_column = list(features["offset_mapping"])
    example_index = list(features["example_index"])
    best: dict[int, tuple[float, int, int, int]] = {}
    for row, (window_logits, index) in enumerate(zip(logits, example_index, strict=True)):
        found = best_window_span(np.asarray(window_logits), offsets_column[row])
        if found is not None and (index not in best or found[0] > best[index][0]):
            best[index] = (*found, row)
    predictions = {}
    for index, record in enumerate(records):
        if index not in best:
            predictions[record.id] = ""
            continue
        _, start, end, row = best[index]
        offsets = offsets_column[row]
        predictions[record.id] = record.context[offsets[start][0] : offsets[end][1]]
    return predictions


def score_qa(
    task: TaskSpec, logits: Sequence[np.ndarray], features: Any, records: Sequence[Any], *, language: str
) -> LanguageScore:
    """Decode answers and score them with the task's metric (``squad`` or ``mlqa``) against the gold answers.

    ``metrics`` holds ``exact_match`` and ``f1``, and the task's metric name again with F1 (XTREME's
    primary QA score), so the pipeline's summary finds it. MLQA is normalized in the answer
    language (the context's, see ``crossling.data.qa_sources.answer_language``). Questions
    without gold answers (unlabelled test files) are predicted but not scored.
    """
    ids = features["example_id"]
    if len(records) and ids[0] != records[features["example_index"][0]].id:
        raise ValueError(
            f"{task.name} ({language}): features and records are out of step "
            f"({ids[0]!r} vs {records[features['example_index'][0]].id!r})"
        )
    predictions = decode_answers(logits, features, records)
    labelled = [record for record in records if record.answers]
    if not labelled:
        raise ValueError(f"{task.name} ({language}): no question has a gold answer; nothing to score")
    options = {"language": answer_language(language)} if task.metric in LANGUAGE_METRICS else {}
    scores = get_metric(task.metric)(predictions, labelled, **options)
    return LanguageScore({**scores, task.metric: scores["f1"]}, predictions, len(labelled))


def answers_json(task: TaskSpec, predictions: Mapping[str, str]) -> str:
    """The official predictions file: a JSON object ``{question id: answer text}`` (UTF-8, not escaped)."""
    return json.dumps(dict(predictions), ensure_ascii=False, indent=2) + "\n"
