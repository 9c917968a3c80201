"""Gain against typological distance: the correlations are scipy.stats', the bootstrap intervals bracket them."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from crossling.analysis.typology import gain_distance_correlation
from crossling.errors import DataError

# A hand-made table: (distance to the intermediate languages, gain in accuracy points).
TABLE = {
    "de": (0.43, 2.1),
    "es": (0.58, 0.4),
    "fr": (0.56, 0.9),
    "ko": (0.16, 3.8),
    "zh": (0.30, 1.2),
    "ja": (0.05, 4.4),
}


def test_correlations_equal_scipy_stats_on_a_hand_made_table():
    distances = {lang: d for lang, (d, _) in TABLE.items()}
    gains = {lang: g for lang, (_, g) in TABLE.items()}
    result = gain_distance_correlation(gains, distances, n_resamples=2000)
    x, y = np.array(list(distances.values())), np.array(list(gains.values()))
    assert result.spearman.statistic == pytest.approx(stats.spearmanr(x, y).statistic)
    assert result.spearman.p == pytest.approx(stats.spearmanr(x, y).pvalue)
    assert result.pearson.statistic == pytest.approx(stats.pearsonr(x, y).statistic)
    assert result.pearson.p == pytest.approx(stats.pearsonr(x, y).pvalue)
    # By hand: the ranks of distance and of minus gain differ only for de and zh, by one each (sum d^2 = 2).
    assert result.spearman.statistic == pytest.approx(-(1 - 6 * 2 / (6 * 35)))
    for correlation in (result.spearman, result.pearson):
        assert -1.0 <= correlation.low <= correlation.statistic <= correlation.high <= 1.0
        assert 0 <= correlation.dropped < 2000
    assert result.points["ko"] == (0.16, 3.8)


def test_the_interval_is_reproducible_with_the_seed_and_narrows_with_more_languages():
    distances = {lang: d for lang, (d, _) in TABLE.items()}
    gains = {lang: g for lang, (_, g) in TABLE.items()}
    first = gain_distance_correlation(gains, distances, n_resamples=500, seed=3)
    assert first == gain_distance_correlation(gains, distances, n_resamples=500, seed=3)
    rng = np.random.default_rng(0)
    many_d = {f"l{i}": float(v) for i, v in enumerate(rng.uniform(0, 1, 200))}
    many_g = {lang: -3 * d + float(rng.normal(0, 0.5)) for lang, d in many_d.items()}
    wide = gain_distance_correlation(many_g, many_d, n_resamples=500)
    assert wide.pearson.high - wide.pearson.low < first.pearson.high - first.pearson.low
    assert wide.pearson.high < 0


def test_too_few_languages_or_constant_values_are_data_errors():
    with pytest.raises(DataError, match="at least 3 languages"):
        gain_distance_correlation({"de": 1.0, "fr": 2.0, "xx": 3.0}, {"de": 0.1, "fr": 0.2})
    with pytest.raises(DataError, match="all equal"):
        gain_distance_correlation({"de": 1.0, "fr": 1.0, "es": 1.0}, {"de": 0.1, "fr": 0.2, "es": 0.3})
