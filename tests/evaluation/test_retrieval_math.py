"""Retrieval scoring math: margin scores by hand, both directions, BUCC thresholds, one-to-one mining, margin top-k."""

from __future__ import annotations

import pytest
import torch

from crossling.evaluation.retrieval import (
    choose_threshold,
    margin_matrix,
    mine_pairs,
    retrieve_both_directions,
    top_k_scored,
)


def test_margin_matrix_on_a_hand_built_similarity_matrix():
    s = torch.tensor([[0.9, 0.2, 0.1], [0.6, 0.55, 0.1], [0.8, 0.1, 0.5]])
    m = margin_matrix(s, k=2)
    rows = torch.tensor([(0.9 + 0.2) / 2, (0.6 + 0.55) / 2, (0.8 + 0.5) / 2])
    cols = torch.tensor([(0.9 + 0.8) / 2, (0.55 + 0.2) / 2, (0.5 + 0.1) / 2])
    torch.testing.assert_close(m, s / ((rows[:, None] + cols[None, :]) / 2))
    assert m[1, 1] == pytest.approx(0.55 / ((0.575 + 0.375) / 2))
    # Cosine sends every source to target 0, a "hub" close to all; the margin discounts it.
    assert s.argmax(dim=1).tolist() == [0, 0, 0]
    assert m.argmax(dim=1).tolist() == [0, 1, 0]


def test_both_directions_are_retrieved():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    y = torch.tensor([[0.0, 1.0], [1.0, 0.1], [1.0, 0.0]])
    xx_en, en_xx = retrieve_both_directions(x, y, "cosine")
    assert xx_en == [2, 0, 1]
    assert en_xx == [1, 0, 0]


def test_bucc_threshold_maximises_f1_on_a_synthetic_case():
    gold = {("s1", "t1"), ("s2", "t2"), ("s3", "t3")}
    candidates = [("s1", "t1", 0.9), ("s2", "t2", 0.8), ("s4", "t9", 0.7), ("s3", "t3", 0.6), ("s5", "t5", 0.2)]
    threshold, f1 = choose_threshold(candidates, gold)
    # Prefixes: 1/1 -> F1 .5, 2/2 -> .8, 2/3 -> .667, 3/4 -> .857, 3/5 -> .75: keep four.
    assert threshold == pytest.approx(0.4) and f1 == pytest.approx(100 * 6 / 7)


def test_mining_keeps_pairs_one_to_one_best_first():
    torch.manual_seed(0)
    x = torch.randn(20, 32)
    y = torch.cat([x[:10] + 0.05 * torch.randn(10, 32), torch.randn(15, 32)])
    for scoring in ("cosine", "margin"):
        pairs = mine_pairs(x, y, scoring)
        assert len({i for i, _, _ in pairs}) == len(pairs) == len({j for _, j, _ in pairs})
        assert [s for _, _, s in pairs] == sorted((s for _, _, s in pairs), reverse=True)
        assert {(i, i) for i in range(10)} <= {(i, j) for i, j, _ in pairs[:10]}


def test_margin_ranking_equals_the_full_margin_matrix():
    torch.manual_seed(0)
    queries, keys = torch.randn(7, 5), torch.randn(30, 5)
    full = margin_matrix(torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(keys, dim=-1).T)
    assert torch.equal(top_k_scored(queries, keys, 6, "margin"), full.topk(6, dim=1).indices)
    cosine = torch.nn.functional.normalize(queries, dim=-1) @ torch.nn.functional.normalize(keys, dim=-1).T
    assert torch.equal(top_k_scored(queries, keys, 6, "cosine"), cosine.topk(6, dim=1).indices)
