"""Run one experiment: intermediate stages, the target task, zero-shot evaluation, results on disk."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig, StageConfig, TaskConfig, TrainingConfig
from crossling.config.selection import manifest_selections
from crossling.errors import ConfigError
from crossling.evaluation.example_stats import examples_path, write_example_stats
from crossling.evaluation.logits import logits_path, write_logits
from crossling.evaluation.predict import predict_logits
from crossling.evaluation.store import STORE_NAME, flatten, record_run
from crossling.models.encoder import load_tokenizer, resolve_model_path, weights_digests
from crossling.models.model import AGGREGATOR_PREFIX, CrossLingualModel
from crossling.pipelines.layer_choice import aggregation_entry, manifest_entry, resolve_layer
from crossling.pipelines.preflight import check_before_training, check_directories
from crossling.pipelines.retrieval import evaluate_retrieval
from crossling.pipelines.rundir import check_config, claimed, finished_results, record_config, run_directory
from crossling.pipelines.stage_inputs import (
    Stage,
    collator_for,
    dev_scorer,
    mixture_record,
    stage_batches,
    stage_collator,
    stage_model,
    stage_training,
)
from crossling.pipelines.stages import model_identity, published_dir, stage_id, stage_pointer, stage_slot
from crossling.reports.results import RESULTS_SCHEMA, build_manifest, summarize
from crossling.tasks.loading import TaskData
from crossling.tasks.stages import check_stages
from crossling.training.loop import StageResult, make_accelerator, seed_everything, train_stage
from crossling.training.tracking import Tracking, log_final_metrics, tracking_for
from crossling.utils.distributed import (
    from_main,
    is_main_process,
    main_process_first,
    process_count,
    wait_for_everyone,
)
from crossling.utils.io import (
    atomic_write_json,
    atomic_write_text,
)
from crossling.utils.precision import choose_precision, pretrained_hidden_size
from crossling.utils.progress import progress

logger = logging.getLogger(__name__)


def _sections(config: ExperimentConfig) -> list[tuple[StageConfig | None, tuple[TaskConfig, ...], TrainingConfig]]:
    """(stage config or None for the target, task sections, training) of every stage, intermediate ones first."""
    sections: list[tuple[StageConfig | None, tuple[TaskConfig, ...], TrainingConfig]] = [
        (stage, tuple(m.task for m in stage.mixture) or (stage.task,), stage_training(stage))
        for stage in config.intermediate
    ]
    return [*sections, (None, (config.task,), config.training)]


def task_keys(config: ExperimentConfig) -> list[str]:
    """The config key of every stage's task sections, in ``_sections`` order (for messages)."""
    keys = []
    for index, stage in enumerate(config.intermediate):
        if stage.is_mixture:
            keys += [f"intermediate[{index}].mixture[{j}].task" for j in range(len(stage.mixture))]
        else:
            keys.append(f"intermediate[{index}].task")
    return [*keys, "task"]


def plan_stages(
    config: ExperimentConfig,
    run_dir: Path,
    tasks: list[tuple[TaskData, ...]] | None = None,
    *,
    make_data: Callable[[TaskConfig], TaskData] = TaskData.from_config,
) -> list[Stage]:
    """Intermediate stages in order, then the target task, each with its stage-cache id.

    ``tasks`` are the stages' task data where the caller has them (``checked_stages`` has read them);
    else ``make_data`` builds each (``crossling plan`` passes one that stands in for absent data).
    """
    sections = _sections(config)
    tasks = tasks or [tuple(make_data(t) for t in task_configs) for _, task_configs, _ in sections]
    model_digest = model_identity(config.model)
    stages: list[Stage] = []
    for index, ((section, _, training), data) in enumerate(zip(sections, tasks, strict=True)):
        mixture = section if section is not None and section.is_mixture else None
        stage = Stage(index, data, training, "", Path(), Path(), mixture)
        sid = stage_id(
            config,
            data if mixture else data[0],
            training,
            index=index,
            upstream=stages[-1].id if stages else None,
            model_digest=model_digest,
            mixture=stage.mixture_key(),
        )
        stages.append(
            dataclasses.replace(
                stage, id=sid, directory=published_dir(sid), pointer=stage_pointer(run_dir, index, stage.name)
            )
        )
    return stages


