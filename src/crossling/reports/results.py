"""The results store of a run: ``results.json`` (schema, per-language scores, summaries) and ``manifest.json``."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

RESULTS_SCHEMA = "crossling.results/1"
_PACKAGES = ("crossling", "torch", "transformers", "tokenizers", "datasets", "accelerate", "safetensors", "numpy")


def summarize(
    per_language: Mapping[str, Mapping[str, float]], metric: str, train_languages: tuple[str, ...]
) -> dict[str, Any]:
    """Macro average over all languages, the source-language score(s), and the average over the others.

    ``avg_transfer`` is the mean over evaluated languages *not* used for training (the
    zero-shot figure); ``macro_avg`` includes them, as XTREME's per-task average does.
    """
    scores = {lang: values[metric] for lang, values in per_language.items()}
    transfer = [v for lang, v in scores.items() if lang not in train_languages]
    return {
        "metric": metric,
        "macro_avg": sum(scores.values()) / len(scores) if scores else None,
        "source": {lang: scores[lang] for lang in train_languages if lang in scores},
        "avg_transfer": sum(transfer) / len(transfer) if transfer else None,
        "num_languages": len(scores),
    }


def ensemble_store_config(results: Mapping[str, Any]) -> dict[str, Any]:
    """What the results store records as an ensemble's configuration (it has no config.yaml of its own)."""
    return {
        "name": results["name"],
        "task": {"name": results["task"], "eval_split": results["eval_split"]},
        "ensemble": {"method": results["ensemble"]["method"], "members": results["members"]},
    }


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def build_manifest(
    *,
    seed: int,
    data_fingerprints: Mapping[str, str],
    mixed_precision: str,
    model_path: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a run needs to be reproduced: versions, commit, command line, data fingerprints, seed, device."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    device = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"cpu ({platform.processor() or platform.machine()})"
    )
    return {
        "packages": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "seed": seed,
        "device": device,
        "cpu_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "mixed_precision": mixed_precision,
        "model_path": model_path,
        # How the run was started (in-process callers record their own process's arguments).
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],
        "data_fingerprints": dict(sorted(data_fingerprints.items())),
        **(extra or {}),
    }
