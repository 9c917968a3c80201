"""Retrieval and ranking (Tatoeba, BUCC, LAReQA, Mewsli-X): sentence vectors, scored without fine-tuning the task.

The kind has no head and trains nothing: the encoder is scored as the intermediate stages
left it (or as pretrained). Its records are queries, so ``task.max_eval_examples`` caps them
as for every kind. Three protocols share the kind, one plugin object each; a task declares
the one its data calls for:

* ``TRANSLATION_RETRIEVAL`` (Tatoeba): records are sentence pairs; the source of pair i must
  retrieve the target of pair i among all targets. Accuracy in both directions; the primary
  ``accuracy`` is their mean. XTREME reports xx -> en only: that number is
  ``accuracy_xx_en``, and the prediction file ``test-{lang}.tsv`` (one target index per line)
  is that direction, as xtreme's scorer reads it; en -> xx goes to ``test-{lang}.en-xx.tsv``.
* ``BITEXT_MINING`` (BUCC 2018): records are the non-English sentences, the candidates the
  English ones. Pairs are mined with LASER's ``max`` strategy (each sentence's best match in
  both directions, kept greedily one-to-one by score); the score threshold that maximises F1
  on ``task.dev_split`` (BUCC's sample set) is applied to the evaluated split. Prediction
  file: ``source id<TAB>target id`` lines.
* ``RANKING`` (LAReQA, Mewsli-X; XTREME-R): every query ranks the shared candidate pool
  (encoded once); the score is mAP@20 over each query's relevant candidates. Prediction file
  ``test-{lang}.json``: ``{query id: [20 candidate ids, best first]}`` (xtreme's Mewsli-X format).

Symmetric protocols encode both sides with the encoder's query prompt, ranking encodes the
candidates with its passage prompt (e5's model card; ``retrieval.prompts``).

For ensembles (``crossling ensemble``), translation retrieval and ranking also give a
language's query x candidate cosine matrix (``similarity``) and score any such matrix
(``score_similarity``), so that the mean of several encoders' matrices is scored as one
encoder's is. Bitext mining keeps no full matrix (BUCC's are too large): it cannot be ensembled.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from crossling.data.records import Candidate, ParallelExample, RankingQuery
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import MEAN, ExampleStats, bucc_stats, map_stats
from crossling.evaluation.metrics import bucc_f1, map_at_k, tatoeba_accuracy
from crossling.evaluation.retrieval import (
    RANKING_DEPTH,
    choose_threshold,
    cosine_matrix,
    mine_pairs,
    score_matrix_of,
    top_k_scored,
)
from crossling.models.sentence_encoder import SentenceEncoder
from crossling.tasks.loading import TaskData
from crossling.taskspec import KindPlugin, TaskKind


@dataclass
class RetrievalResult:
    """Scores of one language and the prediction files to write.

    Args:
        metrics: Metric name -> value, plus ``count``.
        files: File name suffix (after ``{split}-{lang}``) -> text.
        examples: Per-example statistics of the primary metric, for intervals.
        similarity: The query x candidate cosine matrix where the protocol computed it whole.
    """

    metrics: dict[str, Any]
    files: dict[str, str]
    examples: ExampleStats | None = None
    similarity: np.ndarray | None = None


class Retrieval(KindPlugin):
    """A retrieval protocol: how one language's queries are encoded, matched and scored."""

    kind = TaskKind.RETRIEVAL
    fine_tunes = False

    @abc.abstractmethod
    def score_language(
        self, encoder: SentenceEncoder, data: TaskData, language: str, scoring: str, index: str = "exact"
    ) -> RetrievalResult:
        """Scores and prediction files of ``language`` on ``task.eval_split`` (``scoring``: ``cosine`` or ``margin``).

        ``index`` (``retrieval.index``): the top-k search of pools and mining, ``exact`` or ``faiss``.
        """

    def similarity(self, encoder: SentenceEncoder, data: TaskData, language: str, split: str) -> np.ndarray:
        """The queries x candidates cosine matrix of ``language``/``split`` (ensembles average these)."""
        raise ConfigError(f"{data.spec.name}: {type(self).__name__} keeps no similarity matrix to save or ensemble")

    def score_similarity(self, similarity: np.ndarray, data: TaskData, language: str, scoring: str) -> RetrievalResult:
        """``score_language`` of a given queries x candidates similarity matrix (an ensemble's mean)."""
        raise ConfigError(f"{data.spec.name}: {type(self).__name__} cannot score a similarity matrix")