def checked_stages(config: ExperimentConfig, run_dir: Path) -> list[Stage]:
    """Every check that can fail before the first training step (``preflight``), then ``plan_stages``.

    The checks come first: they name a bad file's line, where computing stage ids (which
    fingerprint the data) would only say which file is missing.
    """
    tasks = [tuple(TaskData.from_config(t) for t in task_configs) for _, task_configs, _ in _sections(config)]
    flat = [data for stage_tasks in tasks for data in stage_tasks]
    check_before_training(
        config, flat, run_dir, fine_tunes_target=flat[-1].spec.kind_plugin.fine_tunes, keys=task_keys(config)
    )
    return plan_stages(config, run_dir, tasks)


def train_pipeline(
    config: ExperimentConfig,
    run_dir: Path,
    tokenizer: Any,
    *,
    show_progress: bool = True,
    stop_after_steps: int | None = None,
    stages: list[Stage] | None = None,
) -> tuple[CrossLingualModel | None, list[Stage], list[StageResult]]:
    """Train every stage whose kind fine-tunes, in order; each starts from the previous stage's encoder with a new head.

    A mixture stage (``StageConfig.mixture``) trains one head per member on the shared encoder
    (``crossling.pipelines.stage_inputs``); the next stage takes its encoder like any other's.

    Returns the last trained model (``None`` when no stage trains: a retrieval target alone),
    all stages, and the results of the trained ones, which are the first ``len(results)``
    stages (only a target may fine-tune nothing, ``crossling.tasks.stages``). The aggregation
    module is rebuilt per stage (it adapts to each task, as the method intends). ``stages``
    are those of ``checked_stages`` when the caller has them (their records are read).
    ``aggregation.layer: auto`` is resolved first (``crossling.pipelines.layer_choice``).
    """
    config = resolve_layer(config, run_dir)
    stages = stages or checked_stages(config, run_dir)
    trained = [stage for stage in stages if stage.fine_tunes]
    encoder = None
    model = None
    results = []
    for stage in trained:
        seed = config.seed + stage.index
        seed_everything(seed)
        model = stage_model(config, stage, encoder)
        with main_process_first():  # several processes: the main one builds missing feature caches
            train = stage_batches(stage, tokenizer, seed)
            scorer = dev_scorer(stage, tokenizer, config.evaluation.batch_size, stage.training.mixed_precision)
        with stage_slot(
            stage.id,
            task=stage.name,
            upstream=stages[stage.index - 1].id if stage.index else None,
            run_dir=run_dir,
            pointer=stage.pointer,
        ) as work_dir:
            result = train_stage(
                model,
                train,
                config=stage.training,
                seed=seed,
                work_dir=work_dir,
                collator=stage_collator(stage, tokenizer),
                dev_scorer=scorer,
                stage_name=f"stage {stage.index + 1}/{len(trained)}: {stage.name}",
                show_progress=show_progress,
                stop_after_steps=stop_after_steps if stage is trained[-1] else None,
                lr_multipliers={AGGREGATOR_PREFIX: config.aggregation.lr_multiplier},
                tracking=_tracking(config, run_dir, prefix=f"stage{stage.index + 1}-{stage.name}"),
            )
        results.append(result)
        encoder = model.encoder
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
    examples_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Zero-shot scores in every evaluation language (a progress bar per language); writes XTREME-format prediction files.

    With ``logits_dir`` (a run directory) every row's logits are saved too, for ensembles
    (``crossling.pipelines.ensemble``), and those of the first training language's dev split
    (where ensemble weights are fitted); with ``examples_dir`` (a run directory) the per-example
    statistics of the metric, for a study's intervals (``examples/<task>/<split>-<lang>.safetensors``).
    Launched on several processes, every process scores its share (``predict_logits``) and only the
    main one writes files or shows progress.
    """
    if not is_main_process():
        predictions_dir = examples_dir = None
        show_progress = False
    per_language: dict[str, dict[str, Any]] = {}
    plugin = data.spec.fine_tuned_kind()
    collator = collator_for(tokenizer, data.spec)
    split = data.config.eval_split
    for language in data.eval_languages():
        with main_process_first():
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
        if logits_dir is not None and is_main_process():
            write_logits(logits_path(logits_dir, data.spec.name, split, language), logits)
        result = plugin.score(data.spec, logits, features, data.records(language, split), language=language)
        per_language[language] = {
            **result.metrics,
            "count": result.count,
            "seconds": round(time.perf_counter() - started, 3),
        }
        if examples_dir is not None and result.examples is not None:
            write_example_stats(examples_path(examples_dir, data.spec.name, split, language), result.examples)
        if predictions_dir is not None:
            extension, text = plugin.prediction_file(data.spec, result.predictions)
            atomic_write_text(predictions_dir / data.spec.name / f"{split}-{language}.{extension}", text)
    if logits_dir is not None:
        _save_dev_logits(model, data, tokenizer, logits_dir, batch_size=batch_size, mixed_precision=mixed_precision)
    return per_language


def _save_dev_logits(
    model: CrossLingualModel, data: TaskData, tokenizer: Any, run_dir: Path, *, batch_size: int, mixed_precision: str
) -> None:
    """The logits of the first training language's dev split, on which ``crossling ensemble`` fits weights."""
    language, dev_split = data.config.train_languages[0], data.config.dev_split
    path = logits_path(run_dir, data.spec.name, dev_split, language)
    # The main process's answer: on several processes, all must agree before predicting together.
    if from_main(dev_split == "none" or (dev_split == data.config.eval_split and path.is_file())):
        return
    with main_process_first():
        features = data.features(language, dev_split, tokenizer)
    collator = collator_for(tokenizer, data.spec)
    logits = predict_logits(model, features, batch_size=batch_size, collator=collator, mixed_precision=mixed_precision)
    if is_main_process():
        write_logits(path, logits)


