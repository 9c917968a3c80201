"""Study statistics: means over seeds with hierarchical-bootstrap intervals, paired differences, bootstrap p-values, Holm.

Method (``METHOD``, also written into every ``study.json``): a system's score in a language is
the mean over seeds of the metric on the full test set. Its 95% interval is the 2.5th-97.5th
percentile of a hierarchical bootstrap (Bouthillier et al. 2021, "Accounting for Variance in
Machine Learning Benchmarks", MLSys): each replicate resamples the seeds with replacement and,
for every drawn seed, resamples the test examples with replacement, recomputing the metric from
the per-example sufficient statistics (``crossling.evaluation.example_stats``); the interval thus
covers seed variance and test-set sampling. Replicates are paired: every system gets the same
seed draws and the same example draws, so a difference between two systems is bootstrapped
replicate by replicate (the paired bootstrap of Koehn 2004 and Berg-Kirkpatrick et al. 2012,
extended to seeds). Averages over languages reuse each replicate's seed draw in every language.
The p-value of a difference comes from the same paired hierarchical replicates (the
percentile-bootstrap test, Efron and Tibshirani 1993, ch. 16): ``p = 2 min(#{d* <= 0} + 1,
#{d* >= 0} + 1) / (B + 1)``, capped at 1, so it covers seed variance like the interval and a
difference is significant only where its interval (at the matching level) excludes 0. The paired
permutation test (approximate randomization, Noreen 1989; Riezler and Maxwell 2005), which swaps
the two systems' outputs on the same example and seed, is reported beside it as ``p_test_set``:
it holds the trained models fixed and asks only whether the test set could show the difference
by chance, so it ignores seed variance and is not the significance decision. With few seeds the
seed-level resampling sees little of the seed variance (3 seeds give 10 distinct seed draws):
more seeds make both the interval and the test more trustworthy. The per-language p-values of
one comparison are Holm-corrected across languages (Holm 1979); the three averages (English,
transfer, overall) form a second family.

Why not scipy.stats: ``scipy.stats.bootstrap`` resamples one level of observations
(``paired=True`` resamples pairs); it cannot nest example resampling inside seed resampling, nor
reuse the same draws across systems and languages, so the hierarchical resampling is numpy here.
``scipy.stats.permutation_test`` computes the same paired test, but its paired resampling loops
in Python per pair (about 40 s for 10,800 pairs x 1,000 resamples here); ``permutation_pvalue``
vectorizes the swaps and is checked against scipy's exact test in the tests. scipy.stats has no
Holm correction; ``holm`` is the step-down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from crossling.evaluation.example_stats import metric_from_sums

#: One paragraph on the method, for study.json and the Markdown table (see the module docstring).
METHOD = (
    "Mean over seeds of the metric on the full test set; 95% intervals are percentiles of a paired hierarchical "
    "bootstrap (Bouthillier et al. 2021): each replicate resamples seeds with replacement and, for each drawn seed, "
    "the test examples with replacement, with the same draws for every system (the paired bootstrap of Koehn 2004 "
    "and Berg-Kirkpatrick et al. 2012, extended to seeds), so intervals cover both seed variance and test-set "
    "sampling. p-values of differences come from the same paired replicates (percentile-bootstrap test, Efron and "
    "Tibshirani 1993: twice the share of replicate differences on the far side of 0), so they cover seed variance "
    "like the intervals, Holm-corrected across languages (and separately across the three averages); significant "
    "means p_holm < 0.05. study.json also gives p_test_set, a paired permutation test over the test examples of the "
    "same seeds (the trained models held fixed), which ignores seed variance and is not used for significance. "
    "With 3 seeds the seed resampling sees little of the seed variance; more seeds make both more trustworthy."
)

#: The averages reported besides the languages: English (the training languages), transfer (the others), overall.
AVERAGES = ("english", "transfer", "overall")


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order.

    With the m p-values sorted ascending ``p_(1) <= ... <= p_(m)``:
    ``p_holm_(i) = min(1, max_{j <= i} (m - j + 1) * p_(j))``; rejecting where
    ``p_holm < alpha`` controls the family-wise error rate at ``alpha``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% interval (``low``, ``high``)."""

    value: float
    low: float
    high: float


