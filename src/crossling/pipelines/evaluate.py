"""Re-evaluate a trained run: rebuild its model from the recorded config and weights, score any languages/split."""

from __future__ import annotations

import dataclasses
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
from crossling.utils.io import atomic_write_json
from crossling.utils.precision import resolve_mixed_precision


def load_run_model(run_dir: Path) -> tuple[ExperimentConfig, Stage, CrossLingualModel, Path]:
    """A run's recorded config (``layer: auto`` resolved), target stage, fine-tuned model and its weights file."""
    require_run_directory(run_dir)
    config = resolve_layer(recorded_config(run_dir), run_dir)
    target = plan_stages(config, run_dir)[-1]
    weights = target.directory / "model.safetensors"
    if not weights.is_file():
        raise ConfigError(f"{run_dir}: the target stage has not finished training, or was pruned from the stage "
                          f"cache ({weights} missing); run `crossling run` or `crossling train` first")
    model = build_model(config.model, config.aggregation, target.task.spec)
    load_model_weights(model, weights)
    return config, target, model, weights


def evaluate_run(run_dir: Path, *, languages: list[str] | None = None, split: str | None = None,
                 show_progress: bool = False, save_logits: bool = False) -> dict[str, Any]:
    """Score the run's final model on ``languages``/``split`` (defaults: the recorded config's).

    Writes ``evaluation-<split>.json`` and prediction files under ``predictions-<split>/``; with
    ``save_logits`` (or the run's ``evaluation.save_logits``) also ``logits/<task>/<split>-<lang>.safetensors``.
    """
    require_run_directory(run_dir)  # before the lock, which would create the directory
    with claimed(run_dir):
        return _evaluate_unlocked(run_dir, languages=languages, split=split, show_progress=show_progress,
                                  save_logits=save_logits)


def _evaluate_unlocked(run_dir: Path, *, languages: list[str] | None, split: str | None, show_progress: bool,
                       save_logits: bool) -> dict[str, Any]:
    """``evaluate_run``'s body, run while holding the run directory's lock."""
    config, target, model, _ = load_run_model(run_dir)
    changes: dict[str, Any] = {}
    if languages:
        changes["eval_languages"] = tuple(languages)
    if split:
        changes["eval_split"] = split
    data = dataclasses.replace(target.task, config=dataclasses.replace(target.task.config, **changes))
    tokenizer = load_tokenizer(config.model)
    precision = resolve_mixed_precision(config.training.mixed_precision)
    split_name = data.config.eval_split
    per_language = evaluate_languages(model, data, tokenizer, batch_size=config.evaluation.batch_size,
                                      mixed_precision=precision, predictions_dir=run_dir / f"predictions-{split_name}",
                                      show_progress=show_progress,
                                      logits_dir=run_dir if save_logits or config.evaluation.save_logits else None,
                                      examples_dir=run_dir)
    result = {
        "schema": RESULTS_SCHEMA, "name": config.name, "task": data.spec.name, "kind": str(data.spec.kind),
        "metric": data.spec.metric, "eval_split": split_name, "model": config.model.name_or_path,
        "aggregation": to_dict(config.aggregation), "train_languages": list(data.config.train_languages),
        "languages": per_language, "summary": summarize(per_language, data.spec.metric, data.config.train_languages),
    }
    atomic_write_json(run_dir / f"evaluation-{split_name}.json", result)
    return result
