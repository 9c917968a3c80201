"""A study's plan without training: its runs, their stages (cached or to train), steps, evaluation size and cost.

``crossling plan CONFIG`` prints it. Steps are counted exactly as training counts them (features
of every training language, batches, gradient accumulation, epochs or ``max_steps``), so the
features are built (and cached for the run that follows). A stage shared by several runs is
counted once. A task whose ``data_dir`` does not exist here (a full-size study before its
download) is counted from a size table instead (``crossling.tasks.sizes``: the official XTREME /
XTREME-R sizes, or ``--sizes FILE``), and the plan says which counts came from it.

The cost estimate is device time for training and evaluation: the steps still to train times
seconds per optimiser step, plus the test examples of the runs still to run times seconds per
evaluated example (forward passes at the evaluation batch size; model selection on dev during
training is not counted). Both figures are measured by ``--calibrate`` (a few real optimiser
steps of the plan's first stage, then predictions at the evaluation batch size, on this device)
or given with ``--seconds-per-step`` / ``--seconds-per-example`` for another device.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossling.config.loader import data_may_be_absent, to_dict
from crossling.config.schema import ExperimentConfig, TaskConfig, TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.errors import ConfigError, DataError
from crossling.evaluation.predict import predict_logits
from crossling.models.encoder import load_tokenizer
from crossling.models.model import build_model
from crossling.pipelines.experiment import Stage, plan_stages, run_directory
from crossling.pipelines.stages import is_complete
from crossling.pipelines.sweep import expand
from crossling.tasks.loading import TaskData, check_languages
from crossling.tasks.registry import get_task
from crossling.tasks.sizes import SizeTable, load_size_table
from crossling.taskspec import TaskKind
from crossling.training.loop import train_stage
from crossling.utils.io import sha256_json

#: How the plan names where a count came from.
FROM_DATA, FROM_TABLE = "data", "size table"
#: Kinds whose long examples become several training features (the others truncate).
WINDOWED_KINDS = (TaskKind.EXTRACTIVE_QA, TaskKind.TOKEN_CLASSIFICATION)


@dataclass(frozen=True)
class AbsentSource:
    """Stands in for the source of a task whose ``data_dir`` does not exist: it identifies it and reads nothing.

    Its fingerprints name the missing directory, so the stage ids of a planned full-size study
    are stable and distinct from those of any stage trained on real data.
    """

    task: str
    data_dir: Path

    def fingerprint(self, language: str, split: str) -> str:
        """The missing directory, language and split."""
        return f"absent:{self.data_dir}:{language}/{split}"

    def load(self, language: str, split: str) -> Any:
        """Nothing to read: the plan counts this task from the size table."""
        raise DataError(f"{self.task}: data_dir {self.data_dir} does not exist (no {split} file for {language!r})")


def is_absent(config: TaskConfig) -> bool:
    """Whether ``config`` names a local data directory that does not exist on this machine."""
    return config.data_dir is not None and not Path(config.data_dir).is_dir()


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
        counted_from: ``"data"`` (its files, read here) or ``"size table"`` (its data is absent).
    """

    index: int
    task: str
    stage_id: str
    cached: bool
    train_features: int
    steps: int
    counted_from: str = FROM_DATA


@dataclass(frozen=True)
class PlannedRun:
    """One run of the study.

    Args:
        name: Run name.
        stages: Its training stages (none for a retrieval target: it only evaluates).
        eval_examples: Test examples per evaluation language.
        finished: Whether its run directory already holds its results.
        eval_counted_from: Where ``eval_examples`` came from (``"data"`` or ``"size table"``).
    """

    name: str
    stages: tuple[PlannedStage, ...]
    eval_examples: dict[str, int]
    finished: bool
    eval_counted_from: str = FROM_DATA


