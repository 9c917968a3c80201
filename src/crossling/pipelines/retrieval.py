"""Retrieval without fine-tuning: sentence vectors from an encoder layer, nearest-neighbour or margin scoring.

``evaluate_retrieval`` is what ``run_experiment`` calls for tasks of kind ``retrieval``
(``EVAL_ONLY_KINDS``). The encoder is the configured pretrained one: the experiment
pipeline does not train intermediate stages before an eval-only target task, so an
"intermediate-task then retrieval" run scores the pretrained encoder.

Sentence vector of sentence s with token mask m (B x T) and token features F = f(H_0..H_L):

* ``mean``: ``v = sum_t m_t F_t / sum_t m_t`` (every real token, special tokens included,
  as XTREME's and e5's mean pooling); ``cls``: ``v = F_{first real token}``.
* ``F = H_layer`` with ``aggregation.strategy: last`` (``retrieval.layer``, default 7), else
  the parameter-free strategy ``layer`` (H_k) or ``mean`` (mean of H_k..H_L).

Scores: ``cos(x, y)``, or the ratio margin of Artetxe & Schwenk (2019)
``margin(x, y) = cos(x, y) / (sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k)``
with k = 4 nearest neighbours of x among the targets and of y among the sources.

What is scored depends on the records a task's source yields (``PROTOCOLS``):

* ``ParallelExample`` lists (Tatoeba): the source of pair i must retrieve the target of
  pair i. Accuracy in both directions; the primary ``accuracy`` is their mean. XTREME
  reports xx -> en only: that number is ``accuracy_xx_en``, and the prediction file
  ``test-{lang}.tsv`` (one target index per line) is that direction, as xtreme's scorer reads
  it; en -> xx predictions go to ``test-{lang}.en-xx.tsv``.
* ``MiningCorpus`` (BUCC 2018): candidate pairs are mined with LASER's ``max`` strategy
  (each sentence's best match in both directions, then kept greedily one-to-one by score);
  the score threshold that maximises F1 on ``task.dev_split`` (BUCC's sample set) is applied
  to the evaluated split. Prediction file: ``source id<TAB>target id`` lines.
* ``RankingProblem`` (LAReQA, Mewsli-X; XTREME-R): every query of a language ranks one
  shared candidate pool (encoded once); the score is mAP@20 over each query's relevant
  candidates (LAReQA: the answer sentence in all 11 languages; Mewsli-X: the gold entity).
  Prediction file ``test-{lang}.json``: ``{query id: [20 candidate ids, best first]}``, the
  format of xtreme's Mewsli-X predictions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from crossling.config.schema import ExperimentConfig, RetrievalConfig
from crossling.data.loading import TaskData
from crossling.data.records import Candidate, ParallelExample, RankingProblem
from crossling.data.retrieval_sources import MiningCorpus
from crossling.errors import ConfigError, DataError
from crossling.evaluation.metrics import bucc_f1, map_at_k, tatoeba_accuracy
from crossling.models.aggregation import LayerAggregator, build_aggregator
from crossling.models.encoder import load_encoder, num_layers_and_hidden
from crossling.models.model import aggregator_options
from crossling.training.loop import resolve_mixed_precision
from crossling.utils.io import atomic_write_text
from crossling.utils.progress import progress

#: k of the margin score (Artetxe & Schwenk 2019 and LASER's BUCC mining use 4).
MARGIN_NEIGHBOURS = 4
#: Aggregation strategies without trainable parameters, usable on a not fine-tuned encoder.
PARAMETER_FREE_STRATEGIES = ("last", "layer", "mean")
#: Most similarity entries held at once when mining (a block of queries x all keys).
_SIMILARITY_BLOCK = 2**26


def sentence_aggregator(config: ExperimentConfig, num_layers: int, hidden_size: int) -> LayerAggregator:
    """The token-feature function of retrieval: ``H_{retrieval.layer}`` for strategy ``last``, else the strategy.

    Raises:
        ConfigError: for a trainable strategy (``scalar_mix``, ``concat``, ``dlfa``: untrained,
            their output is arbitrary), for ``retrieval.layer`` changed while another strategy
            picks the layers, or for a layer out of range.
    """
    aggregation = config.aggregation
    if aggregation.strategy not in PARAMETER_FREE_STRATEGIES:
        raise ConfigError(
            f"aggregation.strategy {aggregation.strategy!r} has trainable parameters, which retrieval never trains "
            f"(its vectors would be arbitrary); use one of {', '.join(PARAMETER_FREE_STRATEGIES)} "
            "(last reads retrieval.layer)"
        )
    options = aggregator_options(aggregation)
    try:
        if aggregation.strategy == "last":
            return build_aggregator(
                "layer", num_layers=num_layers, hidden_size=hidden_size, layer=config.retrieval.layer
            )
        if config.retrieval.layer != RetrievalConfig().layer:
            raise ConfigError(
                f"retrieval.layer has no effect with aggregation.strategy {aggregation.strategy!r}; "
                "set aggregation.layer instead"
            )
        return build_aggregator(aggregation.strategy, num_layers=num_layers, hidden_size=hidden_size, **options)
    except ValueError as exc:
        raise ConfigError(f"retrieval: {exc}") from None


def pool(features: Tensor, attention_mask: Tensor, pooling: str) -> Tensor:
    """Sentence vectors (B x E) from token features (B x T x E) and the mask (B x T, nonzero = real token).

    ``mean``: the mean over real tokens (padding never counts); ``cls``: the first real token
    (left or right padding alike). A row without real tokens gets zeros (``mean``).
    """
    mask = attention_mask != 0
    if pooling == "mean":
        total = features.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1)
        return total / mask.sum(dim=1, keepdim=True).clamp(min=1).to(features.dtype)
    if pooling == "cls":
        first = mask.int().argmax(dim=1)
        return features[torch.arange(features.shape[0], device=features.device), first]
    raise ConfigError(f"retrieval.pooling: expected 'mean' or 'cls', got {pooling!r}")


@dataclass
class SentenceEncoder:
    """``encode(texts) -> N x E`` float32 sentence vectors: encoder, token features, pooling.

    Sentences are tokenized once, sorted by length and batched (little padding), run in
    inference mode under autocast when ``mixed_precision`` is ``bf16``/``fp16``, and returned
    in input order.

    Args:
        encoder: A transformers encoder (called with ``output_hidden_states=True``).
        aggregator: Hidden states -> token features (see ``sentence_aggregator``).
        tokenizer: Its tokenizer.
        pooling: ``mean`` or ``cls``.
        batch_size: Sentences per forward pass.
        max_length: Truncation length in sub-tokens.
        mixed_precision: ``no``, ``bf16`` or ``fp16`` (resolved, not ``auto``).
    """

    encoder: torch.nn.Module
    aggregator: LayerAggregator
    tokenizer: Any
    pooling: str = "mean"
    batch_size: int = 64
    max_length: int = 128
    mixed_precision: str = "no"
    pool_vectors: dict[int, Tensor] = field(default_factory=dict, repr=False)
    show_progress: bool = False

    @property
    def device(self) -> torch.device:
        """Where the encoder's weights are."""
        return next(self.encoder.parameters()).device

    def encode(self, texts: Sequence[str], description: str = "encode") -> Tensor:
        """N x E float32 vectors of ``texts``, in their order (a progress bar when ``show_progress``)."""
        if not texts:
            raise ValueError("no sentences to encode")
        ids = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        vectors: Tensor | None = None
        device = self.device
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.mixed_precision)
        self.encoder.eval()
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None),
            progress(description, len(order), enabled=self.show_progress) as advance,
        ):
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [ids[i] for i in chunk]}, return_tensors="pt")
                input_ids, mask = batch["input_ids"].to(device), batch["attention_mask"].to(device)
                out = self.encoder(
                    input_ids=input_ids, attention_mask=mask, output_hidden_states=True, return_dict=True
                )
                pooled = pool(self.aggregator(out.hidden_states, mask).float(), mask, self.pooling)
                if vectors is None:
                    vectors = torch.empty(len(ids), pooled.shape[-1], dtype=torch.float32, device=device)
                vectors[torch.tensor(chunk, device=device)] = pooled
                advance(len(chunk))
        assert vectors is not None
        return vectors


