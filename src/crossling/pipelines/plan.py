"""A study's plan without training: its runs, their stages (cached or to train), steps, evaluation size and cost.

``crossling plan CONFIG`` prints it. Steps are counted exactly as training counts them (features
of every training language, batches, gradient accumulation, epochs or ``max_steps``), so the
features are built (and cached for the run that follows). A stage shared by several runs is
counted once. The cost estimate multiplies the steps still to train by a seconds-per-step figure:
measured by ``--calibrate`` (a few real optimiser steps of the plan's first stage on this device)
or given with ``--seconds-per-step`` for another device (e.g. from BENCHMARKS.md or a GPU run).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.config.loader import to_dict
from crossling.config.schema import ExperimentConfig, TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.errors import ConfigError
from crossling.models.encoder import load_tokenizer
from crossling.models.model import build_model
from crossling.pipelines.experiment import Stage, plan_stages, run_directory
from crossling.pipelines.stages import is_complete
from crossling.pipelines.sweep import expand
from crossling.tasks.loading import TaskData
from crossling.training.loop import train_stage
from crossling.utils.io import sha256_json


@dataclass(frozen=True)
class PlannedStage:
    """One training stage of one run.

    Args:
        index: Position in the run's pipeline.
        task: Task name.
        stage_id: Content address in the stage cache.
        cached: Whether the stage cache already holds it (nothing to train).
        train_features: Training rows (windows for QA and long tagging sentences).
        steps: Optimiser steps the stage takes.
    """

    index: int
    task: str
    stage_id: str
    cached: bool
    train_features: int
    steps: int


@dataclass(frozen=True)
class PlannedRun:
    """One run of the study.

    Args:
        name: Run name.
        stages: Its training stages (none for a retrieval target: it only evaluates).
        eval_examples: Test examples per evaluation language.
        finished: Whether its run directory already holds its results.
    """

    name: str
    stages: tuple[PlannedStage, ...]
    eval_examples: dict[str, int]
    finished: bool


@dataclass
class StudyPlan:
    """Every run of a study and the totals that decide its cost.

    Args:
        runs: The runs, in order.
        seconds_per_step: Measured or given optimiser-step time (``None``: no estimate).
        device: What that figure was measured on.
    """

    runs: list[PlannedRun] = field(default_factory=list)
    seconds_per_step: float | None = None
    device: str = ""

    def unique_stages(self) -> dict[str, PlannedStage]:
        """Each distinct stage once (stages shared by several runs are trained once)."""
        return {stage.stage_id: stage for run in self.runs for stage in run.stages}

    def totals(self) -> dict[str, Any]:
        """Runs, stages, steps and evaluation examples, with what is still to do."""
        stages = self.unique_stages().values()
        to_train = [s for s in stages if not s.cached]
        unfinished = [r for r in self.runs if not r.finished]
        totals: dict[str, Any] = {
            "runs": len(self.runs),
            "runs_to_run": len(unfinished),
            "stages": len(stages),
            "stages_to_train": len(to_train),
            "steps": sum(s.steps for s in stages),
            "steps_to_train": sum(s.steps for s in to_train),
            "eval_examples": sum(sum(r.eval_examples.values()) for r in self.runs),
            "eval_examples_to_run": sum(sum(r.eval_examples.values()) for r in unfinished),
        }
        if self.seconds_per_step is not None:
            totals["seconds_per_step"] = round(self.seconds_per_step, 4)
            totals["device"] = self.device
            totals["estimated_training_hours"] = round(totals["steps_to_train"] * self.seconds_per_step / 3600, 3)
        return totals


def steps_of(train_features: int, training: TrainingConfig) -> int:
    """Optimiser steps of a stage, as ``crossling.training.loop.train_stage`` counts them."""
    batches = math.ceil(train_features / training.batch_size)
    per_epoch = math.ceil(batches / training.gradient_accumulation_steps)
    return training.max_steps or per_epoch * training.epochs


def _planned_stage(stage: Stage, tokenizer: Any, known: dict[str, Any]) -> PlannedStage:
    key = f"stage:{stage.id}"  # the same stage (id) in several runs has the same rows: counted once
    if key not in known:
        known[key] = sum(len(data.train_features(tokenizer)) for data in stage.tasks)
    features = known[key]
    return PlannedStage(
        stage.index,
        stage.name,
        stage.id,
        is_complete(stage.directory),
        features,
        steps_of(features, stage.training),
    )


def plan_run(config: ExperimentConfig, tokenizer: Any, known: dict[str, Any] | None = None) -> PlannedRun:
    """The plan of one (non-study) run: stages with ids and steps, evaluation sizes, whether it is done.

    ``known`` holds counts already made for other runs of the study (by stage id, and by the
    target task's config for evaluation sizes), so a study of many systems reads its data once.
    """
    known = {} if known is None else known
    run_dir = run_directory(config)
    stages = plan_stages(config, run_dir)
    target: TaskData = stages[-1].task
    trained = tuple(_planned_stage(stage, tokenizer, known) for stage in stages if stage.fine_tunes)
    key = f"eval:{sha256_json(to_dict(target.config))}"
    if key not in known:
        known[key] = {
            language: len(target.records(language, target.config.eval_split)) for language in target.eval_languages()
        }
    return PlannedRun(config.name, trained, dict(known[key]), (run_dir / "results.json").is_file())


def plan_study(config: ExperimentConfig) -> StudyPlan:
    """The plan of every run of ``config`` (a study or a single run)."""
    members = expand(config)
    tokenizer = load_tokenizer(members[0].model)
    known: dict[str, Any] = {}
    return StudyPlan([plan_run(member, tokenizer, known) for member in members])


def calibrate(config: ExperimentConfig, steps: int = 6) -> tuple[float, str]:
    """Seconds per optimiser step of the plan's first training stage, measured with real steps on this device.

    Two short trainings (2 and ``2 + steps`` steps, in a scratch directory, nothing cached) are
    timed; their difference over ``steps`` leaves out set-up and the first, slower steps.
    """
    member = expand(config)[0]
    with tempfile.TemporaryDirectory() as tmp:
        stages = [s for s in plan_stages(member, Path(tmp)) if s.fine_tunes]
        if not stages:
            raise ConfigError("nothing in this plan trains (a retrieval target alone): no step to calibrate")
        stage = stages[0]
        # A mixture's step costs about what its first member's does (one task per batch).
        data = stage.tasks[0]
        tokenizer = load_tokenizer(member.model)
        features = data.train_features(tokenizer)
        collator = PaddingCollator(tokenizer.pad_token_id, sequence_labels=data.spec.fine_tuned_kind().sequence_labels)
        seconds = []
        for count in (2, 2 + steps):
            training = dataclasses.replace(
                stage.training, max_steps=count, checkpoint_every_steps=0, checkpoint_every_minutes=0.0
            )
            model = build_model(member.model, member.aggregation, data.spec)
            started = time.perf_counter()
            train_stage(
                model,
                features,
                config=training,
                seed=member.seed,
                work_dir=Path(tmp) / f"calibrate-{count}",
                collator=collator,
                dev_scorer=None,
                stage_name="calibration",
                show_progress=False,
            )
            seconds.append(time.perf_counter() - started)
    device = resolve_device_label()
    return max(seconds[1] - seconds[0], 1e-6) / steps, device


def resolve_device_label() -> str:
    """What the calibration ran on: the GPU's name, or the CPU's model and core count."""
    import os
    import platform

    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs"