@dataclass
class StudyPlan:
    """Every run of a study and the totals that decide its cost.

    Args:
        runs: The runs, in order.
        seconds_per_step: Measured or given optimiser-step time (``None``: no training estimate).
        device: What the figures were measured on.
        seconds_per_example: Measured or given time per evaluated example (``None``: evaluation not estimated).
        table_counts: ``task (data_dir)`` of every task counted from the size table, and the table's file.
    """

    runs: list[PlannedRun] = field(default_factory=list)
    seconds_per_step: float | None = None
    device: str = ""
    seconds_per_example: float | None = None
    table_counts: dict[str, str] = field(default_factory=dict)

    def unique_stages(self) -> dict[str, PlannedStage]:
        """Each distinct stage once (stages shared by several runs are trained once)."""
        return {stage.stage_id: stage for run in self.runs for stage in run.stages}

    def totals(self) -> dict[str, Any]:
        """Runs, stages, steps and evaluation examples, with what is still to do, and the estimate if there is one."""
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
            "counted_from": self.counted_from(),
        }
        return {**totals, **self.estimate(totals)}

    def counted_from(self) -> str:
        """``data``, ``size table``, or ``data and size table``: where the plan's counts came from."""
        origins = [s.counted_from for r in self.runs for s in r.stages] + [r.eval_counted_from for r in self.runs]
        if not self.table_counts:
            return FROM_DATA
        return f"{FROM_DATA} and {FROM_TABLE}" if any(FROM_DATA in o for o in origins) else FROM_TABLE

    def estimate(self, totals: dict[str, Any]) -> dict[str, Any]:
        """Device hours for training and evaluation from the per-step and per-example figures (those given)."""
        if self.seconds_per_step is None and self.seconds_per_example is None:
            return {}
        out: dict[str, Any] = {"device": self.device}
        hours = 0.0
        if self.seconds_per_step is not None:
            out["seconds_per_step"] = round(self.seconds_per_step, 4)
            out["estimated_training_hours"] = round(totals["steps_to_train"] * self.seconds_per_step / 3600, 3)
            hours += out["estimated_training_hours"]
        if self.seconds_per_example is not None:
            out["seconds_per_example"] = round(self.seconds_per_example, 5)
            evaluation = totals["eval_examples_to_run"] * self.seconds_per_example / 3600
            out["estimated_evaluation_hours"] = round(evaluation, 3)
            hours += out["estimated_evaluation_hours"]
        out["estimated_device_hours"] = round(hours, 3)
        return out


def steps_of(train_features: int, training: TrainingConfig) -> int:
    """Optimiser steps of a stage, as ``crossling.training.loop.train_stage`` counts them."""
    batches = math.ceil(train_features / training.batch_size)
    per_epoch = math.ceil(batches / training.gradient_accumulation_steps)
    return training.max_steps or per_epoch * training.epochs


@dataclass
class StudyCounter:
    """Counts a study's training features and test examples: from the data where it is here, else from the table.

    The tokenizer and the size table are loaded when first needed; counts are kept by stage id
    and by the target's task config, so a study of many systems reads its data once.

    Args:
        model: The study's model section (its tokenizer counts features).
        sizes: Path of a size table (default: the packaged XTREME / XTREME-R table).
    """

    model: Any
    sizes: Path | None = None
    known: dict[str, Any] = field(default_factory=dict)
    table_counts: dict[str, str] = field(default_factory=dict)
    _tokenizer: Any = None
    _table: SizeTable | None = None

    def tokenizer(self) -> Any:
        """The study's tokenizer (loaded once, only if some data is read)."""
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model)
        return self._tokenizer

    def table(self) -> SizeTable:
        """The size table (loaded once, only if some data is absent)."""
        if self._table is None:
            self._table = load_size_table(self.sizes)
        return self._table

    def task_data(self, config: TaskConfig) -> TaskData:
        """``TaskData`` of a task section; an ``AbsentSource`` stands in for a missing ``data_dir``."""
        if not is_absent(config):
            return TaskData.from_config(config)
        if config.carve:
            raise ConfigError(f"{config.name}: task.carve on an absent data_dir {config.data_dir}: no carved size")
        spec = get_task(config.name)
        check_languages(config, spec)
        self.table_counts[f"{config.name} ({config.data_dir})"] = self.table().source
        return TaskData(config, spec, AbsentSource(config.name, Path(config.data_dir)))

    def train_features(self, data: TaskData) -> tuple[int, str]:
        """Training features of every training language, and where the count came from."""
        if not isinstance(data.source, AbsentSource):
            return len(data.train_features(self.tokenizer())), FROM_DATA
        config, windowed = data.config, data.spec.kind in WINDOWED_KINDS
        table = self.table()
        count = sum(
            table.features(
                config.name, lang, cap=config.max_train_examples, max_length=data.max_length, windowed=windowed
            )
            for lang in config.train_languages
        )
        return count, FROM_TABLE

    def eval_examples(self, data: TaskData) -> tuple[dict[str, int], str]:
        """Test examples per evaluation language (capped as evaluation caps them), and where they came from."""
        split = data.config.eval_split
        if not isinstance(data.source, AbsentSource):
            return {lang: len(data.records(lang, split)) for lang in data.eval_languages()}, FROM_DATA
        cap = data.config.max_eval_examples
        rows = {lang: self.table().rows(data.config.name, split, lang) for lang in data.eval_languages()}
        return {lang: min(n, cap) if cap else n for lang, n in rows.items()}, FROM_TABLE


