"""Study statistics: Holm and bootstrap p-values by hand, bootstrap distributions by hand, permutation p-values against scipy, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from crossling.analysis.stats import (
    METHOD,
    bootstrap_pvalue,
    bootstrap_replicates,
    holm,
    permutation_pvalue,
    study_statistics,
)


def _accuracy_rows(correct: np.ndarray) -> np.ndarray:
    """``[..., N]`` 0/1 outcomes -> ``[..., N, 2]`` (value, count) rows."""
    correct = np.asarray(correct, dtype=np.float64)
    return np.stack([correct, np.ones_like(correct)], axis=-1)


def _simulated(rng: np.random.Generator, seeds: int, n: int, accuracy: float, seed_sd: float = 0.0) -> np.ndarray:
    """``[seeds, n, 2]`` rows of a system whose per-seed accuracy is ``accuracy + N(0, seed_sd)``."""
    quality = accuracy + rng.normal(0.0, seed_sd, seeds)
    return _accuracy_rows(rng.random((seeds, n)) < quality[:, None])


def test_holm_matches_hand_computed_step_down():
    # sorted 0.005 0.01 0.03 0.04 -> x4 x3 x2 x1 = 0.02 0.03 0.06 0.04 -> running max 0.02 0.03 0.06 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]).tolist() == [1.0, 1.0]  # 2 x 0.5 = 1.0, capped; 0.6 lifted to the running max
    assert holm([0.2]).tolist() == [0.2] and holm([]).size == 0


def test_bootstrap_of_one_seed_with_two_examples_has_the_hand_computed_distribution():
    # Rows (1, 1) and (0, 1): 2 draws give 100 (p 1/4), 50 (p 1/2) or 0 (p 1/4).
    replicates = bootstrap_replicates({"s": {"en": _accuracy_rows([[1, 0]])}}, "ratio", n_resamples=8000)["s"]["en"]
    assert set(np.unique(replicates)) <= {0.0, 50.0, 100.0}
    assert np.mean(replicates == 100.0) == pytest.approx(0.25, abs=0.02)
    assert np.mean(replicates == 50.0) == pytest.approx(0.5, abs=0.02)


def test_bootstrap_resamples_seeds_with_replacement():
    # One row per seed, so example resampling is the identity: seed 1 scores 4/5 = 80, seed 2 3/5 = 60,
    # and a replicate is the mean of 2 seed draws: 80 (p 1/4), 70 (p 1/2) or 60 (p 1/4).
    rows = np.array([[[4.0, 5.0]], [[3.0, 5.0]]])
    replicates = bootstrap_replicates({"s": {"en": rows}}, "ratio", n_resamples=8000)["s"]["en"]
    assert set(np.unique(replicates)) == {60.0, 70.0, 80.0}
    assert np.mean(replicates == 70.0) == pytest.approx(0.5, abs=0.02)


def test_bootstrap_draws_are_paired_across_systems():
    rng = np.random.default_rng(0)
    rows = _simulated(rng, 3, 50, 0.6)
    replicates = bootstrap_replicates({"a": {"en": rows}, "b": {"en": rows.copy()}}, "ratio", n_resamples=300)
    assert np.array_equal(replicates["a"]["en"], replicates["b"]["en"])


def test_permutation_pvalue_agrees_with_scipys_exact_paired_test():
    rng = np.random.default_rng(3)
    a, b = _accuracy_rows(rng.random(12) < 0.8), _accuracy_rows(rng.random(12) < 0.4)

    def statistic(x, y, axis=-1):
        return 100.0 * (np.mean(x, axis=axis) - np.mean(y, axis=axis))

    exact = scipy_stats.permutation_test(
        (a[:, 0], b[:, 0]), statistic, permutation_type="samples", vectorized=True, n_resamples=10_000
    ).pvalue
    ours = permutation_pvalue([a], [b], "ratio", n_resamples=20_000)
    assert ours == pytest.approx(exact, abs=0.01)


def test_identical_systems_get_p_one_and_a_clear_shift_a_tiny_p():
    rng = np.random.default_rng(4)
    base = _simulated(rng, 3, 300, 0.6)
    same = [base[s] for s in range(3)]
    assert permutation_pvalue(same, [s.copy() for s in same], "ratio") == 1.0
    shifted = _simulated(rng, 3, 300, 0.8)
    assert permutation_pvalue([shifted[s] for s in range(3)], same, "ratio", n_resamples=999) == pytest.approx(1 / 1000)


def test_permutation_pvalues_of_equal_systems_reject_at_about_the_nominal_rate():
    rng = np.random.default_rng(5)
    rejections = 0
    for trial in range(100):
        a, b = _simulated(rng, 2, 100, 0.7), _simulated(rng, 2, 100, 0.7)
        rejections += permutation_pvalue(list(a), list(b), "ratio", n_resamples=199, seed=trial) < 0.05
    assert 1 <= rejections <= 12  # 5 expected


def test_interval_covers_the_true_accuracy_about_95_percent_of_the_time():
    # Truth 70%: each study draws 5 seeds (per-seed accuracy 70 +- 3 points) and 300 fresh test examples.
    rng = np.random.default_rng(6)
    trials, covered = 150, 0
    for trial in range(trials):
        rows = _simulated(rng, 5, 300, 0.7, seed_sd=0.03)
        replicates = bootstrap_replicates({"s": {"en": rows}}, "ratio", n_resamples=300, seed=trial)["s"]["en"]
        low, high = np.percentile(replicates, [2.5, 97.5])
        covered += low <= 70.0 <= high
    assert 0.88 <= covered / trials <= 0.995


def test_study_statistics_reports_averages_and_holm_significant_differences():
    rng = np.random.default_rng(7)
    languages = ["en", "de", "sw"]
    base = {lang: _simulated(rng, 3, 300, 0.6) for lang in languages}
    better = {lang: _simulated(rng, 3, 300, 0.85 if lang == "en" else 0.6) for lang in languages}
    samples = {"last": base, "copy": {lang: rows.copy() for lang, rows in base.items()}, "better": better}
    result = study_statistics(samples, "ratio", baseline="last", english=["en"], n_resamples=500, n_permutations=999)
    assert result.n_seeds == 3 and set(result.comparisons) == {"copy", "better"}
    for lang in languages:
        interval = result.systems["last"][lang]
        means = 100 * base[lang][:, :, 0].mean(axis=1)
        assert interval.value == pytest.approx(means.mean()) and interval.low < interval.value < interval.high
    overall = result.averages["better"]["overall"]
    assert overall.value == pytest.approx(np.mean([result.systems["better"][lang].value for lang in languages]))
    assert set(result.averages["last"]) == {"english", "transfer", "overall"}
    copy = result.comparisons["copy"]["de"]
    assert (copy.diff.value, copy.diff.low, copy.diff.high, copy.p, copy.significant) == (0.0, 0.0, 0.0, 1.0, False)
    english = result.comparisons["better"]["en"]
    assert english.significant and english.diff.low > 10 and english.p_holm == pytest.approx(3 * english.p)
    assert result.average_comparisons["better"]["english"].significant
    assert "Holm" in METHOD and "bootstrap" in METHOD


def test_bootstrap_pvalue_matches_hand_computed_values():
    # one of four replicates at or below 0, three at or above: 2 * (1 + 1) / (4 + 1)
    assert bootstrap_pvalue(np.array([1.0, 2.0, 3.0, -1.0])) == pytest.approx(0.8)
    assert bootstrap_pvalue(np.full(999, 2.5)) == pytest.approx(2 / 1000)
    assert bootstrap_pvalue(np.full(999, -2.5)) == pytest.approx(2 / 1000)
    assert bootstrap_pvalue(np.zeros(50)) == 1.0  # identical systems
    with pytest.raises(ValueError, match="at least one replicate"):
        bootstrap_pvalue(np.array([]))


def test_significance_covers_seed_variance_and_agrees_with_the_interval():
    # Seed 0 is far better than the baseline, seeds 1-2 slightly worse: the test set alone (p_test_set) sees a
    # large difference, but over seeds it is not one. The decision follows the seed-aware interval.
    rng = np.random.default_rng(11)
    base = _accuracy_rows(rng.random((3, 400)) < 0.6)
    other = base.copy()
    other[0, :, 0] = rng.random(400) < 0.95
    other[1:, :, 0] = rng.random((2, 400)) < 0.55
    result = study_statistics(
        {"last": {"en": base}, "mixed": {"en": other}}, "ratio", baseline="last", english=["en"], n_resamples=1000
    )
    comparison = result.comparisons["mixed"]["en"]
    assert comparison.p_test_set < 0.01 and not comparison.significant
    assert comparison.diff.low < 0 < comparison.diff.high
    for trial in range(8):  # random studies: significant only where the interval excludes 0
        samples = {
            "last": {"en": _simulated(rng, 3, 200, 0.6, 0.04)},
            "b": {"en": _simulated(rng, 3, 200, 0.6 + 0.03 * trial, 0.04)},
        }
        c = study_statistics(samples, "ratio", baseline="last", english=["en"], n_resamples=400, seed=trial)
        c = c.comparisons["b"]["en"]
        assert not c.significant or not (c.diff.low <= 0 <= c.diff.high)


def test_study_statistics_rejects_misaligned_systems_and_unknown_baseline():
    rows = _accuracy_rows(np.ones((2, 4)))
    with pytest.raises(ValueError, match="expected"):
        study_statistics({"a": {"en": rows}, "b": {"en": rows[:, :3]}}, "ratio", baseline="a", english=["en"])
    with pytest.raises(ValueError, match="baseline 'z'"):
        study_statistics({"a": {"en": rows}}, "ratio", baseline="z", english=["en"])
