"""Run one experiment: intermediate stages, the target task, zero-shot evaluation, results on disk."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from crossling.analysis.ensembles import logits_path, write_logits
from crossling.config.loader import dump_config, load_raw, to_dict
from crossling.config.schema import ExperimentConfig, TaskConfig, TrainingConfig
from crossling.data.loading import TaskData
from crossling.errors import ConfigError
from crossling.evaluation.predict import predict_logits
from crossling.evaluation.scoring import prediction_file, score
from crossling.evaluation.store import STORE_NAME, flatten, record_run
from crossling.models.encoder import load_tokenizer, resolve_model_path
from crossling.models.model import AGGREGATOR_PREFIX, CrossLingualModel, build_model
from crossling.pipelines.layer_choice import aggregation_entry, manifest_entry, resolve_layer
from crossling.pipelines.preflight import check_before_training, check_directories
from crossling.reports.results import RESULTS_SCHEMA, build_manifest, summarize
from crossling.tasks.registry import TaskKind, get_task
from crossling.training.batching import PaddingCollator
from crossling.training.loop import StageResult, make_accelerator, seed_everything, train_stage
from crossling.training.precision import choose_precision, pretrained_hidden_size
from crossling.training.tracking import Tracking, log_final_metrics, tracking_for
from crossling.utils.imports import resolve
from crossling.utils.io import (
    atomic_write_json,
    atomic_write_text,
    read_json,
    sha256_json,
)
from crossling.utils.locks import LockBusy, exclusive_lock
from crossling.utils.progress import progress

logger = logging.getLogger(__name__)

#: Task kinds evaluated without fine-tuning, and the function that runs them
#: (``(config, task_data, tokenizer, *, predictions_dir) -> per-language scores``).
EVAL_ONLY_KINDS: dict[TaskKind, str] = {TaskKind.RETRIEVAL: "crossling.pipelines.retrieval:evaluate_retrieval"}


def run_directory(config: ExperimentConfig) -> Path:
    """``output_dir/name``."""
    return config.output_dir / config.name


def _differences(recorded: Path, config: ExperimentConfig, limit: int = 4) -> str:
    """``"; differs in: a.b (x -> y), ..."`` between a recorded config.yaml and ``config`` (empty if unreadable)."""
    try:
        before = flatten(load_raw(recorded))
    except (OSError, ConfigError, ValueError):
        return ""
    after = flatten(to_dict(config))
    keys = sorted(
        k
        for k in set(before) | set(after)
        if k != "output_dir" and before.get(k, "<absent>") != after.get(k, "<absent>")
    )
    if not keys:
        return ""
    shown = [f"{k} ({before.get(k, '<absent>')!r} -> {after.get(k, '<absent>')!r})" for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; differs in: " + ", ".join(shown) + more


def config_hash(config: ExperimentConfig) -> str:
    """Hash of the resolved config, ignoring where the run is written and where metrics are tracked."""
    data = to_dict(config)
    data.pop("output_dir", None)
    data.pop("tracking", None)  # where metrics are also sent does not change the run
    return sha256_json(data)


@dataclass
class Stage:
    """One training stage of the pipeline (an intermediate task or the target task).

    Args:
        index: Position in the pipeline.
        task: Task data of the stage.
        training: Its optimisation settings.
        directory: Its working directory inside the run.
    """

    index: int
    task: TaskData
    training: TrainingConfig
    directory: Path


def plan_stages(config: ExperimentConfig, run_dir: Path) -> list[Stage]:
    """Intermediate stages in order, then the target task."""
    sections: list[tuple[TaskConfig, TrainingConfig]] = [(s.task, s.training) for s in config.intermediate]
    sections.append((config.task, config.training))
    stages = []
    for index, (task_config, training) in enumerate(sections):
        data = TaskData.from_config(task_config)
        stages.append(Stage(index, data, training, run_dir / "stages" / f"{index:02d}-{data.spec.name}"))
    return stages


def checked_stages(config: ExperimentConfig, run_dir: Path) -> list[Stage]:
    """``plan_stages``, then every check that can fail before the first training step (``preflight``)."""
    stages = plan_stages(config, run_dir)
    check_before_training(
        config, [s.task for s in stages], run_dir, fine_tunes_target=stages[-1].task.spec.kind not in EVAL_ONLY_KINDS
    )
    return stages


def _collator(tokenizer: Any, kind: TaskKind) -> PaddingCollator:
    return PaddingCollator(tokenizer.pad_token_id, sequence_labels=kind is TaskKind.TOKEN_CLASSIFICATION)


def _dev_scorer(stage: Stage, tokenizer: Any, batch_size: int, precision: str):
    """Score on the dev split of the first training language (the model-selection policy)."""
    if stage.task.config.dev_split == "none":
        return None
    language = stage.task.config.train_languages[0]
    features = stage.task.features(language, stage.task.config.dev_split, tokenizer)
    collator = _collator(tokenizer, stage.task.spec.kind)

    def dev_score(model: torch.nn.Module) -> float:
        logits = predict_logits(model, features, batch_size=batch_size, collator=collator, mixed_precision=precision)
        records = stage.task.records(language, stage.task.config.dev_split)
        return score(stage.task.spec, logits, features, records, language=language).metrics[stage.task.spec.metric]

    return dev_score


def train_pipeline(
    config: ExperimentConfig,
    run_dir: Path,
    tokenizer: Any,
    *,
    show_progress: bool = True,
    stop_after_steps: int | None = None,
    stages: list[Stage] | None = None,
) -> tuple[CrossLingualModel, list[Stage], list[StageResult]]:
    """Train every stage in order; each stage starts from the previous stage's encoder with a new head.

    The aggregation module is rebuilt per stage (it adapts to each task, as the method intends).
    ``stages`` are those of ``checked_stages`` when the caller has them (their records are read).
    ``aggregation.layer: auto`` is resolved first (``crossling.pipelines.layer_choice``).
    """
    config = resolve_layer(config, run_dir)
    stages = stages or checked_stages(config, run_dir)
    encoder = None
    model = None
    results = []
    for stage in stages:
        seed_everything(config.seed + stage.index)
        model = build_model(config.model, config.aggregation, stage.task.spec, encoder=encoder)
        train = stage.task.train_features(tokenizer)
        result = train_stage(
            model,
            train,
            config=stage.training,
            seed=config.seed + stage.index,
            work_dir=stage.directory,
            collator=_collator(tokenizer, stage.task.spec.kind),
            dev_scorer=_dev_scorer(stage, tokenizer, config.evaluation.batch_size, stage.training.mixed_precision),
            stage_name=f"stage {stage.index + 1}/{len(stages)}: {stage.task.spec.name}",
            show_progress=show_progress,
            stop_after_steps=stop_after_steps if stage is stages[-1] else None,
            tracking=_tracking(config, run_dir, prefix=f"stage{stage.index + 1}-{stage.task.spec.name}"),
            lr_multipliers={AGGREGATOR_PREFIX: config.aggregation.lr_multiplier},
        )
        results.append(result)
        encoder = model.encoder
    assert model is not None
    return model, stages, results


def _tracking(config: ExperimentConfig, run_dir: Path, *, prefix: str) -> Tracking | None:
    """The run's trackers (``tracking.report_to``; None when off), naming metrics under ``prefix``."""
    tracking = tracking_for(config.tracking, run_dir, config.name, flatten(to_dict(config)))
    return dataclasses.replace(tracking, prefix=prefix) if tracking else None