def run_experiment(
    config: ExperimentConfig, *, show_progress: bool = True, stop_after_steps: int | None = None, force: bool = False
) -> dict[str, Any]:
    """Train and evaluate one (non-sweep) experiment; returns the results written to ``results.json``.

    A finished run with the same config is not redone (its results are returned). An
    interrupted one resumes. A run directory holding a *different* config is an error
    unless nothing was trained under it or ``force`` (see ``crossling.pipelines.rundir.check_config``).
    """
    if config.is_sweep:
        raise ConfigError("run_experiment got a sweep/variants config; use crossling.pipelines.sweep.run_sweep")
    check_stages(config)
    run_dir = run_directory(config)
    check_directories(run_dir)
    with claimed(run_dir):
        digest = check_config(config, run_dir, force=force)
        if not force and (done := finished_results(run_dir, digest)) is not None:
            logger.info("%s: already finished; results in %s", config.name, run_dir / "results.json")
            return _recorded(config, run_dir, done)
        stages = checked_stages(config, run_dir)
        _record_on_main(config, run_dir, digest)
        results = _run_unlocked(
            config, run_dir, digest, stages, show_progress=show_progress, stop_after_steps=stop_after_steps
        )
        wait_for_everyone()  # the results are written before any process goes on
        return results


def _record_on_main(config: ExperimentConfig, run_dir: Path, digest: str) -> None:
    """``record_config`` by the main process once every process has checked the directory; the others wait."""
    wait_for_everyone()
    if is_main_process():
        record_config(config, run_dir, digest)
    wait_for_everyone()


def train_experiment(
    config: ExperimentConfig, *, show_progress: bool = True, force: bool = False
) -> tuple[list[Stage], list[StageResult]]:
    """Train every stage of one experiment without evaluating, under the same lock and config check as a run."""
    run_dir = run_directory(config)
    check_directories(run_dir)
    with claimed(run_dir):
        digest = check_config(config, run_dir, force=force)
        stages = checked_stages(config, run_dir)
        _record_on_main(config, run_dir, digest)
        _, stages, results = train_pipeline(
            config, run_dir, load_tokenizer(config.model), show_progress=show_progress, stages=stages
        )
    return stages, results


