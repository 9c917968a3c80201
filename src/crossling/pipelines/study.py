"""Studies: every system of a config run with every seed, then intervals, paired differences and Holm in study.json."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crossling.analysis.stats import AVERAGES, METHOD, Comparison, Interval, study_statistics
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError, DataError
from crossling.evaluation.example_stats import StoredStats, examples_path, read_example_stats
from crossling.pipelines.experiment import run_directory
from crossling.pipelines.sweep import declared_ensembles, run_sweep, systems
from crossling.utils.io import atomic_write_json

STUDY_SCHEMA = "crossling.study/1"


def baseline_of(config: ExperimentConfig, names: list[str]) -> str:
    """``study.baseline``, or the first system; a baseline that is not a system is a ConfigError naming the key."""
    baseline = config.study.baseline or names[0]
    if baseline not in names:
        raise ConfigError(f"study.baseline: {baseline!r} is not a system of this study; systems: {', '.join(names)}")
    return baseline


def _load(
    members: Mapping[str, Mapping[int, Path]], results: Mapping[str, Mapping[int, dict[str, Any]]]
) -> tuple[dict[str, dict[str, np.ndarray]], str]:
    """``({system: {language: [seeds, N, S]}}, aggregate)`` from every member's per-example statistics.

    Raises DataError when two runs' rows are not the same examples (different id hashes) or
    were scored by different rules.
    """
    samples: dict[str, dict[str, np.ndarray]] = {}
    reference: dict[str, tuple[StoredStats, Path]] = {}
    for system, by_seed in members.items():
        samples[system] = {}
        for seed, member in by_seed.items():
            result = results[system][seed]
            for language in result["languages"]:
                path = examples_path(member, result["task"], result["eval_split"], language)
                stored = read_example_stats(path)
                first, first_path = reference.setdefault(language, (stored, path))
                if (stored.ids_sha256, stored.statistic) != (first.ids_sha256, first.statistic):
                    raise DataError(
                        f"{path}: its examples or statistic differ from {first_path}; "
                        "the runs were not evaluated on the same test set"
                    )
                samples[system].setdefault(language, []).append(stored.stats)  # type: ignore[arg-type]
    aggregates = {stored.statistic.aggregate for stored, _ in reference.values()}
    if len(aggregates) != 1:
        raise DataError(f"the study's languages are scored by different rules: {sorted(aggregates)}")
    stacked = {
        system: {lang: np.stack(rows) for lang, rows in by_lang.items()}  # type: ignore[arg-type]
        for system, by_lang in samples.items()
    }
    return stacked, aggregates.pop()


def _interval(interval: Interval, n_seeds: int) -> dict[str, Any]:
    return {"mean": interval.value, "low": interval.low, "high": interval.high, "n_seeds": n_seeds}


def _comparison(comparison: Comparison) -> dict[str, Any]:
    return {
        "diff": comparison.diff.value,
        "low": comparison.diff.low,
        "high": comparison.diff.high,
        "p": comparison.p,
        "p_holm": comparison.p_holm,
        "p_test_set": comparison.p_test_set,
        "significant": comparison.significant,
    }


def study_systems(config: ExperimentConfig) -> dict[str, dict[int, Path]]:
    """``{system: {seed: run directory}}``: the study's systems, then its declared ensembles (one run per seed)."""
    members = {
        system: {seed: run_directory(member) for seed, member in by_seed.items()}
        for system, by_seed in systems(config).items()
    }
    declared = declared_ensembles(config)
    for name in config.ensembles:
        members[name] = {seed: declared[f"{name},seed={seed}"][1] for seed in config.seeds}
    return members


def summarize_study(config: ExperimentConfig, results: Mapping[str, Mapping[int, dict[str, Any]]]) -> dict[str, Any]:
    """The ``crossling.study/1`` document of finished runs (``results[system][seed]``: a results.json).

    A declared ensemble is a system like the others, its per-seed ensembles its seeds' runs.
    """
    members = study_systems(config)
    names = list(members)
    baseline = baseline_of(config, names)
    samples, aggregate = _load(members, results)
    first = next(iter(next(iter(results.values())).values()))
    stats = study_statistics(
        samples,
        aggregate,
        baseline=baseline,
        english=first["train_languages"],
        n_resamples=config.study.resamples,
        n_permutations=config.study.permutations,
    )
    seeds = sorted({seed for by_seed in members.values() for seed in by_seed})
    return {
        "schema": STUDY_SCHEMA,
        "metric": first["metric"],
        "baseline": baseline,
        "seeds": seeds,
        "method": METHOD,
        "systems": {
            system: {
                "languages": {lang: _interval(i, stats.n_seeds) for lang, i in stats.systems[system].items()},
                "averages": {
                    name: _interval(stats.averages[system][name], stats.n_seeds)
                    for name in AVERAGES
                    if name in stats.averages[system]
                },
            }
            for system in names
        },
        "comparisons": {
            system: {
                "languages": {lang: _comparison(c) for lang, c in stats.comparisons[system].items()},
                "averages": {name: _comparison(c) for name, c in stats.average_comparisons[system].items()},
            }
            for system in names
            if system != baseline
        },
    }


def run_study(config: ExperimentConfig, **kwargs: Any) -> tuple[dict[str, Any], Path]:
    """Run every (system, seed) member (finished ones are not redone), then write ``<study>/study.json``.

    ``kwargs`` go to ``run_experiment``. Returns the study document and its path.
    """
    if not config.seeds:
        raise ConfigError("seeds: a study needs a list of seeds (or `crossling run --seeds N`)")
    baseline_of(config, list(study_systems(config)))  # a wrong baseline fails before any training
    flat = run_sweep(config, **kwargs)
    results = {
        system: {seed: flat[run_dir.name] for seed, run_dir in by_seed.items()}
        for system, by_seed in study_systems(config).items()
    }
    study = summarize_study(config, results)
    path = run_directory(config) / "study.json"
    atomic_write_json(path, study)
    return study, path
