"""Sweeps: expand a config's variants x grid into runs, run each (resumably), and collect a comparison."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossling.config.loader import replace_dotted
from crossling.config.schema import DiversityConfig, ExecutorConfig, ExperimentConfig, StudyConfig
from crossling.errors import ConfigError
from crossling.pipelines.diversity import diversity_variants, write_diversity_record
from crossling.pipelines.ensemble import ensemble_runs
from crossling.pipelines.executors import describe, plan_jobs, run_jobs
from crossling.pipelines.experiment import run_directory, run_experiment
from crossling.tasks.loading import task_languages
from crossling.tasks.stages import check_stages
from crossling.utils.distributed import is_main_process, process_count
from crossling.utils.io import atomic_write_json


def _short(key: str) -> str:
    return key.split(".")[-1]


def _value_name(value: Any) -> str:
    text = str(value) if not isinstance(value, (list, dict)) else str(len(value))
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def _grid(config: ExperimentConfig) -> list[ExperimentConfig]:
    """One config per (variant, grid point), named ``<variant>`` / ``<key>=<value>,...``, under the sweep's directory.

    The systems of a diversity axis (``k=<k>,subset=<j>``, ``crossling.pipelines.diversity``) are
    variants after those of ``variants:`` (e.g. a baseline without the mixture).
    """
    parent = run_directory(config)
    base = dataclasses.replace(
        config, sweep={}, variants={}, seeds=(), study=StudyConfig(), ensembles={}, diversity=DiversityConfig()
    )
    variants = list(config.variants.items()) + diversity_variants(config) or [("", {})]
    keys = list(config.sweep)
    members = []
    for (variant, overrides), values in itertools.product(variants, itertools.product(*config.sweep.values())):
        point = dict(zip(keys, values, strict=True))
        parts = ([variant] if variant else []) + [f"{_short(k)}={_value_name(v)}" for k, v in point.items()]
        name = ",".join(parts) or "run"
        try:
            assignments = {**overrides, **point, "name": name, "output_dir": str(parent)}
            member = replace_dotted(base, assignments, task_languages=task_languages)
        except ConfigError as exc:
            raise ConfigError(f"sweep member {name!r}: {exc}") from None
        try:
            check_stages(member)
        except ConfigError as exc:
            raise ConfigError(f"sweep member {name!r}: {exc}") from None
        members.append(_without_executor(member))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ConfigError(f"sweep members have clashing names: {names}")
    return members


def systems(config: ExperimentConfig) -> dict[str, dict[int, ExperimentConfig]]:
    """``{system: {seed: member}}``: every variant x grid member once per seed of ``config.seeds``.

    A study's member of system ``S`` with seed ``s`` is named ``S,seed=s`` (the sweep's naming)
    and runs in ``<output_dir>/<name>/S,seed=s``; a study without variants or grid has the one
    system ``<name>``, its runs named ``seed=s``. Without ``seeds`` each system has its own seed.
    """
    if not config.seeds:
        return {member.name: {member.seed: member} for member in expand(config)}
    if config.sweep or config.variants or config.diversity.enabled:
        grid = {member.name: (member, f"{member.name},") for member in _grid(config)}
    else:
        single = dataclasses.replace(
            config, seeds=(), study=StudyConfig(), ensembles={}, output_dir=run_directory(config)
        )
        grid = {config.name: (_without_executor(single), "")}
    return {
        system: {seed: dataclasses.replace(member, name=f"{prefix}seed={seed}", seed=seed) for seed in config.seeds}
        for system, (member, prefix) in grid.items()
    }


def expand(config: ExperimentConfig) -> list[ExperimentConfig]:
    """Every run of a config: itself, or one per (variant, grid point), times a study's seeds.

    Members are named ``<variant>`` / ``<key>=<value>,...`` (``...,seed=<s>`` in a study, see
    ``systems``) and run under the sweep's directory. Raises ConfigError naming the member whose
    overrides do not validate, or whose stages may not follow each other
    (``crossling.tasks.stages.MAY_PRECEDE``), before any member runs.
    """
    if not config.is_sweep:
        check_stages(config)
        return [_without_executor(config)]
    if not config.seeds:
        return _grid(config)
    return [member for by_seed in systems(config).values() for member in by_seed.values()]


def _without_executor(config: ExperimentConfig) -> ExperimentConfig:
    """``config`` with the default executor section: where a run executes is not part of its identity."""
    return dataclasses.replace(config, executor=ExecutorConfig())


def run_sweep(
    config: ExperimentConfig, *, run: Callable[[ExperimentConfig], dict[str, Any]] | None = None, **kwargs: Any
) -> dict[str, dict[str, Any]]:
    """Run every member of a sweep; finished members are skipped, interrupted ones resume.

    ``config.executor.kind`` ``local`` runs them in turn in this process (``run`` replaces
    ``run_experiment`` there); ``processes``, ``ray`` and ``slurm`` hand the study's plan to
    that engine (``crossling.pipelines.executors``), and a run that still fails after its
    retries is reported in one ``ConfigError`` once the others have finished. Then every
    ensemble of ``config.ensembles`` is scored (``run_ensembles``) and returned beside the runs.
    Writes ``<output_dir>/<name>/sweep.json`` mapping each member to its results. Under ``accelerate
    launch`` every process runs the members in turn (locally) and only the main one goes on past them.
    """
    members = expand(config)
    main = is_main_process()
    if process_count() > 1 and config.executor.kind != "local" and run is None:
        raise ConfigError(
            f"executor.kind: {config.executor.kind} starts its own workers; under accelerate launch use the local executor"
        )
    if config.is_sweep and main:
        write_diversity_record(config, run_directory(config))
    if config.executor.kind == "local" or run is not None:
        runner = run or (lambda member: run_experiment(member, **kwargs))
        results = {member.name: runner(member) for member in members}
    else:
        study_dir = run_directory(config) if config.is_sweep else run_directory(config).parent
        outcome = run_jobs(plan_jobs(members), config.executor, study_dir)
        results = outcome.results
        if outcome.failed:
            _write_index(config, results)
            raise ConfigError(f"{len(outcome.failed)} of {len(members)} runs failed: {describe(outcome)}")
    if not main:  # launched on several processes: the main one scores the ensembles and writes the index
        return results
    results.update(run_ensembles(config))
    _write_index(config, results)
    return results


def declared_ensembles(config: ExperimentConfig) -> dict[str, tuple[list[Path], Path, str]]:
    """``{run name: (member run directories, output directory, method)}`` of ``config.ensembles``.

    Without seeds an ensemble ``E`` combines its members' runs into ``<study>/E``; in a study
    it combines, per seed ``s``, the members' seed-``s`` runs into ``<study>/E,seed=s``.
    Raises ConfigError naming a member that is not one of the config's runs.
    """
    by_system = systems(config) if config.ensembles else {}
    parent = run_directory(config)
    declared = {}
    for name, ensemble in config.ensembles.items():
        unknown = [m for m in ensemble.members if m not in by_system]
        if unknown:
            raise ConfigError(
                f"ensembles.{name}.members: {', '.join(unknown)} not among the runs ({', '.join(by_system)})"
            )
        runs = {member: by_system[member] for member in ensemble.members}
        if not config.seeds:
            dirs = [run_directory(next(iter(by_seed.values()))) for by_seed in runs.values()]
            declared[name] = (dirs, parent / name, ensemble.method)
            continue
        for seed in config.seeds:
            dirs = [run_directory(by_seed[seed]) for by_seed in runs.values()]
            declared[f"{name},seed={seed}"] = (dirs, parent / f"{name},seed={seed}", ensemble.method)
    return declared


def run_ensembles(config: ExperimentConfig) -> dict[str, dict[str, Any]]:
    """Score every declared ensemble over its finished member runs (``crossling.pipelines.ensemble``)."""
    return {
        name: ensemble_runs(dirs, output, method=method)
        for name, (dirs, output, method) in declared_ensembles(config).items()
    }


def _write_index(config: ExperimentConfig, results: dict[str, dict[str, Any]]) -> None:
    """``sweep.json``: each finished member's results file."""
    if config.is_sweep:
        atomic_write_json(
            run_directory(config) / "sweep.json",
            {
                "name": config.name,
                "members": {name: str(Path(run_directory(config)) / name / "results.json") for name in results},
            },
        )