def _records_of(data: TaskData, language: str, split: str, record_type: type) -> list[Any]:
    records = data.records(language, split)
    data.fingerprints[f"{data.spec.name}/{language}/{split}"] = data.source.fingerprint(language, split)
    if not records or not all(isinstance(r, record_type) for r in records):
        found = type(records[0]).__name__ if records else "no records"
        raise DataError(
            f"{data.spec.name}: retrieval expected {record_type.__name__} records for {language}/{split}, got {found}"
        )
    return records


class TranslationRetrieval(Retrieval):
    """Tatoeba: pair i's source must retrieve pair i's target (and the reverse); accuracies in percent.

    Per-example statistics: ``((source correct + target correct) / 2, 1)`` per pair, whose
    sums give the primary ``accuracy`` (the mean of both directions).
    """

    averages_scores = True

    def score_language(
        self, encoder: SentenceEncoder, data: TaskData, language: str, scoring: str, index: str = "exact"
    ) -> RetrievalResult:
        """Both directions' accuracy; their mean is ``accuracy`` (one N x N matrix: ``index`` has no effect)."""
        similarity = self.similarity(encoder, data, language, data.config.eval_split)
        return self.score_similarity(similarity, data, language, scoring)

    def similarity(self, encoder: SentenceEncoder, data: TaskData, language: str, split: str) -> np.ndarray:
        """Sources x targets cosines (N x N, pair i on the diagonal)."""
        records: Sequence[ParallelExample] = _records_of(data, language, split, ParallelExample)
        x = encoder.encode([r.source for r in records])
        y = encoder.encode([r.target for r in records])
        return cosine_matrix(x, y).float().cpu().numpy()

    def score_similarity(self, similarity: np.ndarray, data: TaskData, language: str, scoring: str) -> RetrievalResult:
        """Each source's best target (xx -> en) and each target's best source (en -> xx) by cosine or margin."""
        records: Sequence[ParallelExample] = _records_of(data, language, data.config.eval_split, ParallelExample)
        if similarity.shape != (len(records), len(records)):
            raise DataError(
                f"{data.spec.name} {language}: a {similarity.shape} similarity matrix for {len(records)} pairs"
            )
        scores = score_matrix_of(torch.from_numpy(np.ascontiguousarray(similarity)), scoring)
        xx_en, en_xx = scores.argmax(dim=1).tolist(), scores.argmax(dim=0).tolist()
        gold = list(range(len(records)))
        forward = tatoeba_accuracy(xx_en, gold)["accuracy"]
        backward = tatoeba_accuracy(en_xx, gold)["accuracy"]
        metrics = {
            "accuracy": (forward + backward) / 2,
            "accuracy_xx_en": forward,
            "accuracy_en_xx": backward,
            "count": len(records),
        }
        correct = (np.equal(xx_en, gold).astype(np.float64) + np.equal(en_xx, gold)) / 2
        rows = np.stack([correct, np.ones(len(gold))], axis=1)
        examples = ExampleStats(data.spec.metric, MEAN, rows, tuple(r.id for r in records))
        files = {".tsv": _index_lines(xx_en), ".en-xx.tsv": _index_lines(en_xx)}
        return RetrievalResult(metrics, files, examples, similarity)


def _index_lines(indices: Sequence[int]) -> str:
    return "".join(f"{i}\n" for i in indices)


def _pool_vectors(encoder: SentenceEncoder, candidates: Sequence[Candidate], role: str) -> Tensor:
    """The candidates' vectors, encoded once per pool object (every language of a ranking task shares its pool).

    They are read from the encoder's on-disk vector cache where it has one (``encode_cached``).
    """
    key = id(candidates)
    if key not in encoder.pool_vectors:
        encoder.pool_vectors.clear()
        texts = [c.text for c in candidates]
        encoder.pool_vectors[key] = encoder.encode_cached(texts, "encode the candidate pool", role=role)
    return encoder.pool_vectors[key]


