"""RQ2's answer from a finished study: each language's gain over the baseline against its URIEL distance.

``crossling typology-gain STUDY_DIR --system NAME`` reads ``study.json`` (the system's paired
difference from the baseline in every evaluated language) and the system's resolved
``config.yaml`` (its first seed's run). A language's distance is its mean URIEL distance
(``crossling.utils.typology``) to the reference languages: ``--to`` if given, else every train
language of the system's intermediate stages. The target task's own train languages (English in
zero-shot transfer) are no transfer languages and are left out. It writes
``typology-gain-<system>.json`` (points, Spearman and Pearson with intervals,
``crossling.analysis.typology``) and ``typology-gain-<system>.png`` (the labelled scatter plot).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossling.analysis.typology import GainDistance, gain_distance_correlation
from crossling.config.loader import load_raw
from crossling.errors import ConfigError, DataError
from crossling.reports.plots import gain_distance_png
from crossling.utils.io import atomic_write_bytes, atomic_write_json, read_json
from crossling.utils.typology import typological_distance


def study_gains(study: dict[str, Any], system: str) -> dict[str, float]:
    """``{language: system minus baseline}`` from a ``crossling.study/1`` document's paired differences."""
    comparisons = study.get("comparisons") or {}
    if system not in comparisons:
        known = ", ".join(comparisons) or "none"
        raise ConfigError(f"--system: {system!r} is not compared with the baseline in this study (systems: {known})")
    return {lang: float(c["diff"]) for lang, c in comparisons[system]["languages"].items()}


def system_config(study_dir: Path, study: dict[str, Any], system: str) -> dict[str, Any]:
    """The resolved config (raw mapping) of the system's run with the study's first seed."""
    path = study_dir / f"{system},seed={study['seeds'][0]}" / "config.yaml"
    if not path.is_file():
        raise DataError(f"{path}: missing; the study's runs are not in {study_dir}")
    return load_raw(path)


def reference_languages(config: dict[str, Any]) -> list[str]:
    """Every train language of a resolved config's intermediate stages, in order."""
    stages = config.get("intermediate") or []
    return list(dict.fromkeys(lang for stage in stages for lang in stage["task"]["train_languages"]))


def mean_distances(languages: Sequence[str], references: Sequence[str], features: str) -> dict[str, float]:
    """``{language: mean URIEL distance to the references}``."""
    return {
        lang: float(np.mean([typological_distance(lang, ref, features) for ref in references])) for lang in languages
    }


def typology_gain(
    study_dir: Path,
    system: str,
    *,
    to: Sequence[str] = (),
    features: str = "syntax",
    n_resamples: int = 9999,
    seed: int = 0,
) -> tuple[GainDistance, dict[str, Any], Path]:
    """Correlate ``system``'s per-language gain with distance; write its JSON and PNG; return both and the JSON path."""
    study = read_json(study_dir / "study.json")
    gains = study_gains(study, system)
    config = system_config(study_dir, study, system)
    references = list(to) or reference_languages(config)
    if not references:
        raise ConfigError(f"--to: {system!r} has no intermediate stage; name the languages distances are measured to")
    sources = set(config["task"]["train_languages"])
    transfer = [lang for lang in gains if lang not in sources]
    result = gain_distance_correlation(
        {lang: gains[lang] for lang in transfer},
        mean_distances(transfer, references, features),
        n_resamples=n_resamples,
        seed=seed,
    )
    document = {
        "system": system,
        "baseline": study["baseline"],
        "metric": study["metric"],
        "distance": f"mean URIEL {features} cosine distance to {', '.join(references)}",
        "references": references,
        "features": features,
        "left_out": sorted(sources & set(gains)),
        **result.as_dict(),
    }
    path = study_dir / f"typology-gain-{system}.json"
    atomic_write_json(path, document)
    title = f"{system} - {study['baseline']}: rho {result.spearman.statistic:.2f}, r {result.pearson.statistic:.2f}"
    png = gain_distance_png(result.points, xlabel=document["distance"], ylabel=f"gain ({study['metric']})", title=title)
    atomic_write_bytes(path.with_suffix(".png"), png)
    return result, document, path