def cosine_matrix(x: Tensor, y: Tensor) -> Tensor:
    """``S[i, j] = cos(x_i, y_j)`` for x (N x E) and y (M x E): N x M."""
    return torch.nn.functional.normalize(x, dim=-1) @ torch.nn.functional.normalize(y, dim=-1).T


def margin_matrix(similarity: Tensor, k: int = MARGIN_NEIGHBOURS) -> Tensor:
    """Ratio margin of a full similarity matrix S (N x M): ``S[i, j] / ((r_i + c_j) / 2)``.

    ``r_i`` is the mean of the k largest entries of row i (x_i's neighbours among the
    targets), ``c_j`` the mean of the k largest of column j; k is capped by the matrix size.
    """
    fwd = similarity.topk(min(k, similarity.shape[1]), dim=1).values.mean(dim=1)
    bwd = similarity.topk(min(k, similarity.shape[0]), dim=0).values.mean(dim=0)
    return similarity / ((fwd.unsqueeze(1) + bwd.unsqueeze(0)) / 2)


def score_matrix(x: Tensor, y: Tensor, scoring: str) -> Tensor:
    """N x M scores of sources x against targets y: ``cosine`` or ``margin`` (k = ``MARGIN_NEIGHBOURS``)."""
    similarity = cosine_matrix(x, y)
    if scoring == "cosine":
        return similarity
    if scoring == "margin":
        return margin_matrix(similarity)
    raise ConfigError(f"retrieval.scoring: expected 'cosine' or 'margin', got {scoring!r}")


