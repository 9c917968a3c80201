"""Sweeps: expand a config's variants x grid into runs, run each (resumably), and collect a comparison."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crossling.config.loader import replace_dotted
from crossling.config.schema import ExecutorConfig, ExperimentConfig
from crossling.errors import ConfigError
from crossling.pipelines.executors import describe, plan_jobs, run_jobs
from crossling.pipelines.experiment import run_directory, run_experiment
from crossling.utils.io import atomic_write_json


def _short(key: str) -> str:
    return key.split(".")[-1]


def _value_name(value: Any) -> str:
    text = str(value) if not isinstance(value, (list, dict)) else str(len(value))
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)


def expand(config: ExperimentConfig) -> list[ExperimentConfig]:
    """One config per (variant, grid point), named ``<variant>`` / ``<key>=<value>,...``, under the sweep's directory.

    Raises ConfigError naming the member whose overrides do not validate.
    """
    if not config.is_sweep:
        return [_without_executor(config)]
    parent = run_directory(config)
    base = dataclasses.replace(config, sweep={}, variants={})
    variants = list(config.variants.items()) or [("", {})]
    keys = list(config.sweep)
    members = []
    for (variant, overrides), values in itertools.product(variants, itertools.product(*config.sweep.values())):
        point = dict(zip(keys, values, strict=True))
        parts = ([variant] if variant else []) + [f"{_short(k)}={_value_name(v)}" for k, v in point.items()]
        name = ",".join(parts) or "run"
        try:
            member = replace_dotted(base, {**overrides, **point, "name": name, "output_dir": str(parent)})
        except ConfigError as exc:
            raise ConfigError(f"sweep member {name!r}: {exc}") from None
        members.append(_without_executor(member))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise ConfigError(f"sweep members have clashing names: {names}")
    return members


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
    retries is reported in one ``ConfigError`` once the others have finished. Writes
    ``<output_dir>/<name>/sweep.json`` mapping each member to its results.
    """
    members = expand(config)
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
    _write_index(config, results)
    return results


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
