"""What a stage trains: its model, its batches and its dev scorer, for one task or a mixture of tasks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from crossling.config.schema import ExperimentConfig, StageConfig, TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.data.mixing import mixture_probabilities
from crossling.errors import ConfigError
from crossling.evaluation.predict import predict_logits
from crossling.models.model import CrossLingualModel, build_mixture_model, build_model
from crossling.tasks.loading import TaskData
from crossling.taskspec import TaskSpec
from crossling.training.batches import MixtureBatches, RoutedCollator, TaskBatches

DevScorer = Callable[[torch.nn.Module], float]

#: The settings of a mixture stage that its stage id covers (besides its members' tasks and data).
MIXTURE_KEYS = ("sampling", "temperature", "max_steps", "dev_evaluations")


@dataclass
class Stage:
    """One training stage of the pipeline (an intermediate task, a mixture of tasks, or the target task).

    Args:
        index: Position in the pipeline.
        tasks: Task data of the stage: its one task, or a mixture's members in order.
        training: Its optimisation settings (a mixture's with ``max_steps`` set to its budget).
        id: Its content address in the stage cache (``crossling.pipelines.stages``).
        directory: Where the finished stage lives in the cache (its weights and report).
        pointer: The run directory's file naming the stage's id.
        mixture: The stage's config when it is a mixture, else None.
    """

    index: int
    tasks: tuple[TaskData, ...]
    training: TrainingConfig
    id: str
    directory: Path
    pointer: Path
    mixture: StageConfig | None = None

    @property
    def task(self) -> TaskData:
        """The task of a single-task stage (a mixture has several: ``tasks``)."""
        if self.mixture is not None:
            raise ValueError(f"stage {self.index} is a mixture of {self.name}; use Stage.tasks")
        return self.tasks[0]

    @property
    def name(self) -> str:
        """The task's name, or the members' joined by ``+`` (``xnli+udpos``)."""
        return "+".join(data.spec.name for data in self.tasks)

    @property
    def fine_tunes(self) -> bool:
        """Whether the stage trains (every kind but retrieval; a mixture's members all fine-tune)."""
        return all(data.spec.kind_plugin.fine_tunes for data in self.tasks)

    @property
    def num_train_examples(self) -> int:
        """Training examples (sentences, questions) of the stage's task or all its members."""
        return sum(data.num_train_examples for data in self.tasks)

    def mixture_key(self) -> dict[str, Any] | None:
        """The mixture settings its stage id covers (``MIXTURE_KEYS``); None for a single-task stage."""
        if self.mixture is None:
            return None
        return {key: getattr(self.mixture, key) for key in MIXTURE_KEYS}


def stage_training(stage: StageConfig) -> TrainingConfig:
    """The training settings a stage trains with: a mixture's ``max_steps`` is its length."""
    if stage.is_mixture:
        return dataclasses.replace(stage.training, max_steps=stage.max_steps)
    return stage.training


def collator_for(tokenizer: Any, spec: TaskSpec) -> PaddingCollator:
    """Dynamic padding; per-token labels are padded along the sequence for kinds that have them."""
    return PaddingCollator(tokenizer.pad_token_id, sequence_labels=spec.fine_tuned_kind().sequence_labels)


def stage_model(config: ExperimentConfig, stage: Stage, encoder: torch.nn.Module | None) -> CrossLingualModel:
    """A new model for ``stage`` on ``encoder`` (the previous stage's, or loaded): one head, or one per member."""
    if stage.mixture is not None:
        return build_mixture_model(config.model, config.aggregation, [t.spec for t in stage.tasks], encoder=encoder)
    return build_model(config.model, config.aggregation, stage.task.spec, encoder=encoder)


def stage_batches(stage: Stage, tokenizer: Any, seed: int) -> Any:
    """What ``train_stage`` iterates: the task's training features, or a mixture's ``MixtureBatches``.

    A mixture draws each batch's member from ``mixture_probabilities`` of the members' training
    rows, with ``seed`` (the stage's seed); its length is ``max_steps`` optimiser steps.
    """
    if stage.mixture is None:
        return stage.task.train_features(tokenizer)
    training = stage.training
    members = [
        TaskBatches(
            data.train_features(tokenizer),
            collator_for(tokenizer, data.spec),
            training.batch_size,
            seed,
            group_by_length=training.group_by_length,
        )
        for data in stage.tasks
    ]
    try:
        probabilities = mixture_probabilities(
            [m.rows for m in members], stage.mixture.sampling, stage.mixture.temperature
        )
    except ValueError as exc:
        raise ConfigError(f"intermediate[{stage.index}].mixture: {exc}") from None
    assert training.max_steps is not None  # set by stage_training
    return MixtureBatches(
        members,
        probabilities.tolist(),
        total_batches=training.max_steps * training.gradient_accumulation_steps,
        rounds=stage.mixture.dev_evaluations,
        seed=seed,
        accumulation=training.gradient_accumulation_steps,
    )


def stage_collator(stage: Stage, tokenizer: Any) -> PaddingCollator:
    """The collator ``train_stage`` gets (a mixture's batches carry their members' own collators)."""
    return collator_for(tokenizer, stage.tasks[0].spec)


def _task_dev_scorer(
    data: TaskData, tokenizer: Any, batch_size: int, precision: str, collator: Any
) -> DevScorer | None:
    """The task's metric on the dev split of its first training language (None with ``dev_split: none``)."""
    if data.config.dev_split == "none":
        return None
    language = data.config.train_languages[0]
    features = data.features(language, data.config.dev_split, tokenizer)

    def dev_score(model: torch.nn.Module) -> float:
        logits = predict_logits(model, features, batch_size=batch_size, collator=collator, mixed_precision=precision)
        records = data.records(language, data.config.dev_split)
        plugin = data.spec.fine_tuned_kind()
        return plugin.score(data.spec, logits, features, records, language=language).metrics[data.spec.metric]

    return dev_score


def member_dev_scorers(stage: Stage, tokenizer: Any, batch_size: int, precision: str) -> list[DevScorer | None]:
    """Each member's dev scorer (its own metric, through its own head), None for a member without a dev split."""
    return [
        _task_dev_scorer(data, tokenizer, batch_size, precision, RoutedCollator(collator_for(tokenizer, data.spec), i))
        for i, data in enumerate(stage.tasks)
    ]


def dev_scorer(stage: Stage, tokenizer: Any, batch_size: int, precision: str) -> DevScorer | None:
    """Model selection's score: the task's dev metric; for a mixture, the mean of its members' dev metrics.

    A mixture's members all have a dev split or none has (``check_mixture_dev_splits``):
    with ``dev_split: none`` there is no selection and the last weights are kept.
    """
    if stage.mixture is None:
        return _task_dev_scorer(stage.task, tokenizer, batch_size, precision, collator_for(tokenizer, stage.task.spec))
    scorers = member_dev_scorers(stage, tokenizer, batch_size, precision)
    if any(scorer is None for scorer in scorers):
        return None
    return lambda model: float(np.mean([scorer(model) for scorer in scorers]))  # type: ignore[misc]


def mixture_record(stage: Stage, batches: Any) -> dict[str, Any] | None:
    """What results.json records of a mixture stage: members, sampling, probabilities, seed, batches drawn per member."""
    if stage.mixture is None or not isinstance(batches, MixtureBatches):
        return None
    return {
        "members": [data.spec.name for data in stage.tasks],
        **(stage.mixture_key() or {}),
        "probabilities": [round(p, 6) for p in batches.probabilities],
        "member_rows": [m.rows for m in batches.members],
        "member_batches": batches.member_batches(),
        "seed": batches.seed,
    }