def retrieve_both_directions(x: Tensor, y: Tensor, scoring: str) -> tuple[list[int], list[int]]:
    """``(xx_en, en_xx)``: for each source the index of its best target, and for each target its best source."""
    scores = score_matrix(x, y, scoring)
    return scores.argmax(dim=1).tolist(), scores.argmax(dim=0).tolist()


def top_k(queries: Tensor, keys: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k largest cosines of each query among the keys, blockwise: ``(values, indices)``, N x k each."""
    queries = torch.nn.functional.normalize(queries, dim=-1)
    keys = torch.nn.functional.normalize(keys, dim=-1)
    k = min(k, keys.shape[0])
    block = max(1, _SIMILARITY_BLOCK // keys.shape[0])
    values, indices = [], []
    for start in range(0, queries.shape[0], block):
        v, i = (queries[start : start + block] @ keys.T).topk(k, dim=1)
        values.append(v)
        indices.append(i)
    return torch.cat(values), torch.cat(indices)


def mine_pairs(x: Tensor, y: Tensor, scoring: str, k: int = MARGIN_NEIGHBOURS) -> list[tuple[int, int, float]]:
    """Candidate translation pairs ``(source index, target index, score)``, best score first (LASER's ``max``).

    Each source's best target and each target's best source (cosine, or ratio margin over the
    k nearest neighbours) are pooled and kept greedily by score when neither side is taken yet.
    """
    x2y_sim, x2y_ind = top_k(x, y, k)
    y2x_sim, y2x_ind = top_k(y, x, k)
    if scoring == "margin":
        x_mean, y_mean = x2y_sim.mean(dim=1), y2x_sim.mean(dim=1)
        fwd = x2y_sim / ((x_mean.unsqueeze(1) + y_mean[x2y_ind]) / 2)
        bwd = y2x_sim / ((y_mean.unsqueeze(1) + x_mean[y2x_ind]) / 2)
    elif scoring == "cosine":
        fwd, bwd = x2y_sim, y2x_sim
    else:
        raise ConfigError(f"retrieval.scoring: expected 'cosine' or 'margin', got {scoring!r}")
    fwd_best, bwd_best = fwd.argmax(dim=1), bwd.argmax(dim=1)
    rows_x, rows_y = torch.arange(x.shape[0], device=x.device), torch.arange(y.shape[0], device=y.device)
    sources = torch.cat([rows_x, y2x_ind[rows_y, bwd_best]]).tolist()
    targets = torch.cat([x2y_ind[rows_x, fwd_best], rows_y]).tolist()
    scores = torch.cat([fwd[rows_x, fwd_best], bwd[rows_y, bwd_best]]).tolist()
    kept, seen_source, seen_target = [], set(), set()
    for i in sorted(range(len(scores)), key=lambda i: -scores[i]):
        if sources[i] not in seen_source and targets[i] not in seen_target:
            seen_source.add(sources[i])
            seen_target.add(targets[i])
            kept.append((sources[i], targets[i], scores[i]))
    return kept


def choose_threshold(
    candidates: Sequence[tuple[str, str, float]], gold: set[tuple[str, str]] | frozenset
) -> tuple[float, float]:
    """``(threshold, F1)``: the score cut-off whose kept candidates (score >= threshold) best match ``gold``.

    Candidates are ``(source id, target id, score)``. Every prefix of the candidates sorted by
    score is tried; the threshold is the midpoint between the last kept score and the next
    one (the last score when all are kept), as LASER's BUCC optimisation does. F1 in percent.
    """
    if not gold:
        raise ValueError("cannot choose a threshold without gold pairs")
    ranked = sorted(candidates, key=lambda c: -c[2])
    best_f1, best_index, correct = 0.0, -1, 0
    for index, (source, target, _) in enumerate(ranked):
        correct += (source, target) in gold
        if correct:
            precision, recall = correct / (index + 1), correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1, best_index = f1, index
    if best_index < 0:
        return float("inf"), 0.0
    last = ranked[best_index][2]
    threshold = (last + ranked[best_index + 1][2]) / 2 if best_index + 1 < len(ranked) else last
    return threshold, 100.0 * best_f1


@dataclass
class LanguageResult:
    """Scores of one language and the prediction files to write.

    Args:
        metrics: Metric name -> value, plus ``count``.
        files: File name suffix (after ``{split}-{lang}``) -> text.
    """

    metrics: dict[str, Any]
    files: dict[str, str]


def score_parallel(
    encoder: SentenceEncoder, records: Sequence[ParallelExample], scoring: str, data: TaskData, language: str
) -> LanguageResult:
    """Tatoeba: pair i's source must retrieve pair i's target (and the reverse); accuracies in percent."""
    x = encoder.encode([r.source for r in records])
    y = encoder.encode([r.target for r in records])
    xx_en, en_xx = retrieve_both_directions(x, y, scoring)
    gold = list(range(len(records)))
    forward = tatoeba_accuracy(xx_en, gold)["accuracy"]
    backward = tatoeba_accuracy(en_xx, gold)["accuracy"]
    metrics = {
        "accuracy": (forward + backward) / 2,
        "accuracy_xx_en": forward,
        "accuracy_en_xx": backward,
        "count": len(records),
    }
    return LanguageResult(metrics, {".tsv": _index_lines(xx_en), ".en-xx.tsv": _index_lines(en_xx)})


def _index_lines(indices: Sequence[int]) -> str:
    return "".join(f"{i}\n" for i in indices)


def _corpus(data: TaskData, language: str, split: str) -> MiningCorpus:
    records = data.records(language, split)
    if len(records) != 1 or not isinstance(records[0], MiningCorpus):
        raise DataError(
            f"{data.spec.name}: expected one mining corpus for {language}/{split}, got {len(records)} records"
        )
    data.fingerprints[f"{data.spec.name}/{language}/{split}"] = data.source.fingerprint(language, split)
    return records[0]


def _mine(encoder: SentenceEncoder, corpus: MiningCorpus, scoring: str) -> list[tuple[str, str, float]]:
    x, y = encoder.encode(corpus.source_texts), encoder.encode(corpus.target_texts)
    return [(corpus.source_ids[i], corpus.target_ids[j], s) for i, j, s in mine_pairs(x, y, scoring)]


def score_mining(
    encoder: SentenceEncoder, records: Sequence[MiningCorpus], scoring: str, data: TaskData, language: str
) -> LanguageResult:
    """BUCC: mine candidates, pick the threshold on ``task.dev_split``, score F1 on the evaluated split."""
    split, dev_split = data.config.eval_split, data.config.dev_split
    if dev_split == "none":
        raise ConfigError(f"{data.spec.name}: the mining threshold is chosen on task.dev_split, which is 'none'")
    corpus = _corpus(data, language, split)
    dev = corpus if dev_split == split else _corpus(data, language, dev_split)
    for name, part in ((split, corpus), (dev_split, dev)):
        if not part.gold:
            raise DataError(
                f"{data.spec.name}: no gold pairs for {language}/{name} (a .gold file beside the sentences)"
            )
    dev_candidates = _mine(encoder, dev, scoring)
    threshold, dev_f1 = choose_threshold(dev_candidates, dev.gold)
    candidates = dev_candidates if dev is corpus else _mine(encoder, corpus, scoring)
    predicted = [(s, t) for s, t, score in candidates if score >= threshold]
    metrics = {
        **bucc_f1(predicted, sorted(corpus.gold)),
        "threshold": threshold,
        "dev_f1": dev_f1,
        "count": len(corpus.gold),
    }
    return LanguageResult(metrics, {".tsv": "".join(f"{s}\t{t}\n" for s, t in predicted)})


#: Ranks kept per query for mAP and in the prediction file (XTREME-R's mAP@20).
RANKING_DEPTH = 20


def top_k_scored(queries: Tensor, keys: Tensor, k: int, scoring: str) -> Tensor:
    """Indices of each query's k best keys (N x k), by cosine or by ratio margin, blockwise over the queries.

    The margin's neighbourhoods are a query's ``MARGIN_NEIGHBOURS`` nearest keys and a key's
    nearest queries, as in ``margin_matrix``; every key is scored, not only the cosine top k.
    """
    if scoring not in ("cosine", "margin"):
        raise ConfigError(f"retrieval.scoring: expected 'cosine' or 'margin', got {scoring!r}")
    if scoring == "cosine":
        return top_k(queries, keys, k)[1]
    query_mean = top_k(queries, keys, MARGIN_NEIGHBOURS)[0].mean(dim=1)
    key_mean = top_k(keys, queries, MARGIN_NEIGHBOURS)[0].mean(dim=1)
    queries = torch.nn.functional.normalize(queries, dim=-1)
    keys = torch.nn.functional.normalize(keys, dim=-1)
    block = max(1, _SIMILARITY_BLOCK // keys.shape[0])
    best = []
    for start in range(0, queries.shape[0], block):
        cos = queries[start : start + block] @ keys.T
        margin = cos / ((query_mean[start : start + block].unsqueeze(1) + key_mean.unsqueeze(0)) / 2)
        best.append(margin.topk(min(k, keys.shape[0]), dim=1).indices)
    return torch.cat(best)


def _pool(encoder: SentenceEncoder, candidates: Sequence[Candidate]) -> Tensor:
    """The candidates' vectors, encoded once per pool object (every language of a task shares its pool)."""
    key = id(candidates)
    if key not in encoder.pool_vectors:
        encoder.pool_vectors.clear()
        encoder.pool_vectors[key] = encoder.encode([c.text for c in candidates], "encode the candidate pool")
    return encoder.pool_vectors[key]


def score_ranking(
    encoder: SentenceEncoder, records: Sequence[RankingProblem], scoring: str, data: TaskData, language: str
) -> LanguageResult:
    """LAReQA / Mewsli-X: each query ranks the shared pool; mAP@20 of its relevant candidates, in percent."""
    if len(records) != 1:
        raise DataError(f"{data.spec.name}: expected one ranking problem for {language}, got {len(records)}")
    problem = records[0]
    keys = _pool(encoder, problem.candidates)
    ranked = top_k_scored(encoder.encode([q.text for q in problem.queries]), keys, RANKING_DEPTH, scoring).tolist()
    rankings = [[problem.candidates[i].id for i in row] for row in ranked]
    metrics = {
        **map_at_k(rankings, [q.relevant for q in problem.queries], RANKING_DEPTH),
        "count": len(problem.queries),
        "pool_size": len(problem.candidates),
        "pool_languages": len(problem.pool_languages),
    }
    predictions = {q.id: ranking for q, ranking in zip(problem.queries, rankings, strict=True)}
    return LanguageResult(metrics, {".json": json.dumps(predictions, ensure_ascii=False) + "\n"})


#: Record type a retrieval source yields -> how a language is scored.
PROTOCOLS: dict[type, Callable[..., LanguageResult]] = {
    ParallelExample: score_parallel,
    MiningCorpus: score_mining,
    RankingProblem: score_ranking,
}


def build_sentence_encoder(config: ExperimentConfig, tokenizer: Any, max_length: int) -> SentenceEncoder:
    """The configured pretrained encoder (on the GPU when there is one) with its retrieval features and pooling."""
    encoder = load_encoder(config.model)
    aggregator = sentence_aggregator(config, *num_layers_and_hidden(encoder))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    encoder.to(device)
    aggregator.to(device)
    return SentenceEncoder(
        encoder,
        aggregator,
        tokenizer,
        pooling=config.retrieval.pooling,
        batch_size=config.retrieval.batch_size,
        max_length=max_length,
        mixed_precision=resolve_mixed_precision(config.training.mixed_precision),
    )


def evaluate_retrieval(
    config: ExperimentConfig,
    task_data: TaskData,
    tokenizer: Any,
    *,
    predictions_dir: Path | None,
    show_progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Score every evaluation language of a retrieval task: ``{lang: {metric: value, "count": n, "seconds": s}}``.

    Writes ``predictions_dir/{task}/{split}-{lang}{suffix}`` files in xtreme's formats (see
    the module docstring) when ``predictions_dir`` is given.
    """
    max_length = config.retrieval.max_length or task_data.max_length
    encoder = build_sentence_encoder(config, tokenizer, max_length)
    encoder.show_progress = show_progress
    split = task_data.config.eval_split
    per_language: dict[str, dict[str, Any]] = {}
    for language in task_data.eval_languages():
        started = time.perf_counter()
        records = task_data.records(language, split)
        task_data.fingerprints[f"{task_data.spec.name}/{language}/{split}"] = task_data.source.fingerprint(
            language, split
        )
        protocol = PROTOCOLS.get(type(records[0])) if records else None
        if protocol is None:
            found = type(records[0]).__name__ if records else "no records"
            raise DataError(
                f"{task_data.spec.name}: retrieval cannot score {found} ({language}/{split}); "
                f"expected {', '.join(t.__name__ for t in PROTOCOLS)}"
            )
        result = protocol(encoder, records, config.retrieval.scoring, task_data, language)
        per_language[language] = {**result.metrics, "seconds": round(time.perf_counter() - started, 3)}
        if predictions_dir is not None:
            for suffix, text in result.files.items():
                atomic_write_text(predictions_dir / task_data.spec.name / f"{split}-{language}{suffix}", text)
    return per_language
