"""Per-language gain against typological distance (RQ2): Spearman and Pearson correlations with bootstrap intervals.

The distances themselves come from ``crossling.utils.typology`` (URIEL through lang2vec's data).
Each language is one point ``(distance, gain)``. The correlations are scipy.stats' ``spearmanr``
and ``pearsonr`` (their p-values test "no correlation"); each 95% interval is a percentile
bootstrap over languages: ``scipy.stats.bootstrap`` resamples the points in pairs
(``paired=True``), and the 2.5th and 97.5th percentiles of the replicates bound the interval.
A replicate whose resampled distances or gains are all equal has no correlation; such
replicates are left out and counted (``dropped``), which only matters with very few languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from crossling.errors import DataError

#: How the intervals are computed, as the results record it.
INTERVAL_METHOD = (
    "percentile bootstrap over languages (scipy.stats.bootstrap, paired, resamples with a constant "
    "variable dropped), 95%"
)


@dataclass(frozen=True)
class Correlation:
    """One correlation coefficient of gain and distance with its 95% bootstrap interval.

    Args:
        statistic: The coefficient over all languages.
        low: 2.5th percentile of the bootstrap replicates.
        high: 97.5th percentile of the bootstrap replicates.
        p: scipy.stats' two-sided p-value of "no correlation".
        dropped: Replicates left out because a resampled variable was constant.
    """

    statistic: float
    low: float
    high: float
    p: float
    dropped: int


def _pearson(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson's r along ``axis`` (vectorised for the bootstrap); NaN where either variable is constant."""
    dx = x - x.mean(axis=axis, keepdims=True)
    dy = y - y.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (dx * dy).sum(axis=axis) / np.sqrt((dx * dx).sum(axis=axis) * (dy * dy).sum(axis=axis))


def _spearman(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman's rho: Pearson's r of the ranks (ties averaged), as ``scipy.stats.spearmanr`` defines it."""
    return _pearson(stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis), axis=axis)


def _correlation(x: np.ndarray, y: np.ndarray, kind: str, *, n_resamples: int, rng: np.random.Generator) -> Correlation:
    """The coefficient ``kind`` (``spearman`` or ``pearson``) of ``x`` and ``y`` with its interval."""
    test = stats.spearmanr(x, y) if kind == "spearman" else stats.pearsonr(x, y)
    function = _spearman if kind == "spearman" else _pearson
    result = stats.bootstrap(
        (x, y), function, paired=True, vectorized=True, n_resamples=n_resamples, method="percentile", rng=rng
    )
    replicates = np.asarray(result.bootstrap_distribution, dtype=float)
    kept = replicates[~np.isnan(replicates)]
    low, high = np.percentile(kept, [2.5, 97.5]) if kept.size else (np.nan, np.nan)
    return Correlation(
        float(test.statistic), float(low), float(high), float(test.pvalue), int(replicates.size - kept.size)
    )


@dataclass(frozen=True)
class GainDistance:
    """Gain against distance over languages: the points and both correlations.

    Args:
        points: ``{language: (distance, gain)}``.
        spearman: Spearman's rho with its interval.
        pearson: Pearson's r with its interval.
    """

    points: dict[str, tuple[float, float]]
    spearman: Correlation
    pearson: Correlation

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: the points, both correlations and how the intervals were computed."""
        return {
            "points": {lang: {"distance": d, "gain": g} for lang, (d, g) in self.points.items()},
            "spearman": vars(self.spearman),
            "pearson": vars(self.pearson),
            "interval_method": INTERVAL_METHOD,
        }


def gain_distance_correlation(
    gains: Mapping[str, float], distances: Mapping[str, float], *, n_resamples: int = 9999, seed: int = 0
) -> GainDistance:
    """Spearman and Pearson correlation of per-language ``gains`` with ``distances``, with bootstrap intervals.

    Uses the languages in both mappings; fewer than three such languages, or gains or distances
    that are all equal (no correlation is defined), is a ``DataError``.
    """
    languages = [lang for lang in gains if lang in distances]
    if len(languages) < 3:
        raise DataError(f"gain against distance needs at least 3 languages with both values, got {languages}")
    x = np.array([distances[lang] for lang in languages], dtype=float)
    y = np.array([gains[lang] for lang in languages], dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise DataError("gain against distance: the distances or the gains are all equal; no correlation is defined")
    rng = np.random.default_rng(seed)
    return GainDistance(
        points={lang: (float(d), float(g)) for lang, d, g in zip(languages, x, y, strict=True)},
        spearman=_correlation(x, y, "spearman", n_resamples=n_resamples, rng=rng),
        pearson=_correlation(x, y, "pearson", n_resamples=n_resamples, rng=rng),
    )
