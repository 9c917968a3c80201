"""Ensemble arithmetic by hand: every combining method, vote ties, the weight grid, the oracle, the member baselines."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from crossling.analysis.ensembles import (
    average_probabilities,
    combine,
    compare_with_members,
    fit_simplex_weights,
    oracle_rows,
    simplex_grid,
)
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import metric_from_sums


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_average_probabilities_by_hand():
    a = [np.log(np.array([0.8, 0.2]))]
    b = [np.log(np.array([0.4, 0.6])) + 7.0]  # logits, not log-probabilities: the softmax removes the shift
    (mean,) = average_probabilities([a, b], axis=-1)
    np.testing.assert_allclose(np.exp(mean), [0.6, 0.4], rtol=1e-6)
    # QA rows (T x 2): distributions over the positions, one per column.
    start_end = [np.log(np.array([[0.5, 0.1], [0.5, 0.9]]))]
    other = [np.log(np.array([[0.9, 0.3], [0.1, 0.7]]))]
    (qa,) = average_probabilities([start_end, other], axis=0)
    np.testing.assert_allclose(np.exp(qa), [[0.7, 0.2], [0.3, 0.8]], rtol=1e-6)
    with pytest.raises(DataError, match="numbers of rows"):
        average_probabilities([a, a + a], axis=-1)


def test_logit_and_weighted_combinations_by_hand():
    a, b = np.array([4.0, 0.0, 1.0]), np.array([0.0, 2.0, 1.0])
    (logit,) = combine([[a], [b]], "logit", -1)
    np.testing.assert_allclose(logit, [2.0, 1.0, 1.0])
    (weighted,) = combine([[a], [b]], "weighted", -1, [0.25, 0.75])
    np.testing.assert_allclose(np.exp(weighted), 0.25 * _softmax(a) + 0.75 * _softmax(b), rtol=1e-6)
    # A zero weight drops a member: the mixture is the other member's distribution.
    (alone,) = combine([[a], [b]], "weighted", -1, [0.0, 1.0])
    np.testing.assert_allclose(np.exp(alone), _softmax(b), rtol=1e-6)
    with pytest.raises(ConfigError, match="summing to 1"):
        combine([[a], [b]], "weighted", -1, [0.5, 0.6])
    with pytest.raises(ConfigError, match="expected one of"):
        combine([[a], [b]], "median", -1)


def test_scores_without_a_probability_axis_are_averaged_as_similarities():
    # Retrieval rows: cosines of one query to three candidates; prob and logit both take the mean matrix.
    a, b = np.array([0.9, 0.1, -0.2]), np.array([0.3, 0.5, 0.0])
    for method in ("prob", "logit"):
        (row,) = combine([[a], [b]], method, None)
        np.testing.assert_allclose(row, [0.6, 0.3, -0.1], rtol=1e-6)
    (row,) = combine([[a], [b]], "weighted", None, [0.1, 0.9])
    np.testing.assert_allclose(row, 0.1 * a + 0.9 * b, rtol=1e-6)
    with pytest.raises(ConfigError, match="no label axis to vote"):
        combine([[a], [b]], "vote", None)


def test_majority_vote_wins_over_confidence_and_ties_go_to_the_higher_mean_probability():
    # Two members vote class 1 weakly, one votes class 0 with great confidence: the majority wins.
    weak = np.array([0.0, 0.1, -5.0])
    sure = np.array([9.0, 0.0, -5.0])
    (row,) = combine([[weak], [weak], [sure]], "vote", -1)
    assert int(np.argmax(row)) == 1
    # One vote each for classes 0 and 2: the tie goes to the class with the higher mean probability.
    low, high = np.array([2.0, 0.0, 1.9]), np.array([0.0, 0.0, 3.0])
    (tie,) = combine([[low], [high]], "vote", -1)
    mean = (_softmax(low) + _softmax(high)) / 2
    assert mean[2] > mean[0] and int(np.argmax(tie)) == 2
    np.testing.assert_allclose(tie, np.array([1.0, 0.0, 1.0]) + 0.5 * mean, rtol=1e-6)
    # Equal votes and equal mean probabilities: the lower index (numpy's argmax).
    (exact,) = combine([[np.array([1.0, 0.0])], [np.array([0.0, 1.0])]], "vote", -1)
    assert exact[0] == pytest.approx(exact[1]) and int(np.argmax(exact)) == 0


def test_qa_votes_count_start_and_end_positions_separately():
    first = np.array([[3.0, 0.0], [0.0, 0.0], [0.0, 3.0]])  # start 0, end 2
    second = np.array([[3.0, 0.0], [0.0, 3.0], [0.0, 0.0]])  # start 0, end 1
    (row,) = combine([[first], [second], [first]], "vote", 0)
    assert row[:, 0].argmax() == 0 and row[:, 1].argmax() == 2
    assert np.floor(row[:, 0]).tolist() == [3.0, 0.0, 0.0] and np.floor(row[:, 1]).tolist() == [0.0, 1.0, 2.0]


def test_simplex_grid_holds_every_tenth_step_up_to_four_members_and_stays_small_beyond():
    grid = simplex_grid(3)
    assert grid.shape == (66, 3) and np.allclose(grid.sum(axis=1), 1.0) and (grid >= 0).all()
    assert {tuple(np.round(p * 10).astype(int)) for p in grid} == {
        c for c in itertools.product(range(11), repeat=3) if sum(c) == 10
    }
    assert simplex_grid(4).shape == (math.comb(13, 3), 4)
    many = simplex_grid(12)
    assert len(many) <= 300 and np.allclose(many.sum(axis=1), 1.0)


def test_fit_simplex_weights_takes_the_best_point_and_breaks_ties_towards_uniform():
    weights, score = fit_simplex_weights(2, lambda w: -abs(w[0] - 0.7))
    np.testing.assert_allclose(weights, [0.7, 0.3])
    assert score == pytest.approx(0.0)
    flat, _ = fit_simplex_weights(3, lambda w: 1.0)
    np.testing.assert_allclose(sorted(flat), [0.3, 0.3, 0.4])  # a nearest grid point to (1/3, 1/3, 1/3)
    plateau, _ = fit_simplex_weights(2, lambda w: float(w[0] >= 0.2))
    np.testing.assert_allclose(plateau, [0.5, 0.5])


def _accuracy_rows(correct) -> np.ndarray:
    correct = np.asarray(correct, dtype=np.float64)
    return np.stack([correct, np.ones_like(correct)], axis=-1)


def test_accuracy_oracle_counts_an_example_correct_if_any_member_is():
    members = np.stack([_accuracy_rows([1, 0, 0, 1]), _accuracy_rows([0, 1, 0, 1])])
    oracle = oracle_rows(members, "ratio")
    assert oracle[:, 0].tolist() == [1.0, 1.0, 0.0, 1.0]
    # QA: (F1, 1) per question; the oracle takes each question's best F1.
    qa = np.stack([np.array([[0.5, 1], [1.0, 1]]), np.array([[0.8, 1], [0.2, 1]])])
    assert oracle_rows(qa, "ratio")[:, 0].tolist() == [0.8, 1.0]


def test_f1_oracle_is_the_best_per_sentence_choice_and_never_below_the_best_member():
    rng = np.random.default_rng(0)
    for _ in range(20):
        members = rng.integers(0, 4, size=(2, 7, 3)).astype(np.float64)
        value = float(metric_from_sums("f1", oracle_rows(members, "f1").sum(axis=0)))
        brute = max(
            float(metric_from_sums("f1", members[list(choice), np.arange(7)].sum(axis=0)))
            for choice in itertools.product(range(2), repeat=7)
        )
        best_member = float(metric_from_sums("f1", members.sum(axis=1)).max())
        assert value == pytest.approx(brute) and value >= best_member - 1e-9


def test_compare_with_members_reports_best_mean_and_oracle_with_intervals():
    rng = np.random.default_rng(1)
    members = [_accuracy_rows(rng.random(200) < p) for p in (0.6, 0.7, 0.5)]
    ensemble = _accuracy_rows(rng.random(200) < 0.75)
    result = compare_with_members(ensemble, members, "ratio", n_resamples=300)
    points = [100 * m[:, 0].mean() for m in members]
    assert result.best_index == 1 and result.best_member.value == pytest.approx(points[1])
    assert result.mean_member.value == pytest.approx(np.mean(points))
    assert result.ensemble.value == pytest.approx(100 * ensemble[:, 0].mean())
    assert result.oracle.value >= result.best_member.value >= result.mean_member.value
    for interval in (result.ensemble, result.best_member, result.mean_member, result.oracle, result.minus_best):
        assert interval.low <= interval.value <= interval.high and interval.high - interval.low < 30
    assert result.minus_best.value == pytest.approx(result.ensemble.value - result.best_member.value)
    # Paired: the difference's interval is narrower than the two systems' intervals side by side.
    assert result.minus_best.high - result.minus_best.low < (result.ensemble.high - result.ensemble.low) + (
        result.best_member.high - result.best_member.low
    )


def test_an_ensemble_equal_to_its_best_member_gains_exactly_zero_with_p_one():
    rng = np.random.default_rng(2)
    members = [_accuracy_rows(rng.random(100) < p) for p in (0.6, 0.7)]
    result = compare_with_members(members[1], members, "ratio", n_resamples=200)
    assert (result.minus_best.value, result.minus_best.low, result.minus_best.high) == (0.0, 0.0, 0.0)
    assert result.p_minus_best == 1.0


def test_an_ensemble_right_where_its_best_member_is_wrong_gains_significantly():
    truth = np.ones(300, dtype=bool)
    best = _accuracy_rows(np.arange(300) % 2 == 0)  # 50%
    worse = _accuracy_rows(np.arange(300) % 3 == 0)  # 33%
    result = compare_with_members(_accuracy_rows(truth), [best, worse], "ratio", n_resamples=500)
    assert result.minus_best.value == pytest.approx(50.0) and result.minus_best.low > 40
    assert result.p_minus_best < 0.01
