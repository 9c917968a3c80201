"""retrieval.index faiss: the same top k as the torch search, and its one-line errors (margin, missing extra)."""

from __future__ import annotations

import sys

import pytest
import torch

from crossling.config import build_config
from crossling.config.schema import FAISS_MARGIN
from crossling.errors import ConfigError
from crossling.evaluation.retrieval import mine_pairs, top_k, top_k_scored

#: Cosines closer than this are a tie: float rounding of either kernel may order them either way.
TIE = 1e-6


def _random(rows: int, width: int = 384, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, width, generator=generator) * torch.rand(rows, 1, generator=generator).add(0.5)


def _assert_same_top_k(queries: torch.Tensor, keys: torch.Tensor, k: int) -> None:
    """faiss's top k equals torch's: values to float rounding, indices wherever no near-tie makes the order moot."""
    values, indices = top_k(queries, keys, k + 1)  # one more, to see a tie at rank k
    fast_values, fast_indices = top_k(queries, keys, k, index="faiss")
    assert fast_values.shape == fast_indices.shape == (queries.shape[0], min(k, keys.shape[0]))
    torch.testing.assert_close(fast_values, values[:, :k], atol=TIE, rtol=0)
    close = (values[:, :-1] - values[:, 1:]) < TIE
    tied = torch.zeros_like(values, dtype=torch.bool)
    tied[:, :-1] |= close
    tied[:, 1:] |= close
    tied = tied[:, :k]
    assert tied.float().mean() < 0.01, "random vectors should hardly tie"
    assert torch.equal(fast_indices[~tied], indices[:, :k][~tied])


def test_faiss_top_k_equals_the_blockwise_torch_top_k():
    pytest.importorskip("faiss", reason="the faiss extra (pip install 'crossling[faiss]') is not installed")
    queries, keys = _random(300, seed=1), _random(5000, seed=2)
    _assert_same_top_k(queries, keys, 20)
    keys[17] = queries[3] * 3.0  # the same direction at another length: cosine 1, ranked first
    assert top_k(queries, keys, 1, index="faiss")[1][3].item() == 17


def test_faiss_top_k_caps_k_at_the_pool_and_keeps_the_queries_dtype_and_device():
    pytest.importorskip("faiss", reason="the faiss extra (pip install 'crossling[faiss]') is not installed")
    queries, keys = _random(5, 16, seed=3), _random(4, 16, seed=4)
    values, indices = top_k(queries, keys, 20, index="faiss")
    assert values.shape == indices.shape == (5, 4) and indices.dtype == torch.int64
    assert sorted(indices[0].tolist()) == [0, 1, 2, 3]
    assert torch.equal(indices, top_k(queries, keys, 20)[1])


def test_mining_with_faiss_neighbourhoods_equals_mining_with_torch_in_both_scorings():
    pytest.importorskip("faiss", reason="the faiss extra (pip install 'crossling[faiss]') is not installed")
    x = _random(200, 64, seed=5)
    y = torch.cat([x[:100] + 0.3 * _random(100, 64, seed=6), _random(150, 64, seed=7)])
    for scoring in ("cosine", "margin"):
        exact = mine_pairs(x, y, scoring)
        fast = mine_pairs(x, y, scoring, index="faiss")
        assert [(i, j) for i, j, _ in fast] == [(i, j) for i, j, _ in exact]
        assert [s for _, _, s in fast] == pytest.approx([s for _, _, s in exact], abs=TIE)


def test_ranking_by_margin_with_faiss_is_a_one_line_config_error():
    queries, keys = _random(3, 8), _random(10, 8, seed=1)
    with pytest.raises(ConfigError, match="retrieval.index: faiss ranks by cosine only") as raised:
        top_k_scored(queries, keys, 5, "margin", index="faiss")
    assert str(raised.value) == FAISS_MARGIN and "\n" not in FAISS_MARGIN
    with pytest.raises(ConfigError, match="retrieval.index: expected one of exact, faiss, got 'annoy'"):
        top_k(queries, keys, 5, index="annoy")


def test_the_config_refuses_margin_with_faiss_at_load_and_accepts_cosine():
    raw = {"name": "x", "model": {"name_or_path": "offline:multilingual-e5-small"}, "task": {"name": "tmpl-retrieval"}}
    with pytest.raises(ConfigError, match="retrieval.index: faiss ranks by cosine only"):
        build_config({**raw, "retrieval": {"index": "faiss", "scoring": "margin"}})
    assert build_config({**raw, "retrieval": {"index": "faiss"}}).retrieval.index == "faiss"
    assert build_config(raw).retrieval.index == "exact"


def test_without_faiss_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'crossling\[faiss\]'"):
        top_k(_random(2, 8), _random(4, 8), 2, index="faiss")