class BitextMining(Retrieval):
    """BUCC: mine candidate pairs, pick the threshold on ``task.dev_split``, score F1 on the evaluated split."""

    @staticmethod
    def _mine(
        encoder: SentenceEncoder, data: TaskData, language: str, split: str, scoring: str, index: str
    ) -> tuple[list[tuple[str, str, float]], set[tuple[str, str]]]:
        """``(candidate pairs (source id, target id, score), gold pairs)`` of one split's (capped) sentences."""
        queries: Sequence[RankingQuery] = _records_of(data, language, split, RankingQuery)
        targets = data.candidates(language, split)
        gold = {(q.id, target) for q in queries for target in q.relevant}
        if not gold:
            raise DataError(
                f"{data.spec.name}: no gold pairs for {language}/{split} (a .gold file beside the sentences)"
            )
        x = encoder.encode([q.text for q in queries])
        y = _pool_vectors(encoder, targets, "query")
        pairs = [(queries[i].id, targets[j].id, s) for i, j, s in mine_pairs(x, y, scoring, index=index)]
        return pairs, gold

    def score_language(
        self, encoder: SentenceEncoder, data: TaskData, language: str, scoring: str, index: str = "exact"
    ) -> RetrievalResult:
        """F1 of the pairs scoring at least the dev-chosen threshold; the threshold and dev F1 are reported."""
        split, dev_split = data.config.eval_split, data.config.dev_split
        if dev_split == "none":
            raise ConfigError(f"{data.spec.name}: the mining threshold is chosen on task.dev_split, which is 'none'")
        dev_candidates, dev_gold = self._mine(encoder, data, language, dev_split, scoring, index)
        threshold, dev_f1 = choose_threshold(dev_candidates, dev_gold)
        candidates, gold = (
            (dev_candidates, dev_gold)
            if dev_split == split
            else self._mine(encoder, data, language, split, scoring, index)
        )
        predicted = [(s, t) for s, t, score in candidates if score >= threshold]
        metrics = {**bucc_f1(predicted, sorted(gold)), "threshold": threshold, "dev_f1": dev_f1, "count": len(gold)}
        sources = [q.id for q in data.records(language, split)]
        examples = bucc_stats(predicted, sorted(gold), sources)
        return RetrievalResult(metrics, {".tsv": "".join(f"{s}\t{t}\n" for s, t in predicted)}, examples)


class Ranking(Retrieval):
    """LAReQA / Mewsli-X: each query ranks the shared pool; mAP@20 of its relevant candidates, in percent.

    Per-example statistics: ``(AP@20, 1)`` per query.
    """

    averages_scores = True

    def score_language(
        self, encoder: SentenceEncoder, data: TaskData, language: str, scoring: str, index: str = "exact"
    ) -> RetrievalResult:
        """mAP@20 over the language's queries; the pool's size and languages are reported."""
        split = data.config.eval_split
        queries: Sequence[RankingQuery] = _records_of(data, language, split, RankingQuery)
        pool = data.candidates(language, split)
        keys = _pool_vectors(encoder, pool, "passage")
        query_vectors = encoder.encode([q.text for q in queries])
        ranked = top_k_scored(query_vectors, keys, RANKING_DEPTH, scoring, index).tolist()
        return self._scored(data, language, queries, pool, ranked)

    def similarity(self, encoder: SentenceEncoder, data: TaskData, language: str, split: str) -> np.ndarray:
        """Queries x pool cosines (the whole pool, so only for pools that fit in memory)."""
        queries: Sequence[RankingQuery] = _records_of(data, language, split, RankingQuery)
        keys = _pool_vectors(encoder, data.candidates(language, split), "passage")
        return cosine_matrix(encoder.encode([q.text for q in queries]), keys).float().cpu().numpy()

    def score_similarity(self, similarity: np.ndarray, data: TaskData, language: str, scoring: str) -> RetrievalResult:
        """Each query's 20 best candidates by the given cosines (or their ratio margin)."""
        split = data.config.eval_split
        queries: Sequence[RankingQuery] = _records_of(data, language, split, RankingQuery)
        pool = data.candidates(language, split)
        if similarity.shape != (len(queries), len(pool)):
            raise DataError(
                f"{data.spec.name} {language}: a {similarity.shape} similarity matrix for "
                f"{len(queries)} queries x {len(pool)} candidates"
            )
        scores = score_matrix_of(torch.from_numpy(np.ascontiguousarray(similarity)), scoring)
        ranked = scores.topk(min(RANKING_DEPTH, len(pool)), dim=1).indices.tolist()
        return self._scored(data, language, queries, pool, ranked)

    @staticmethod
    def _scored(
        data: TaskData,
        language: str,
        queries: Sequence[RankingQuery],
        pool: Sequence[Candidate],
        ranked: Sequence[Sequence[int]],
    ) -> RetrievalResult:
        """mAP@20, its per-query rows and the prediction file of each query's ranked pool indices."""
        rankings = [[pool[i].id for i in row] for row in ranked]
        relevant = [q.relevant for q in queries]
        metrics = {
            **map_at_k(rankings, relevant, RANKING_DEPTH),
            "count": len(queries),
            "pool_size": len(pool),
            "pool_languages": len({c.language for c in pool}),
        }
        examples = map_stats(rankings, relevant, [q.id for q in queries], k=RANKING_DEPTH, metric=data.spec.metric)
        predictions = {q.id: ranking for q, ranking in zip(queries, rankings, strict=True)}
        return RetrievalResult(metrics, {".json": json.dumps(predictions, ensure_ascii=False) + "\n"}, examples)


TRANSLATION_RETRIEVAL = TranslationRetrieval()
BITEXT_MINING = BitextMining()
RANKING = Ranking()