def evaluate_languages(
    model: CrossLingualModel,
    data: TaskData,
    tokenizer: Any,
    *,
    batch_size: int,
    mixed_precision: str,
    predictions_dir: Path | None,
    show_progress: bool = False,
    logits_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Zero-shot scores in every evaluation language (a progress bar per language); writes XTREME-format prediction files.

    With ``logits_dir`` (a run directory) every row's logits are saved too, for ensembles
    (``crossling.analysis.ensembles``).
    """
    per_language: dict[str, dict[str, Any]] = {}
    collator = _collator(tokenizer, data.spec.kind)
    split = data.config.eval_split
    for language in data.eval_languages():
        features = data.features(language, split, tokenizer)
        started = time.perf_counter()
        with progress(f"evaluate {data.spec.name} {language}", len(features), enabled=show_progress) as advance:
            logits = predict_logits(
                model,
                features,
                batch_size=batch_size,
                collator=collator,
                mixed_precision=mixed_precision,
                advance=advance,
            )
        if logits_dir is not None:
            write_logits(logits_path(logits_dir, data.spec.name, split, language), logits)
        result = score(data.spec, logits, features, data.records(language, split), language=language)
        per_language[language] = {
            **result.metrics,
            "count": result.count,
            "seconds": round(time.perf_counter() - started, 3),
        }
        if predictions_dir is not None:
            extension, text = prediction_file(data.spec, result.predictions)
            atomic_write_text(predictions_dir / data.spec.name / f"{split}-{language}.{extension}", text)
    return per_language


def run_experiment(
    config: ExperimentConfig, *, show_progress: bool = True, stop_after_steps: int | None = None, force: bool = False
) -> dict[str, Any]:
    """Train and evaluate one (non-sweep) experiment; returns the results written to ``results.json``.

    A finished run with the same config is not redone (its results are returned). An
    interrupted one resumes. A run directory holding a *different* config is an error
    unless ``force``.
    """
    if config.is_sweep:
        raise ConfigError("run_experiment got a sweep/variants config; use crossling.pipelines.sweep.run_sweep")
    run_dir = run_directory(config)
    check_directories(run_dir)
    try:
        with exclusive_lock(run_dir / ".lock", wait=False):
            return _run_unlocked(
                config, run_dir, show_progress=show_progress, stop_after_steps=stop_after_steps, force=force
            )
    except LockBusy:
        raise ConfigError(
            f"{run_dir} is in use by another crossling process; wait for it to finish "
            "(it resumes the same run) or choose another name"
        ) from None


def _run_unlocked(
    config: ExperimentConfig, run_dir: Path, *, show_progress: bool, stop_after_steps: int | None, force: bool
) -> dict[str, Any]:
    """``run_experiment``'s body, run while holding the run directory's lock."""
    digest = config_hash(config)
    results_path = run_dir / "results.json"
    recorded = run_dir / "config.yaml"
    if (run_dir / "config_hash").is_file() and not force:
        previous = (run_dir / "config_hash").read_text().strip()
        if previous != digest:
            raise ConfigError(
                f"{run_dir} holds a run with a different config ({recorded}{_differences(recorded, config)}); "
                "choose another name, or pass --force to overwrite it"
            )
        if results_path.is_file():
            logger.info("%s: already finished; results in %s", config.name, results_path)
            return _recorded(config, run_dir, read_json(results_path))
    stages = checked_stages(config, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(recorded, dump_config(config))
    atomic_write_text(run_dir / "config_hash", digest + "\n")

    tokenizer = load_tokenizer(config.model)
    model_path = resolve_model_path(config.model.name_or_path)
    precision_choice = choose_precision(
        config.training.mixed_precision, pretrained_hidden_size(model_path, revision=config.model.revision)
    )
    precision = precision_choice.precision
    predictions_dir = run_dir / "predictions" if config.evaluation.write_predictions else None
    started = time.perf_counter()
    target_kind = get_task(config.task.name).kind
    if target_kind in EVAL_ONLY_KINDS:
        # Retrieval: no fine-tuning of the target task (intermediate stages would still train).
        stage_results = []
        train_seconds = 0.0
        started = time.perf_counter()
        per_language = resolve(EVAL_ONLY_KINDS[target_kind])(
            config, stages[-1].task, tokenizer, predictions_dir=predictions_dir, show_progress=show_progress
        )
    else:
        model, stages, stage_results = train_pipeline(
            config, run_dir, tokenizer, show_progress=show_progress, stop_after_steps=stop_after_steps, stages=stages
        )
        train_seconds = time.perf_counter() - started
        started = time.perf_counter()
        per_language = evaluate_languages(
            model,
            stages[-1].task,
            tokenizer,
            batch_size=config.evaluation.batch_size,
            mixed_precision=precision,
            predictions_dir=predictions_dir,
            show_progress=show_progress,
            logits_dir=run_dir if config.evaluation.save_logits else None,
        )
    target = stages[-1]
    eval_seconds = time.perf_counter() - started
    spec = target.task.spec
    last = stage_results[-1] if stage_results else None
    results = {
        "schema": RESULTS_SCHEMA,
        "name": config.name,
        "task": spec.name,
        "kind": str(spec.kind),
        "metric": spec.metric,
        "eval_split": target.task.config.eval_split,
        "model": config.model.name_or_path,
        "aggregation": aggregation_entry(config, run_dir),
        "intermediate": [s.task.spec.name for s in stages[:-1]],
        "train_languages": list(target.task.config.train_languages),
        "languages": per_language,
        "summary": summarize(per_language, spec.metric, target.task.config.train_languages),
        "selection": {
            "policy": last.selection if last else "no-training",
            "dev_language": target.task.config.train_languages[0],
            "dev_split": target.task.config.dev_split,
            "selected_step": last.selected_step if last else None,
            "dev_score": last.best_dev if last else None,
        },
        # Eval-only (retrieval) runs train no stage: stage_results is empty.
        "stages": [
            {"task": s.task.spec.name, **asdict(r)}
            for s, r in zip(stages[: len(stage_results)], stage_results, strict=True)
        ],
        "timing": {"train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 2)},
        "config_hash": digest,
    }
    fingerprints: dict[str, str] = {}
    for stage in stages:
        fingerprints.update(stage.task.fingerprints)
    atomic_write_json(
        run_dir / "manifest.json",
        build_manifest(
            seed=config.seed,
            data_fingerprints=fingerprints,
            mixed_precision=precision,
            model_path=model_path,
            extra={**manifest_entry(config, run_dir), "precision_choice": precision_choice.as_manifest()},
        ),
    )
    atomic_write_json(results_path, results)
    if tracking := _tracking(config, run_dir, prefix="test"):
        log_final_metrics(
            tracking,
            make_accelerator("no", tracking=tracking),
            per_language,
            results["summary"],
            step=last.global_steps if last else 0,
        )
    return _recorded(config, run_dir, results)


def _recorded(config: ExperimentConfig, run_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    """``results``, after recording them in the results store of the run's output directory (idempotent)."""
    record_run(config.output_dir / STORE_NAME, run_dir, results, to_dict(config))
    return results
