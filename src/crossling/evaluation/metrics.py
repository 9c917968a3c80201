"""Metrics, one registry: each metric states its formula and takes predictions and references."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from crossling.data.records import QAExample
from crossling.evaluation import squad

MetricFn = Callable[[Sequence[Any], Sequence[Any]], dict[str, float]]

_METRICS: dict[str, MetricFn] = {}


def register_metric(name: str) -> Callable[[MetricFn], MetricFn]:
    """Decorator adding a metric function to the registry under ``name``."""

    def wrap(fn: MetricFn) -> MetricFn:
        if name in _METRICS:
            raise ValueError(f"metric {name!r} is already registered")
        _METRICS[name] = fn
        return fn

    return wrap


def get_metric(name: str) -> MetricFn:
    """The metric function registered as ``name``."""
    try:
        return _METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(_METRICS))}") from None


def list_metrics() -> list[str]:
    """Names of all registered metrics."""
    return sorted(_METRICS)


def _check_lengths(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not references:
        raise ValueError("cannot score an empty set of references")


@register_metric("accuracy")
def accuracy(predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
    """Accuracy in percent: ``100 * mean(pred_i == ref_i)``."""
    _check_lengths(predictions, references)
    correct = sum(p == r for p, r in zip(predictions, references, strict=True))
    return {"accuracy": 100.0 * correct / len(references)}


def _check_sequences(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> None:
    _check_lengths(predictions, references)
    for index, (pred, ref) in enumerate(zip(predictions, references, strict=True)):
        if len(pred) != len(ref):
            raise ValueError(f"sequence {index}: {len(pred)} predicted tags for {len(ref)} reference tags")


@register_metric("seqeval_f1")
@register_metric("f1")
def seqeval_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level micro precision/recall/F1 in percent, with seqeval's default (conlleval) mode.

    ``P = |pred ∩ gold| / |pred|``, ``R = |pred ∩ gold| / |gold|``, ``F1 = 2PR / (P + R)``
    over (type, start, end) chunks; a chunk counts only if type and both ends match. Inputs
    are lists of tag sequences, one per sentence, of equal lengths (IOB2 tags for NER).

    This is XTREME's ``f1`` (``evaluate.py``), which it uses for both PAN-X **and UD-POS**:
    on UPOS tags seqeval reads the first letter as the chunk tag and the rest as the type
    (``NOUN`` -> tag ``N``, type ``OUN``; ``SCONJ``/``SYM`` start with ``S``, i.e. singleton
    chunks; ``INTJ`` with ``I``), so runs of equal tags form one chunk. That quirk is part
    of XTREME's published UD-POS numbers and is reproduced here; ``pos_accuracy`` is the
    plain token accuracy. An empty denominator gives 0.
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    _check_sequences(predictions, references)
    y_true = [list(seq) for seq in references]
    y_pred = [list(seq) for seq in predictions]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        return {
            "f1": 100.0 * float(f1_score(y_true, y_pred, zero_division=0)),
            "precision": 100.0 * float(precision_score(y_true, y_pred, zero_division=0)),
            "recall": 100.0 * float(recall_score(y_true, y_pred, zero_division=0)),
        }


@register_metric("pos_accuracy")
def pos_accuracy(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Token-level tag accuracy in percent over all words: ``100 * sum_i sum_t [pred_it == ref_it] / sum_i |ref_i|``.

    The usual POS-tagging score. XTREME does *not* report this for UD-POS; it reports
    ``seqeval_f1`` on the UPOS sequences (see there).
    """
    _check_sequences(predictions, references)
    total = sum(len(ref) for ref in references)
    if total == 0:
        raise ValueError("cannot score sequences without tokens")
    correct = sum(
        p == r for pred, ref in zip(predictions, references, strict=True) for p, r in zip(pred, ref, strict=True)
    )
    return {"accuracy": 100.0 * correct / total}


def qa_references(examples: Iterable[QAExample]) -> dict[str, list[str]]:
    """``{question id: [gold answer texts]}`` of QA examples, the ``references`` form of ``squad``/``mlqa``."""
    return {example.id: [answer.text for answer in example.answers] for example in examples}


def _qa_scores(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]] | Sequence[QAExample],
    normalize: Callable[[str], str],
) -> dict[str, float]:
    golds = references if isinstance(references, Mapping) else qa_references(references)
    if not golds:
        raise ValueError("cannot score an empty set of references")
    em = f1 = 0.0
    for qid, answers in golds.items():
        if not answers:
            raise ValueError(f"question {qid!r} has no gold answer")
        if qid not in predictions:
            continue
        em += squad.best_over_golds(squad.exact_match, predictions[qid], answers, normalize)
        f1 += squad.best_over_golds(squad.token_f1, predictions[qid], answers, normalize)
    return {"exact_match": 100.0 * em / len(golds), "f1": 100.0 * f1 / len(golds)}


