"""Retrieval scoring math: cosine and ratio-margin similarity, nearest neighbours, bitext mining, thresholds, top-k.

Scores: ``cos(x, y)``, or the ratio margin of Artetxe & Schwenk (2019)
``margin(x, y) = cos(x, y) / (sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k)``
with k = 4 nearest neighbours of x among the targets and of y among the sources. Inputs are
N x E sentence vectors (``crossling.models.sentence_encoder``); the retrieval kind plugins
(``crossling.tasks.kinds.retrieval``) turn the results into metrics and prediction files.

Top-k search (``top_k``: ranking pools, bitext mining) is ``exact`` (torch, blockwise over the
queries) or ``faiss`` (``retrieval.index``): a faiss ``IndexFlatIP`` over L2-normalised float32
vectors, i.e. the same exact cosine by faiss's kernels (the optional ``faiss`` extra, imported only here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from crossling.config.schema import FAISS_MARGIN
from crossling.errors import ConfigError

#: k of the margin score (Artetxe & Schwenk 2019 and LASER's BUCC mining use 4).
MARGIN_NEIGHBOURS = 4
#: Most similarity entries held at once when mining (a block of queries x all keys).
_SIMILARITY_BLOCK = 2**26
#: Ranks kept per query for mAP and in the prediction file (XTREME-R's mAP@20).
RANKING_DEPTH = 20
#: Top-k search backends of ``retrieval.index``: torch blockwise, or faiss's exact inner-product index.
INDEXES = ("exact", "faiss")


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


def score_matrix_of(similarity: Tensor, scoring: str) -> Tensor:
    """The scores of a cosine matrix (N x M): itself (``cosine``) or its ratio ``margin`` (k = ``MARGIN_NEIGHBOURS``)."""
    if scoring == "cosine":
        return similarity
    if scoring == "margin":
        return margin_matrix(similarity)
    raise ConfigError(f"retrieval.scoring: expected 'cosine' or 'margin', got {scoring!r}")


def score_matrix(x: Tensor, y: Tensor, scoring: str) -> Tensor:
    """N x M scores of sources x against targets y: ``cosine`` or ``margin`` (k = ``MARGIN_NEIGHBOURS``)."""
    return score_matrix_of(cosine_matrix(x, y), scoring)


def retrieve_both_directions(x: Tensor, y: Tensor, scoring: str) -> tuple[list[int], list[int]]:
    """``(xx_en, en_xx)``: for each source the index of its best target, and for each target its best source."""
    scores = score_matrix(x, y, scoring)
    return scores.argmax(dim=1).tolist(), scores.argmax(dim=0).tolist()


def top_k(queries: Tensor, keys: Tensor, k: int, index: str = "exact") -> tuple[Tensor, Tensor]:
    """The k largest cosines of each query among the keys: ``(values, indices)``, N x k each.

    ``index``: ``exact`` computes them blockwise with torch, ``faiss`` with a faiss ``IndexFlatIP``
    (``faiss_top_k``); both are exact, so they agree up to float rounding (order of near-ties).
    """
    if index == "faiss":
        return faiss_top_k(queries, keys, k)
    if index != "exact":
        raise ConfigError(f"retrieval.index: expected one of {', '.join(INDEXES)}, got {index!r}")
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


def require_faiss() -> Any:
    """The ``faiss`` module, or a one-line ``ConfigError`` naming the extra that installs it."""
    try:
        import faiss
    except ImportError:
        raise ConfigError("retrieval.index faiss needs faiss: pip install 'crossling[faiss]' (faiss-cpu)") from None
    return faiss


def faiss_top_k(queries: Tensor, keys: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """``top_k`` by faiss: an ``IndexFlatIP`` of the L2-normalised float32 keys (exact cosine), searched on the CPU.

    The results are moved to the queries' device. faiss searches in blocks of queries and keys,
    so its working memory stays bounded however large the pool; the index holds a copy of the keys.
    """
    faiss = require_faiss()

    def unit_rows(vectors: Tensor) -> Any:
        return torch.nn.functional.normalize(vectors.detach().float(), dim=-1).cpu().contiguous().numpy()

    keys_np = unit_rows(keys)
    flat = faiss.IndexFlatIP(keys_np.shape[1])
    flat.add(keys_np)
    values, indices = flat.search(unit_rows(queries), min(k, keys_np.shape[0]))
    return torch.from_numpy(values).to(queries.device), torch.from_numpy(indices).to(queries.device)


def mine_pairs(
    x: Tensor, y: Tensor, scoring: str, k: int = MARGIN_NEIGHBOURS, index: str = "exact"
) -> list[tuple[int, int, float]]:
    """Candidate translation pairs ``(source index, target index, score)``, best score first (LASER's ``max``).

    Each source's best target and each target's best source (cosine, or ratio margin over the
    k nearest neighbours) are pooled and kept greedily by score when neither side is taken yet.
    Both read only the k nearest neighbours in each direction, so any ``index`` (``top_k``) is exact.
    """
    x2y_sim, x2y_ind = top_k(x, y, k, index)
    y2x_sim, y2x_ind = top_k(y, x, k, index)
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


def top_k_scored(queries: Tensor, keys: Tensor, k: int, scoring: str, index: str = "exact") -> Tensor:
    """Indices of each query's k best keys (N x k), by cosine or by ratio margin, blockwise over the queries.

    The margin's neighbourhoods are a query's ``MARGIN_NEIGHBOURS`` nearest keys and a key's
    nearest queries, as in ``margin_matrix``; every key is scored, not only the cosine top k.
    ``index`` (``top_k``) searches the cosine top k; the margin needs every key's score, which a
    faiss search does not give, so ``faiss`` with ``margin`` is a ``ConfigError``.
    """
    if scoring not in ("cosine", "margin"):
        raise ConfigError(f"retrieval.scoring: expected 'cosine' or 'margin', got {scoring!r}")
    if scoring == "cosine":
        return top_k(queries, keys, k, index)[1]
    if index != "exact":
        raise ConfigError(FAISS_MARGIN)
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