def percentile_interval(point: float, replicates: np.ndarray, level: float = 0.95) -> Interval:
    """``point`` with the ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of its bootstrap ``replicates``."""
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return Interval(float(point), float(low), float(high))


def _check(samples: Mapping[str, Mapping[str, np.ndarray]]) -> tuple[list[str], list[str], int]:
    """(systems, languages, number of seeds) of ``samples``, checking they all have the same shapes."""
    systems = list(samples)
    if not systems:
        raise ValueError("no systems to compare")
    languages = list(samples[systems[0]])
    seeds = None
    for system in systems:
        if list(samples[system]) != languages:
            raise ValueError(f"system {system!r} has languages {list(samples[system])}, expected {languages}")
        for language in languages:
            array = samples[system][language]
            reference = samples[systems[0]][language]
            if array.ndim != 3 or array.shape != reference.shape:
                raise ValueError(
                    f"{system} {language}: statistics of shape {array.shape}, expected "
                    f"{reference.shape} [seeds, examples, columns]"
                )
            seeds = seeds or array.shape[0]
    return systems, languages, int(seeds or 0)


def seed_means(samples: Mapping[str, np.ndarray], aggregate: str) -> dict[str, float]:
    """Per language: the mean over seeds of the full-test-set metric (``samples[lang]``: ``[seeds, N, S]``)."""
    return {lang: float(metric_from_sums(aggregate, array.sum(axis=1)).mean()) for lang, array in samples.items()}


def _multiplicities(rng: np.random.Generator, draws: int, n: int) -> np.ndarray:
    """``[draws, n]`` float counts of how often each of n examples is drawn in n draws with replacement."""
    picks = rng.integers(0, n, size=(draws, n)) + (np.arange(draws) * n)[:, None]
    return np.bincount(picks.ravel(), minlength=draws * n).reshape(draws, n).astype(np.float64)


