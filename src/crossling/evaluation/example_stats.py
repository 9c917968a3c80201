"""Per-example sufficient statistics: one row per test example whose column sums give the metric, for intervals."""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.data.records import QAExample
from crossling.errors import DataError
from crossling.evaluation import squad
from crossling.evaluation.metrics import average_precision_at_k, qa_references
from crossling.utils.io import atomic_path


def _ratio(sums: np.ndarray) -> np.ndarray:
    """``100 * sums[..., 0] / sums[..., 1]`` (0 where the denominator is 0)."""
    numerator, denominator = sums[..., 0], sums[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 100.0 * numerator / np.where(denominator > 0, denominator, 1.0), 0.0)


def _f1(sums: np.ndarray) -> np.ndarray:
    """``100 * 2PR / (P + R)`` with ``P = tp / (tp + fp)``, ``R = tp / (tp + fn)``; 0 where ``tp == 0``."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    safe_tp = np.where(tp > 0, tp, 1.0)
    precision = safe_tp / (safe_tp + fp)
    recall = safe_tp / (safe_tp + fn)
    return np.where(tp > 0, 100.0 * (2 * precision * recall / (precision + recall)), 0.0)


#: Aggregate rules: name -> function of the column sums (``[..., S]`` -> ``[...]``, percent).
AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {"ratio": _ratio, "f1": _f1}

#: Every rule as a fraction ``metric = 100 * numerator / denominator`` of linear functions of the
#: column sums, so that a sum over examples can be linearized (the ensembles' oracle):
#: ``ratio``: ``s0 / s1``; ``f1``: ``2 tp / (2 tp + fp + fn)``. Name -> ``[..., S]`` -> (num, den).
FRACTIONS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "ratio": lambda s: (s[..., 0], s[..., 1]),
    "f1": lambda s: (2 * s[..., 0], 2 * s[..., 0] + s[..., 1] + s[..., 2]),
}


@dataclass(frozen=True)
class ExampleStatistic:
    """How one metric decomposes over test examples: its columns and the rule turning column sums into the metric.

    ``metric = AGGREGATES[aggregate](stats.sum(axis=0))``: ``ratio`` is ``100 * s0 / s1``
    (accuracy, EM/F1 and mAP as ``(value, 1)`` per example, token accuracy as
    ``(correct tokens, tokens)`` per sentence); ``f1`` is ``100 * 2PR / (P + R)`` of
    ``(tp, fp, fn)`` sums (seqeval entity F1 per sentence, BUCC F1 per source sentence).

    Args:
        aggregate: A key of ``AGGREGATES``.
        columns: Names of the S columns.
    """

    aggregate: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"unknown aggregate rule {self.aggregate!r}; known: {sorted(AGGREGATES)}")


MEAN = ExampleStatistic("ratio", ("value", "count"))
TOKEN_RATIO = ExampleStatistic("ratio", ("correct", "tokens"))
COUNTS_F1 = ExampleStatistic("f1", ("tp", "fp", "fn"))


def metric_from_sums(aggregate: str, sums: np.ndarray) -> np.ndarray:
    """The metric (percent) from column sums ``[..., S]`` by the rule ``aggregate`` (vectorized over leading axes)."""
    try:
        rule = AGGREGATES[aggregate]
    except KeyError:
        raise ValueError(f"unknown aggregate rule {aggregate!r}; known: {sorted(AGGREGATES)}") from None
    return rule(np.asarray(sums, dtype=np.float64))


@dataclass(frozen=True)
class ExampleStats:
    """Per-example statistics of one scored split: ``stats[i]`` is example ``ids[i]``'s row.

    Args:
        metric: Name of the metric the rows decompose.
        statistic: Columns and aggregate rule.
        stats: float64 ``[N, S]``.
        ids: The N example ids, in row order.
    """

    metric: str
    statistic: ExampleStatistic
    stats: np.ndarray
    ids: tuple[str, ...]

    def value(self) -> float:
        """The full-sample metric: the aggregate of the column sums."""
        return float(metric_from_sums(self.statistic.aggregate, self.stats.sum(axis=0)))

    def ids_hash(self) -> str:
        """SHA-256 of the ids joined by newlines: equal hashes mean rows are aligned across runs."""
        return ids_digest(self.ids)


def ids_digest(ids: Sequence[str]) -> str:
    """SHA-256 hex digest of ``ids`` joined by newlines."""
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def _stats(
    metric: str, statistic: ExampleStatistic, rows: Sequence[Sequence[float]], ids: Sequence[Any]
) -> ExampleStats:
    ids = list(ids)
    if len(ids) != len(rows):
        raise ValueError(f"{metric}: {len(rows)} per-example rows for {len(ids)} example ids")
    array = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(statistic.columns))
    return ExampleStats(metric, statistic, array, tuple(str(i) for i in ids))


def accuracy_stats(
    predictions: Sequence[Any], references: Sequence[Any], ids: Sequence[Any], *, metric: str = "accuracy"
) -> ExampleStats:
    """``(pred_i == ref_i, 1)`` per example: the column sums give ``accuracy`` / ``tatoeba_accuracy``."""
    rows = [(float(p == r), 1.0) for p, r in zip(predictions, references, strict=True)]
    return _stats(metric, MEAN, rows, ids)


def pos_accuracy_stats(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], ids: Sequence[Any]
) -> ExampleStats:
    """``(correct tokens, tokens)`` per sentence: the column sums give ``pos_accuracy``."""
    rows = [
        (float(sum(p == r for p, r in zip(pred, ref, strict=True))), float(len(ref)))
        for pred, ref in zip(predictions, references, strict=True)
    ]
    return _stats("pos_accuracy", TOKEN_RATIO, rows, ids)


def seqeval_stats(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], ids: Sequence[Any], *, metric: str = "f1"
) -> ExampleStats:
    """``(tp, fp, fn)`` entity chunks per sentence with seqeval's default (conlleval) chunking.

    Chunks are seqeval's ``get_entities`` (type, start, end) of each sentence alone, as
    seqeval's corpus F1 does (it chunks each sentence separately), so the column sums
    give ``seqeval_f1`` / ``f1``.
    """
    from seqeval.metrics.sequence_labeling import get_entities

    rows = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        for pred, ref in zip(predictions, references, strict=True):
            predicted, gold = set(get_entities(list(pred))), set(get_entities(list(ref)))
            rows.append((len(predicted & gold), len(predicted - gold), len(gold - predicted)))
    return _stats(metric, COUNTS_F1, rows, ids)


def qa_stats(
    predictions: Mapping[str, str],
    references: Sequence[QAExample],
    *,
    metric: str,
    normalize: Callable[[str], str] = squad.normalize_squad,
    column: str = "f1",
) -> ExampleStats:
    """``(best token F1 over the golds, 1)`` per question (``column="exact_match"``: EM); sums give the QA metric.

    A question without a prediction scores 0, as in ``crossling.evaluation.metrics``.
    """
    score = squad.token_f1 if column == "f1" else squad.exact_match
    golds = qa_references(references)
    rows = [
        (squad.best_over_golds(score, predictions[qid], answers, normalize) if qid in predictions else 0.0, 1.0)
        for qid, answers in golds.items()
    ]
    return _stats(metric, MEAN, rows, list(golds))


#: QA metrics' answer normalization, given the answer language (``squad`` ignores it).
QA_NORMALIZATION: dict[str, Callable[[str | None], Callable[[str], str]]] = {
    "squad": lambda language: squad.normalize_squad,
    "mlqa": lambda language: functools.partial(squad.normalize_mlqa, language=language),
}


def qa_metric_stats(
    metric: str, predictions: Mapping[str, str], references: Sequence[QAExample], *, language: str | None = None
) -> ExampleStats | None:
    """Per-question F1 rows of a QA metric (``QA_NORMALIZATION``; ``language``: the answer language), else ``None``."""
    normalization = QA_NORMALIZATION.get(metric)
    return (
        qa_stats(predictions, references, metric=metric, normalize=normalization(language)) if normalization else None
    )


def map_stats(
    rankings: Sequence[Sequence[Any]],
    relevant: Sequence[Collection[Any]],
    ids: Sequence[Any],
    *,
    k: int = 20,
    metric: str = "map_at_20",
) -> ExampleStats:
    """``(AP@k, 1)`` per query: the column sums give mAP@k."""
    rows = [(average_precision_at_k(r, rel, k), 1.0) for r, rel in zip(rankings, relevant, strict=True)]
    return _stats(metric, MEAN, rows, ids)


def bucc_stats(
    predictions: Sequence[tuple[str, str]], references: Sequence[tuple[str, str]], source_ids: Sequence[str]
) -> ExampleStats:
    """``(tp, fp, fn)`` of mined pairs per source sentence (``source_ids``: every source sentence of the split).

    Rows are per source sentence, not per pair, so that two systems' rows align whatever
    pairs they mined; duplicate pairs count once, as in ``bucc_f1``.
    """
    gold, pred = {tuple(p) for p in references}, {tuple(p) for p in predictions}
    counts = {str(source): [0, 0, 0] for source in source_ids}
    for pair in pred | gold:
        row = counts.get(str(pair[0]))
        if row is None:
            raise ValueError(f"pair {pair!r} names a source sentence that is not in the split")
        row[0 if pair in pred and pair in gold else 1 if pair in pred else 2] += 1
    return _stats("bucc_f1", COUNTS_F1, list(counts.values()), list(counts))


#: Per-example statistics of the metrics scored on parallel lists (predictions, references): metric -> function.
LIST_STATISTICS: dict[str, Callable[..., ExampleStats]] = {
    "accuracy": accuracy_stats,
    "tatoeba_accuracy": lambda p, r, ids: accuracy_stats(p, r, ids, metric="tatoeba_accuracy"),
    "f1": seqeval_stats,
    "seqeval_f1": lambda p, r, ids: seqeval_stats(p, r, ids, metric="seqeval_f1"),
    "pos_accuracy": pos_accuracy_stats,
}


def list_stats(
    metric: str, predictions: Sequence[Any], references: Sequence[Any], ids: Sequence[Any]
) -> ExampleStats | None:
    """Per-example statistics of ``metric`` on parallel lists (``LIST_STATISTICS``); ``None`` for other metrics."""
    function = LIST_STATISTICS.get(metric)
    return function(predictions, references, ids) if function else None


def examples_path(run_dir: Path, task: str, split: str, language: str) -> Path:
    """Where a run writes the per-example statistics of one language."""
    return run_dir / "examples" / task / f"{split}-{language}.safetensors"


def write_example_stats(path: Path, stats: ExampleStats) -> None:
    """Save ``stats`` as tensor ``stats`` (float64 [N, S]) with metric, aggregate, columns and ids hash as metadata."""
    from safetensors.numpy import save_file

    metadata = {
        "metric": stats.metric,
        "aggregate": stats.statistic.aggregate,
        "columns": json.dumps(list(stats.statistic.columns)),
        "ids_sha256": stats.ids_hash(),
    }
    with atomic_path(path) as tmp:
        save_file({"stats": np.ascontiguousarray(stats.stats, dtype=np.float64)}, str(tmp), metadata=metadata)


@dataclass(frozen=True)
class StoredStats:
    """Per-example statistics read back from a run: the rows, the metric, the rule and the ids hash."""

    metric: str
    statistic: ExampleStatistic
    stats: np.ndarray
    ids_sha256: str


def read_example_stats(path: Path) -> StoredStats:
    """The statistics written by :func:`write_example_stats` (``DataError`` naming the file if absent or malformed)."""
    from safetensors import safe_open

    if not path.is_file():
        raise DataError(
            f"{path}: no per-example statistics; the run was evaluated by an older crossling "
            "(re-evaluate it with `crossling evaluate`)"
        )
    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
            array = handle.get_tensor("stats")
        statistic = ExampleStatistic(meta["aggregate"], tuple(json.loads(meta["columns"])))
    except (KeyError, ValueError, OSError) as exc:
        raise DataError(f"{path}: not a per-example statistics file ({exc})") from None
    if array.ndim != 2 or array.shape[1] != len(statistic.columns):
        raise DataError(f"{path}: stats of shape {array.shape} for columns {list(statistic.columns)}")
    return StoredStats(meta["metric"], statistic, array, meta["ids_sha256"])
