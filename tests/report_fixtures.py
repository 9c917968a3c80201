"""Hand-written results.json files for report tests (the schema a run writes, with chosen numbers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossling.utils.io import atomic_write_json


def fake_results(
    name: str,
    scores: dict[str, float],
    *,
    metric: str = "accuracy",
    seed: int = 13,
    dev_curve: tuple[float, ...] = (50.0, 70.0),
) -> dict[str, Any]:
    """A results.json body with per-language ``scores``, English as the source language."""
    transfer = [v for lang, v in scores.items() if lang != "en"]
    return {
        "schema": "crossling.results/1",
        "name": name,
        "task": "tmpl-nli",
        "kind": "pair_classification",
        "metric": metric,
        "eval_split": "test",
        "model": "tiny",
        "aggregation": {"strategy": "last", "layer": None},
        "intermediate": [],
        "train_languages": ["en"],
        "languages": {lang: {metric: value, "count": 10} for lang, value in scores.items()},
        "summary": {
            "metric": metric,
            "macro_avg": sum(scores.values()) / len(scores),
            "source": {"en": scores.get("en")},
            "avg_transfer": sum(transfer) / len(transfer) if transfer else None,
            "num_languages": len(scores),
        },
        "selection": {
            "policy": "best-dev",
            "dev_language": "en",
            "dev_split": "dev",
            "selected_step": 20,
            "dev_score": max(dev_curve),
        },
        "stages": [
            {
                "task": "tmpl-nli",
                "global_steps": 10 * len(dev_curve),
                "epochs": len(dev_curve),
                "selected_step": 20,
                "selection": "best-dev",
                "best_dev": max(dev_curve),
                "dev_history": [[10 * (i + 1), i + 1, v] for i, v in enumerate(dev_curve)],
                "train_examples": 100,
                "train_seconds": 1.0,
                "mixed_precision": "no",
            }
        ],
        "timing": {"train_seconds": 1.0, "eval_seconds": 1.0},
        "config_hash": f"hash-{name}-{seed}",
    }


def write_run(directory: Path, name: str, scores: dict[str, float], **kwargs: Any) -> Path:
    """Write ``directory/results.json`` (and a config.yaml naming the run) and return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_json(directory / "results.json", fake_results(name, scores, **kwargs))
    (directory / "config.yaml").write_text(f"name: {name}\nseed: {kwargs.get('seed', 13)}\n")
    return directory