def _run_unlocked(
    config: ExperimentConfig,
    run_dir: Path,
    digest: str,
    stages: list[Stage],
    *,
    show_progress: bool,
    stop_after_steps: int | None,
) -> dict[str, Any]:
    """``run_experiment``'s body, run while holding the run directory's lock with the config recorded."""
    tokenizer = load_tokenizer(config.model)
    model_path = resolve_model_path(config.model.name_or_path)
    precision_choice = choose_precision(
        config.training.mixed_precision, pretrained_hidden_size(model_path, revision=config.model.revision)
    )
    precision = precision_choice.precision
    predictions_dir = run_dir / "predictions" if config.evaluation.write_predictions else None
    started = time.perf_counter()
    model, stages, stage_results = train_pipeline(
        config, run_dir, tokenizer, show_progress=show_progress, stop_after_steps=stop_after_steps, stages=stages
    )
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    target = stages[-1]
    if target.task.spec.kind_plugin.fine_tunes:
        assert model is not None
        per_language = evaluate_languages(
            model,
            target.task,
            tokenizer,
            batch_size=config.evaluation.batch_size,
            mixed_precision=precision,
            predictions_dir=predictions_dir,
            show_progress=show_progress,
            logits_dir=run_dir if config.evaluation.save_logits else None,
            examples_dir=run_dir,
        )
    else:
        # Retrieval trains nothing itself: it scores the encoder the intermediate stages trained, if any.
        per_language = evaluate_retrieval(
            config,
            target.task,
            tokenizer,
            predictions_dir=predictions_dir,
            show_progress=show_progress,
            encoder=model.encoder if model else None,
            logits_dir=run_dir if config.evaluation.save_logits else None,
            examples_dir=run_dir,
            # The last trained stage's id names the weights it left (content address): pool vectors are cached by it.
            weights_identity=stages[len(stage_results) - 1].id if stage_results else None,
        )
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
        "intermediate": [s.name for s in stages[:-1]],
        "train_languages": list(target.task.config.train_languages),
        "data_caps": {key: getattr(target.task.config, key) for key in ("max_train_examples", "max_eval_examples")},
        "languages": per_language,
        "summary": summarize(per_language, spec.metric, target.task.config.train_languages),
        "selection": {
            "policy": last.selection if last else "no-training",
            "dev_language": target.task.config.train_languages[0],
            "dev_split": target.task.config.dev_split,
            "selected_step": last.selected_step if last else None,
            "dev_score": last.best_dev if last else None,
        },
        # A retrieval target trains nothing: only its intermediate stages have results.
        "stages": [
            {
                "task": s.name,
                **asdict(r),
                "train_examples": s.num_train_examples,
                "train_features": r.train_examples,
                **_mixture_entry(s, tokenizer, config.seed + s.index),
            }
            for s, r in zip(stages[: len(stage_results)], stage_results, strict=True)
        ],
        "timing": {"train_seconds": round(train_seconds, 2), "eval_seconds": round(eval_seconds, 2)},
        "config_hash": digest,
    }
    if is_main_process():
        _write_run_files(config, run_dir, stages, results, precision, precision_choice, model_path)
    if tracking := _tracking(config, run_dir, prefix="test"):
        log_final_metrics(
            tracking,
            make_accelerator("no", tracking=tracking),
            per_language,
            results["summary"],
            step=last.global_steps if last else 0,
        )
    return _recorded(config, run_dir, results)


def _write_run_files(
    config: ExperimentConfig,
    run_dir: Path,
    stages: list[Stage],
    results: dict[str, Any],
    precision: str,
    precision_choice: Any,
    model_path: str,
) -> None:
    """``manifest.json`` (seed, data fingerprints, precision, encoder) and ``results.json`` of a finished run."""
    fingerprints: dict[str, str] = {}
    for stage in stages:
        for data in stage.tasks:
            fingerprints.update(data.fingerprints)
    atomic_write_json(
        run_dir / "manifest.json",
        build_manifest(
            seed=config.seed,
            data_fingerprints=fingerprints,
            mixed_precision=precision,
            model_path=model_path,
            extra={
                **manifest_entry(config, run_dir),
                **manifest_selections(config),
                "precision_choice": precision_choice.as_manifest(),
                "model_weights": weights_digests(config.model),
                # How many processes trained and scored it (accelerate launch); absent for one.
                **({"processes": process_count()} if process_count() > 1 else {}),
            },
        ),
    )
    atomic_write_json(run_dir / "results.json", results)


def _mixture_entry(stage: Stage, tokenizer: Any, seed: int) -> dict[str, Any]:
    """``{"mixture": ...}`` for a mixture stage's entry in results.json (members, sampling, draws), else nothing."""
    if stage.mixture is None:
        return {}
    return {"mixture": mixture_record(stage, stage_batches(stage, tokenizer, seed))}


def _recorded(config: ExperimentConfig, run_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    """``results``, after recording them in the results store of the run's output directory (idempotent; main process)."""
    if is_main_process():
        record_run(config.output_dir / STORE_NAME, run_dir, results, to_dict(config))
    return results