def bootstrap_replicates(
    samples: Mapping[str, Mapping[str, np.ndarray]], aggregate: str, *, n_resamples: int = 2000, seed: int = 0
) -> dict[str, dict[str, np.ndarray]]:
    """Paired hierarchical bootstrap: ``{system: {language: [n_resamples] replicate means over drawn seeds}}``.

    Replicate b draws K seed indices with replacement (shared by all languages and systems) and,
    per drawn seed and language, N examples drawn with replacement (the same draws for
    all systems); the replicate is ``mean_j metric(sum_i counts_bji * stats[seed_bj, i])``.

    Args:
        samples: ``{system: {language: float64 [seeds K, examples N, columns S]}}``, seeds in
            the same order for every system and example rows aligned across systems.
        aggregate: The rule of ``crossling.evaluation.example_stats.AGGREGATES``.
        n_resamples: Number of replicates B.
        seed: Seed of the resampling generator.
    """
    systems, languages, k = _check(samples)
    rng = np.random.default_rng(seed)
    seed_draws = rng.integers(0, k, size=(n_resamples, k))
    out: dict[str, dict[str, np.ndarray]] = {system: {} for system in systems}
    for language in languages:
        n = samples[systems[0]][language].shape[1]
        chunk = max(1, int(4_000_000 // max(1, k * n)))
        parts: dict[str, list[np.ndarray]] = {system: [] for system in systems}
        for start in range(0, n_resamples, chunk):
            draws = seed_draws[start : start + chunk]
            counts = _multiplicities(rng, draws.size, n).reshape(*draws.shape, n)
            for system in systems:
                array = samples[system][language]
                # sums[b, j] = counts[b, j] @ stats[draws[b, j]]: one matmul for every original seed, then pick.
                columns = array.transpose(1, 0, 2).reshape(n, -1)
                per_seed = (counts.reshape(-1, n) @ columns).reshape(*draws.shape, k, array.shape[2])
                sums = np.take_along_axis(per_seed, draws[:, :, None, None], axis=2)[:, :, 0]
                parts[system].append(metric_from_sums(aggregate, sums).mean(axis=1))
        for system in systems:
            out[system][language] = np.concatenate(parts[system])
    return out


def _group_languages(languages: Sequence[str], english: Sequence[str]) -> dict[str, list[str]]:
    """The languages behind each average (an empty group is left out)."""
    groups = {
        "english": [lang for lang in languages if lang in english],
        "transfer": [lang for lang in languages if lang not in english],
        "overall": list(languages),
    }
    return {name: langs for name, langs in groups.items() if langs}


def bootstrap_pvalue(differences: np.ndarray) -> float:
    """Two-sided percentile-bootstrap p-value of H0 "difference = 0" from paired replicate differences ``d*``.

    ``p = min(1, 2 min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))``: the smallest two-sided level
    whose percentile interval still reaches 0 (Efron and Tibshirani 1993, ch. 16), with the +1
    of a Monte Carlo p-value so that it is never 0. Identical systems (every ``d*`` is 0) get 1.
    """
    d = np.asarray(differences, dtype=np.float64).ravel()
    if d.size == 0:
        raise ValueError("bootstrap_pvalue needs at least one replicate")
    tol = 1e-9 * max(1.0, float(np.abs(d).max()))
    at_or_below = int((d <= tol).sum())
    at_or_above = int((d >= -tol).sum())
    return min(1.0, 2.0 * (min(at_or_below, at_or_above) + 1) / (d.size + 1))


def permutation_pvalue(
    a: Sequence[np.ndarray], b: Sequence[np.ndarray], aggregate: str, *, n_resamples: int = 2999, seed: int = 0
) -> float:
    """Two-sided p-value of ``T = mean_g [metric(a_g) - metric(b_g)]`` by swapping paired rows at random.

    ``a[g]`` and ``b[g]`` are the ``[N_g, S]`` statistics of the two systems in group g (one
    (language, seed) each), rows paired by example. Under the null the two rows of a pair are
    exchangeable; each resample swaps every pair with probability 1/2 (for a mean-type metric,
    a sign flip of the per-example difference) and
    ``p = (1 + #{|T_perm| >= |T|}) / (1 + n_resamples)`` (Phipson and Smyth 2010).

    Not ``scipy.stats.permutation_test``: its paired (``permutation_type="samples"``)
    resampling permutes each pair in a Python-level loop, about 40 s for 10,800 pairs and
    1,000 resamples on this project's CPU, where a vectorized swap mask takes well under a second.
    """
    if len(a) != len(b) or not a:
        raise ValueError("permutation_pvalue needs the same, non-zero number of groups for both systems")
    base_a = np.stack([np.asarray(g, dtype=np.float64).sum(axis=0) for g in a])
    base_b = np.stack([np.asarray(g, dtype=np.float64).sum(axis=0) for g in b])
    deltas = [np.asarray(gb, dtype=np.float64) - np.asarray(ga, dtype=np.float64) for ga, gb in zip(a, b, strict=True)]

    def statistic(moved: np.ndarray) -> np.ndarray:
        # moved[..., g, :]: what the swaps move from b's sums into a's (and out of b's) in group g.
        return (metric_from_sums(aggregate, base_a + moved) - metric_from_sums(aggregate, base_b - moved)).mean(axis=-1)

    observed = abs(float(statistic(np.zeros_like(base_a))))
    if not any(delta.any() for delta in deltas):
        return 1.0  # every swap gives the observed statistic
    rng = np.random.default_rng(seed)
    rows = sum(len(delta) for delta in deltas)
    chunk = max(1, int(2_000_000 // rows))
    extreme = 0
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        moved = np.stack([(rng.random((size, len(delta))) < 0.5) @ delta for delta in deltas], axis=1)
        extreme += int((np.abs(statistic(moved)) >= observed - 1e-9 * max(1.0, observed)).sum())
    return (1 + extreme) / (1 + n_resamples)


@dataclass(frozen=True)
class Comparison:
    """A paired difference (system - baseline) with its interval, p-values and Holm-adjusted p-value.

    Args:
        diff: The difference with its hierarchical-bootstrap interval.
        p: The percentile-bootstrap p-value from the same replicates (seeds and examples).
        p_holm: ``p`` Holm-corrected within its family; decides ``significant``.
        p_test_set: The paired permutation p-value over the test examples of the same seeds
            (trained models held fixed; not a significance decision, see the module docstring).
    """

    diff: Interval
    p: float
    p_holm: float
    p_test_set: float

    @property
    def significant(self) -> bool:
        """``p_holm < 0.05``."""
        return self.p_holm < 0.05


@dataclass(frozen=True)
class StudyStatistics:
    """Everything a study reports: per system and per language / average, an interval; per non-baseline system, a comparison."""

    systems: dict[str, dict[str, Interval]]
    averages: dict[str, dict[str, Interval]]
    comparisons: dict[str, dict[str, Comparison]]
    average_comparisons: dict[str, dict[str, Comparison]]
    n_seeds: int


def _average(per_language: Mapping[str, np.ndarray | float], languages: Sequence[str]) -> np.ndarray:
    return np.mean([np.asarray(per_language[lang], dtype=np.float64) for lang in languages], axis=0)


def _compare(
    samples: Mapping[str, Mapping[str, np.ndarray]],
    system: str,
    baseline: str,
    aggregate: str,
    groups: Mapping[str, Sequence[str]],
    point: Mapping[str, float],
    replicates: Mapping[str, np.ndarray],
    n_permutations: int,
    seed: int,
) -> dict[str, Comparison]:
    """Comparisons of ``system`` vs ``baseline`` for each group (a language or an average), Holm over the groups."""
    names = list(groups)
    pvalues = [bootstrap_pvalue(replicates[name]) for name in names]
    test_set = []
    for offset, name in enumerate(names):
        langs = groups[name]
        a = [samples[system][lang][s] for lang in langs for s in range(samples[system][lang].shape[0])]
        b = [samples[baseline][lang][s] for lang in langs for s in range(samples[baseline][lang].shape[0])]
        test_set.append(permutation_pvalue(a, b, aggregate, n_resamples=n_permutations, seed=seed + offset))
    adjusted = holm(pvalues)
    return {
        name: Comparison(percentile_interval(point[name], replicates[name]), float(p), float(q), float(t))
        for name, p, q, t in zip(names, pvalues, adjusted, test_set, strict=True)
    }


def study_statistics(
    samples: Mapping[str, Mapping[str, np.ndarray]],
    aggregate: str,
    *,
    baseline: str,
    english: Sequence[str],
    n_resamples: int = 2000,
    n_permutations: int = 2999,
    seed: int = 0,
) -> StudyStatistics:
    """Intervals per system x language and average, and paired comparisons with the baseline (see ``METHOD``).

    Args:
        samples: ``{system: {language: float64 [seeds, examples, columns]}}`` (see ``bootstrap_replicates``).
        aggregate: The metric's aggregate rule.
        baseline: The system every other one is compared with.
        english: The training (source) languages, averaged as "english"; the rest is "transfer".
        n_resamples: Bootstrap replicates.
        n_permutations: Permutations of each test-set-only permutation test (``p_test_set``).
        seed: Seed of the resampling.
    """
    systems, languages, k = _check(samples)
    if baseline not in samples:
        raise ValueError(f"baseline {baseline!r} is not one of the systems {systems}")
    groups = _group_languages(languages, english)
    replicates = bootstrap_replicates(samples, aggregate, n_resamples=n_resamples, seed=seed)
    means = {system: seed_means(samples[system], aggregate) for system in systems}
    result = StudyStatistics({}, {}, {}, {}, k)
    for system in systems:
        result.systems[system] = {
            lang: percentile_interval(means[system][lang], replicates[system][lang]) for lang in languages
        }
        result.averages[system] = {
            name: percentile_interval(float(_average(means[system], langs)), _average(replicates[system], langs))
            for name, langs in groups.items()
        }
        if system == baseline:
            continue
        diff_point = {lang: means[system][lang] - means[baseline][lang] for lang in languages}
        diff_reps = {lang: replicates[system][lang] - replicates[baseline][lang] for lang in languages}
        result.comparisons[system] = _compare(
            samples,
            system,
            baseline,
            aggregate,
            {lang: [lang] for lang in languages},
            diff_point,
            diff_reps,
            n_permutations,
            seed,
        )
        result.average_comparisons[system] = _compare(
            samples,
            system,
            baseline,
            aggregate,
            groups,
            {name: float(_average(diff_point, langs)) for name, langs in groups.items()},
            {name: _average(diff_reps, langs) for name, langs in groups.items()},
            n_permutations,
            seed + len(languages),
        )
    return result