def _planned_stage(stage: Stage, counter: StudyCounter) -> PlannedStage:
    key = f"stage:{stage.id}"  # the same stage (id) in several runs has the same rows: counted once
    if key not in counter.known:
        counts = [counter.train_features(data) for data in stage.tasks]
        origins = sorted({origin for _, origin in counts})
        counter.known[key] = (sum(n for n, _ in counts), " and ".join(origins))
    features, origin = counter.known[key]
    return PlannedStage(
        stage.index,
        stage.name,
        stage.id,
        is_complete(stage.directory),
        features,
        steps_of(features, stage.training),
        origin,
    )


def plan_run(config: ExperimentConfig, counter: StudyCounter) -> PlannedRun:
    """The plan of one (non-study) run: stages with ids and steps, evaluation sizes, whether it is done.

    ``counter`` holds counts already made for other runs of the study (see ``StudyCounter``).
    """
    run_dir = run_directory(config)
    stages = plan_stages(config, run_dir, make_data=counter.task_data)
    target: TaskData = stages[-1].task
    trained = tuple(_planned_stage(stage, counter) for stage in stages if stage.fine_tunes)
    key = f"eval:{sha256_json(to_dict(target.config))}"
    if key not in counter.known:
        counter.known[key] = counter.eval_examples(target)
    examples, origin = counter.known[key]
    return PlannedRun(config.name, trained, dict(examples), (run_dir / "results.json").is_file(), origin)


def plan_study(config: ExperimentConfig, sizes: Path | None = None) -> StudyPlan:
    """The plan of every run of ``config`` (a study or a single run); absent data is counted from ``sizes``.

    ``config`` may name data directories that do not exist (load it inside
    ``crossling.config.loader.data_may_be_absent``): their tasks are counted from the size table
    at ``sizes`` (default: the packaged XTREME / XTREME-R table), and ``StudyPlan.table_counts``
    lists them.
    """
    with data_may_be_absent():
        members = expand(config)
    counter = StudyCounter(members[0].model, sizes)
    runs = [plan_run(member, counter) for member in members]
    return StudyPlan(runs, table_counts=dict(counter.table_counts))


@dataclass(frozen=True)
class Calibration:
    """Device time measured here for a plan's estimate.

    Args:
        seconds_per_step: One optimiser step of the plan's first training stage.
        seconds_per_example: One evaluated example (forward pass at the evaluation batch size).
        device: What it ran on (``resolve_device_label``).
    """

    seconds_per_step: float
    seconds_per_example: float
    device: str


def calibrate(config: ExperimentConfig, steps: int = 6) -> Calibration:
    """Seconds per optimiser step and per evaluated example of the plan's first training stage, measured here.

    Two short trainings (2 and ``2 + steps`` steps, in a scratch directory, nothing cached) are
    timed; their difference over ``steps`` leaves out set-up and the first, slower steps. The
    trained model then predicts that stage's rows at the evaluation batch size (a warm-up
    batch, then up to four batches timed): the cost of one test example of a run.
    """
    with data_may_be_absent():
        member = expand(config)[0]
    with tempfile.TemporaryDirectory() as tmp:
        stages = [s for s in plan_stages(member, Path(tmp), make_data=_present_data) if s.fine_tunes]
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
        per_example = _seconds_per_prediction(model, features, member.evaluation.batch_size, collator)
    return Calibration(max(seconds[1] - seconds[0], 1e-6) / steps, per_example, resolve_device_label())


def _present_data(config: TaskConfig) -> TaskData:
    """``TaskData.from_config``, or a one-line error saying that calibration needs this task's data here."""
    if is_absent(config):
        raise ConfigError(
            f"--calibrate trains a few real steps, but {config.name}'s data_dir {config.data_dir} is absent here: "
            "give --seconds-per-step and --seconds-per-example measured where the data is"
        )
    return TaskData.from_config(config)


def _seconds_per_prediction(model: Any, features: Any, batch_size: int, collator: Any) -> float:
    """Seconds per row of ``predict_logits`` over up to four batches of ``features``, after one warm-up batch."""
    warm = features.select(range(min(len(features), batch_size)))
    predict_logits(model, warm, batch_size=batch_size, collator=collator)
    timed = features.select(range(min(len(features), 4 * batch_size)))
    started = time.perf_counter()
    predict_logits(model, timed, batch_size=batch_size, collator=collator)
    return max(time.perf_counter() - started, 1e-9) / len(timed)


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