@register_metric("squad")
def squad_em_f1(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]] | Sequence[QAExample],
) -> dict[str, float]:
    """SQuAD v1.1 exact match and F1 in percent (XTREME's score for XQuAD and TyDiQA-GoldP).

    ``EM = 100 * mean_q max_g [norm(pred_q) == norm(g)]`` and
    ``F1 = 100 * mean_q max_g token_f1(pred_q, g)`` over the questions of ``references``,
    ``norm`` being SQuAD's (lowercase, no ASCII punctuation, no a/an/the, single spaces).
    A question without a prediction scores 0; predictions for unknown ids are ignored.

    Args:
        predictions: ``{question id: predicted answer text}`` (the official predictions file).
        references: ``{question id: [gold answer texts]}``, or the ``QAExample``s.
    """
    return _qa_scores(predictions, references, squad.normalize_squad)


@register_metric("mlqa")
def mlqa_em_f1(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]] | Sequence[QAExample],
    *,
    language: str | None = None,
) -> dict[str, float]:
    """MLQA exact match and F1 in percent: as ``squad``, with MLQA's normalization for ``language``.

    ``language`` is the *answer (context) language*, one of en es hi vi de ar zh, and must be
    given: it picks the article list and the tokenization (see
    ``crossling.evaluation.squad.normalize_mlqa``: Unicode punctuation removed, per-language
    articles, Chinese split by character).

    Args:
        predictions: ``{question id: predicted answer text}``.
        references: ``{question id: [gold answer texts]}``, or the ``QAExample``s.
        language: The answer language.
    """
    if language is None:
        raise ValueError("the mlqa metric needs language= (the answer language, one of ar de en es hi vi zh)")
    squad.normalize_mlqa("", language)
    return _qa_scores(predictions, references, functools.partial(squad.normalize_mlqa, language=language))


@register_metric("tatoeba_accuracy")
def tatoeba_accuracy(predictions: Sequence[int], references: Sequence[int]) -> dict[str, float]:
    """Retrieval accuracy in percent: ``100 * mean_i [pred_i == gold_i]``.

    ``pred_i`` is the index of the target nearest to source ``i`` (e.g. ``argmax_j
    cos(x_i, y_j)``) and ``gold_i`` the index of its translation, ``i`` itself for
    line-aligned Tatoeba (XTREME's ``tatoeba`` score, xx -> en).
    """
    _check_lengths(predictions, references)
    correct = sum(int(p) == int(r) for p, r in zip(predictions, references, strict=True))
    return {"accuracy": 100.0 * correct / len(references)}


def average_precision_at_k(ranking: Sequence[Any], relevant: Collection[Any], k: int) -> float:
    """AP@k of one ranked list: ``(1 / min(|relevant|, k)) * sum_{i<=k} P@i * rel_i``.

    ``rel_i`` is 1 if the ``i``-th item is relevant and not seen earlier in the ranking,
    ``P@i`` the fraction of such hits among the first ``i``; 0.0 when nothing is relevant.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not relevant:
        return 0.0
    hits, total, seen = 0, 0.0, set()
    for rank, item in enumerate(ranking[:k], start=1):
        if item in relevant and item not in seen:
            hits += 1
            total += hits / rank
        seen.add(item)
    return total / min(len(relevant), k)


def map_at_k(rankings: Sequence[Sequence[Any]], relevant: Sequence[Collection[Any]], k: int) -> dict[str, float]:
    """Mean average precision at ``k`` in percent: ``100 * mean_q AP@k(ranking_q, relevant_q)``.

    Args:
        rankings: Per query, candidate ids best first.
        relevant: Per query, the set of correct candidate ids.
        k: Cut-off (XTREME-R uses 20 for Mewsli-X and LAReQA).
    """
    _check_lengths(rankings, relevant)
    total = sum(average_precision_at_k(r, rel, k) for r, rel in zip(rankings, relevant, strict=True))
    return {f"map@{k}": 100.0 * total / len(relevant)}


@register_metric("map_at_20")
def map_at_20(rankings: Sequence[Sequence[Any]], relevant: Sequence[Collection[Any]]) -> dict[str, float]:
    """mAP@20 in percent: ``map_at_k(rankings, relevant, k=20)`` (XTREME-R's Mewsli-X / LAReQA score)."""
    return map_at_k(rankings, relevant, 20)


@register_metric("bucc_f1")
def bucc_f1(predictions: Sequence[tuple[str, str]], references: Sequence[tuple[str, str]]) -> dict[str, float]:
    """Bitext-mining F1 in percent over sets of ``(source id, target id)`` pairs (XTREME's ``bucc2018``).

    ``P = |pred ∩ gold| / |pred|``, ``R = |pred ∩ gold| / |gold|``, ``F1 = 2PR / (P + R)``;
    all three are 0 when no pair is correct. Duplicate pairs count once.
    """
    gold = {tuple(pair) for pair in references}
    pred = {tuple(pair) for pair in predictions}
    if not gold:
        raise ValueError("cannot score an empty set of references")
    correct = len(gold & pred)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision, recall = correct / len(pred), correct / len(gold)
    return {
        "f1": 100.0 * 2 * precision * recall / (precision + recall),
        "precision": 100.0 * precision,
        "recall": 100.0 * recall,
    }
