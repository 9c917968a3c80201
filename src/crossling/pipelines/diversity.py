"""Task diversity as a study axis (RQ5): systems whose intermediate stage mixes k pool tasks, at one budget for every k."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

from crossling.config.loader import to_dict
from crossling.config.schema import DiversityConfig, ExperimentConfig
from crossling.reports.diversity import DIVERSITY_FILE
from crossling.utils.io import atomic_write_json

DIVERSITY_SCHEMA = "crossling.diversity/1"


def draw_subsets(pool_size: int, k: int, subsets: int, seed: int) -> list[tuple[int, ...]]:
    """Pool indices of the k-subsets of one k: all of them (in lexicographic order) when there are at most
    ``subsets``, else ``subsets`` distinct ones drawn uniformly with ``numpy.random.default_rng([seed, k])``
    (sorted, so the draw does not depend on the order the combinations are enumerated in).
    """
    every = list(itertools.combinations(range(pool_size), k))
    if len(every) <= subsets:
        return every
    chosen = np.random.default_rng([seed, k]).choice(len(every), size=subsets, replace=False)
    return [every[i] for i in sorted(chosen.tolist())]


def system_name(k: int, subset: int) -> str:
    """The name of a diversity system: ``k=<k>,subset=<j>`` (j from 1)."""
    return f"k={k},subset={subset}"


def diversity_systems(diversity: DiversityConfig) -> dict[str, tuple[int, ...]]:
    """``{system name: pool indices}`` of every drawn subset, k by k (empty without a diversity axis)."""
    systems: dict[str, tuple[int, ...]] = {}
    for k in diversity.k:
        for number, subset in enumerate(draw_subsets(len(diversity.pool), k, diversity.subsets, diversity.seed), 1):
            systems[system_name(k, number)] = subset
    return systems


def mixture_stage(diversity: DiversityConfig, subset: tuple[int, ...]) -> dict[str, Any]:
    """The raw config of the mixture stage of one subset: its pool tasks, the axis's sampling and budget."""
    return {
        "mixture": [{"task": to_dict(diversity.pool[i])} for i in subset],
        "sampling": diversity.sampling,
        "temperature": diversity.temperature,
        "max_steps": diversity.max_steps,
        "dev_evaluations": diversity.dev_evaluations,
        "training": to_dict(diversity.training),
    }


def diversity_variants(config: ExperimentConfig) -> list[tuple[str, dict[str, Any]]]:
    """``(name, overrides)`` of every diversity system: the config's intermediate stages plus one mixture stage.

    Every system's mixture stage has the same ``max_steps`` (and batch size), so systems see
    the same number of training rows whatever their k: the axis varies diversity, not data size.
    """
    diversity = config.diversity
    if not diversity.enabled:
        return []
    base = [to_dict(stage) for stage in config.intermediate]
    return [
        (name, {"intermediate": [*base, mixture_stage(diversity, subset)]})
        for name, subset in diversity_systems(diversity).items()
    ]


def diversity_record(config: ExperimentConfig) -> dict[str, Any]:
    """What ``diversity.json`` records: the pool, the draw's settings and every system's k and tasks."""
    diversity = config.diversity
    pool = [task.name for task in diversity.pool]
    systems = diversity_systems(diversity)
    return {
        "schema": DIVERSITY_SCHEMA,
        "pool": pool,
        "k": list(diversity.k),
        "subsets": diversity.subsets,
        "seed": diversity.seed,
        "sampling": diversity.sampling,
        "temperature": diversity.temperature,
        "max_steps": diversity.max_steps,
        "rows_per_system": diversity.max_steps
        * diversity.training.batch_size
        * diversity.training.gradient_accumulation_steps,
        "possible_subsets": {str(k): math.comb(len(pool), k) for k in diversity.k},
        "systems": {
            name: {"k": len(subset), "pool_indices": list(subset), "tasks": [pool[i] for i in subset]}
            for name, subset in systems.items()
        },
    }


def write_diversity_record(config: ExperimentConfig, study_dir: Path) -> Path | None:
    """Write ``<study>/diversity.json`` (the drawn subsets) when the config has a diversity axis."""
    if not config.diversity.enabled:
        return None
    path = study_dir / DIVERSITY_FILE
    atomic_write_json(path, diversity_record(config))
    return path
