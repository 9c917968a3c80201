"""Re-evaluate a trained run: rebuild its model from the recorded config and weights, score any languages/split."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.models.encoder import load_tokenizer
from crossling.models.model import CrossLingualModel, build_model
from crossling.pipelines.experiment import Stage, evaluate_languages, plan_stages
from crossling.pipelines.layer_choice import resolve_layer
from crossling.pipelines.rundir import claimed, recorded_config, require_run_directory
from crossling.reports.results import RESULTS_SCHEMA, summarize
from crossling.training.checkpoint import load_model_weights
from crossling.utils.distributed import is_main_process
from crossling.utils.io import atomic_write_json, sha256_file, sha256_json
from crossling.utils.paths import crossling_home
from crossling.utils.precision import resolve_mixed_precision

#: Splits ``evaluate`` scores; the training split is refused (a score on it says nothing about transfer).
EVALUATION_SPLITS = ("test", "dev")


def load_run_model(run_dir: Path) -> tuple[ExperimentConfig, Stage, CrossLingualModel, Path]:
    """A run's recorded config (``layer: auto`` resolved), target stage, fine-tuned model and its weights file."""
    require_run_directory(run_dir)
    config = resolve_layer(recorded_config(run_dir), run_dir)
    target = plan_stages(config, run_dir)[-1]
    weights = target.directory / "model.safetensors"
    if not weights.is_file():
        raise ConfigError(
            f"{run_dir}: the target stage has not finished training, or was pruned from the stage "
            f"cache ({weights} missing); run `crossling run` or `crossling train` first"
        )
    model = build_model(config.model, config.aggregation, target.task.spec)
    load_model_weights(model, weights)
    return config, target, model, weights


def evaluate_run(
    run_dir: Path,
    *,
    languages: list[str] | None = None,
    split: str | None = None,
    show_progress: bool = False,
    save_logits: bool = False,
) -> dict[str, Any]:
    """Score the run's final model on ``languages``/``split`` (defaults: the recorded config's).

    Every evaluation is kept: ``evaluations/<UTC time>-<split>-<hash>.json`` (the hash covers languages,
    split and checkpoint digest), with an ``evaluation`` record of what was scored; prediction files go
    under ``predictions-<split>/``; with ``save_logits`` (or the run's ``evaluation.save_logits``) also
    ``logits/<task>/<split>-<lang>.safetensors``.
    """
    if split is not None and split not in EVALUATION_SPLITS:
        raise ConfigError(
            f"--split {split!r}: evaluate scores a held-out split ({' or '.join(EVALUATION_SPLITS)}), "
            "not the training split"
        )
    require_run_directory(run_dir)  # before the lock, which would create the directory
    with claimed(run_dir):
        return _evaluate_unlocked(
            run_dir, languages=languages, split=split, show_progress=show_progress, save_logits=save_logits
        )


def _evaluate_unlocked(
    run_dir: Path, *, languages: list[str] | None, split: str | None, show_progress: bool, save_logits: bool
) -> dict[str, Any]:
    """``evaluate_run``'s body, run while holding the run directory's lock."""
    config, target, model, weights = load_run_model(run_dir)
    changes: dict[str, Any] = {}
    if languages:
        changes["eval_languages"] = tuple(languages)
    if split:
        changes["eval_split"] = split
    data = dataclasses.replace(target.task, config=dataclasses.replace(target.task.config, **changes))
    tokenizer = load_tokenizer(config.model)
    precision = resolve_mixed_precision(config.training.mixed_precision)
    split_name = data.config.eval_split
    per_language = evaluate_languages(
        model,
        data,
        tokenizer,
        batch_size=config.evaluation.batch_size,
        mixed_precision=precision,
        predictions_dir=run_dir / f"predictions-{split_name}",
        show_progress=show_progress,
        logits_dir=run_dir if save_logits or config.evaluation.save_logits else None,
        examples_dir=run_dir,
    )
    result = {
        "schema": RESULTS_SCHEMA,
        "name": config.name,
        "task": data.spec.name,
        "kind": str(data.spec.kind),
        "metric": data.spec.metric,
        "eval_split": split_name,
        "model": config.model.name_or_path,
        "aggregation": to_dict(config.aggregation),
        "train_languages": list(data.config.train_languages),
        "languages": per_language,
        "summary": summarize(per_language, data.spec.metric, data.config.train_languages),
    }
    result["evaluation"] = _evaluation_record(run_dir, weights, split_name, list(per_language))
    if is_main_process():  # accelerate launch: every process scored its share, the main one writes
        atomic_write_json(run_dir / "evaluations" / f"{result['evaluation']['id']}.json", result)
    return result


def _evaluation_record(run_dir: Path, weights: Path, split: str, languages: list[str]) -> dict[str, Any]:
    """What an evaluation scored: split, languages, the checkpoint file and its SHA-256, when; and its id."""
    when = datetime.datetime.now(datetime.UTC)
    record = {
        "split": split,
        "languages": languages,
        # The stage cache's path (``stages/<id>/model.safetensors``): short, and the same on every machine.
        "checkpoint": str(weights.relative_to(crossling_home()))
        if weights.is_relative_to(crossling_home())
        else str(weights),
        "checkpoint_sha256": sha256_file(weights),
        "created": when.isoformat(timespec="seconds"),
    }
    record["id"] = f"{when:%Y%m%dT%H%M%S%fZ}-{split}-{sha256_json(record)[:8]}"
    return record
