"""What a training stage iterates: one task's features, or a mixture of tasks' features with one task per batch."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from crossling.data.batching import training_batches
from crossling.data.mixing import member_positions, mixture_schedule
from crossling.models.model import HEAD_INDEX

Collator = Callable[[list[dict[str, Any]]], dict[str, Any]]
Prepare = Callable[[DataLoader], Any]

#: Key of a sharded batch's loss weight (``Shard.part``); the training loop pops it before the forward pass.
LOSS_WEIGHT = "crossling_loss_weight"


@dataclass(frozen=True)
class Shard:
    """This process's share of every global batch in a run of ``count`` processes (``accelerate launch``).

    Every process iterates the same global batches (the single-process order) and takes a
    contiguous slice of each (sizes differ by at most one row). Its loss is weighted by
    ``count * units_p / units`` (``units``: the rows, or the labelled tokens where the loss is a
    mean over tokens): accelerate's DDP averages gradients over the processes, so the result is
    the gradient of the mean loss over the whole global batch, as in a single process. A process
    whose slice is empty takes the batch's first row with weight 0 (it must still join the
    gradient all-reduce); so does one whose rows hold no labelled token.

    Args:
        index: This process's index.
        count: Processes of the run.
    """

    index: int
    count: int

    def part(self, batch: list[int], units: Sequence[int]) -> tuple[list[int], float]:
        """This process's rows of ``batch`` and their loss weight; ``units[i]``: the loss terms of row i."""
        base, extra = divmod(len(batch), self.count)
        start = self.index * base + min(self.index, extra)
        rows = batch[start : start + base + (self.index < extra)]
        own, total = sum(units[i] for i in rows), sum(units[i] for i in batch)
        if not own:  # no loss term here: a labelled row of the batch joins the all-reduce with weight 0
            return [next((i for i in batch if units[i]), batch[0])], 0.0
        return rows, self.count * own / total


def _weighted(loader: Any, weights: list[float]) -> Iterator[dict[str, Any]]:
    """The batches of ``loader``, each with its loss weight under ``LOSS_WEIGHT``."""
    for batch, weight in zip(loader, weights, strict=True):
        yield {**batch, LOSS_WEIGHT: weight}


@dataclass
class TaskBatches:
    """One task's training rows in length-grouped batches (``training_batches``), collated by the task kind's collator.

    Args:
        features: Arrow feature rows with a ``length`` column.
        collator: The kind's collator.
        batch_size: Rows per batch.
        seed: Seed of the batch order (per epoch: ``[seed, epoch]``).
        group_by_length: Batch rows of similar length.
        stream: A mixture member's own random stream (``training_batches``); None for a plain stage.
    """

    features: Any
    collator: Collator
    batch_size: int
    seed: int
    group_by_length: bool = True
    stream: int | None = None
    _lengths: list[int] | None = field(default=None, repr=False)
    _units: list[int] | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        """Training rows."""
        return len(self.features)

    def batches_per_epoch(self) -> int:
        """Batches in one pass over the rows."""
        return math.ceil(self.rows / self.batch_size)

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """Row indices of every batch of ``epoch``."""
        if self._lengths is None:
            self._lengths = list(self.features["length"])
        return training_batches(
            self._lengths,
            self.batch_size,
            seed=self.seed,
            epoch=epoch,
            group_by_length=self.group_by_length,
            stream=self.stream,
        )

    def feature_sets(self) -> list[Any]:
        """The feature datasets the batches come from (the active vocabulary reads their token ids)."""
        return [self.features]

    def row_units(self) -> list[int]:
        """Loss terms per row: its labelled tokens where the labels are per token (tagging), else 1."""
        if self._units is None:
            if getattr(self.collator, "sequence_labels", False):
                self._units = [sum(label != -100 for label in labels) for labels in self.features["labels"]]
            else:
                self._units = [1] * self.rows
        return self._units

    def loader(self, epoch: int, start: int, prepare: Prepare, shard: Shard | None = None) -> Any:
        """Batches ``start ..`` of ``epoch``, collated (``prepare``: accelerate's, which moves them to the device)."""
        return self.loader_of(self.epoch_batches(epoch)[start:], prepare, shard)

    def loader_of(self, batches: list[list[int]], prepare: Prepare, shard: Shard | None = None) -> Any:
        """A loader of the given index batches, collated and prepared; with ``shard``, of this process's part of each.

        A sharded loader's batches carry their loss weight under ``LOSS_WEIGHT`` (``Shard``).
        """
        weights = None
        if shard is not None:
            parts = [shard.part(batch, self.row_units()) for batch in batches]
            batches, weights = [rows for rows, _ in parts], [weight for _, weight in parts]
        # A private generator: creating the loader must not draw from the global RNG (resume exactness).
        loader = prepare(
            DataLoader(self.features, batch_sampler=batches, collate_fn=self.collator, generator=torch.Generator())
        )
        return loader if weights is None else _weighted(loader, weights)


class RoutedCollator:
    """A member's collator that adds its head index to every batch (``MixtureModel.forward`` reads it)."""

    def __init__(self, collator: Collator, index: int) -> None:
        self.collator = collator
        self.index = index
        self.pad_token_id = getattr(collator, "pad_token_id", None)
        self.sequence_labels = getattr(collator, "sequence_labels", False)

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        # A tensor, so that every consumer that moves a batch to the device moves it too.
        return {**self.collator(rows), HEAD_INDEX: torch.tensor(self.index)}


@dataclass
class MixtureBatches:
    """A mixture's batches: batch g comes from member ``schedule[g]``, drawn i.i.d. from ``probabilities`` with ``seed``.

    The stage is ``total_batches`` long (its ``max_steps`` times the accumulation), cut into
    ``rounds`` "epochs" that each end with a dev evaluation and a checkpoint. Member i's b-th
    batch is batch ``b mod m_i`` of its own epoch ``b div m_i`` (``m_i``: its batches per pass),
    so a member may be passed over several times or only partly. Everything is a function of
    the seed and the batch number, so a resumed stage continues exactly.

    Args:
        members: Each member's ``TaskBatches`` (their ``stream`` is their index).
        probabilities: Probability of each member per batch (``mixture_probabilities``).
        total_batches: Forward batches of the whole stage.
        rounds: Dev evaluations (epochs) over the stage.
        seed: Seed of the member draw.
    """

    members: Sequence[TaskBatches]
    probabilities: Sequence[float]
    total_batches: int
    rounds: int
    seed: int
    accumulation: int = 1
    _schedule: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.members = [
            TaskBatches(m.features, RoutedCollator(m.collator, i), m.batch_size, m.seed, m.group_by_length, stream=i)
            for i, m in enumerate(self.members)
        ]

    @property
    def schedule(self) -> np.ndarray:
        """The member index of every batch of the stage (``mixture_schedule``)."""
        if self._schedule is None:
            self._schedule = mixture_schedule(self.probabilities, self.total_batches, self.seed)
        return self._schedule

    @property
    def rows(self) -> int:
        """Training rows of all members together."""
        return sum(member.rows for member in self.members)

    def batches_per_epoch(self) -> int:
        """Batches per round: the stage's batches split into ``rounds``, a whole number of optimiser steps each."""
        steps = math.ceil(self.total_batches / self.accumulation)
        return math.ceil(steps / self.rounds) * self.accumulation

    def feature_sets(self) -> list[Any]:
        """Every member's features."""
        return [member.features for member in self.members]

    def member_batches(self) -> list[int]:
        """Batches drawn from each member over the whole stage."""
        return np.bincount(self.schedule, minlength=len(self.members)).tolist()

    def loader(self, epoch: int, start: int, prepare: Prepare, shard: Shard | None = None) -> Iterator[dict[str, Any]]:
        """Batches ``start ..`` of round ``epoch``, each from the member the schedule names (``shard``: this
        process's part of each; the schedule is a function of the seed, so every process draws the same member)."""
        first = epoch * self.batches_per_epoch() + start
        last = min((epoch + 1) * self.batches_per_epoch(), self.total_batches)
        schedule = self.schedule[first:last]
        positions = member_positions(self.schedule, len(self.members))[first:last]
        per_member: list[list[list[int]]] = [[] for _ in self.members]
        cache: dict[tuple[int, int], list[list[int]]] = {}
        for member_index, position in zip(schedule.tolist(), positions.tolist(), strict=True):
            member = self.members[member_index]
            epoch_of, within = divmod(position, member.batches_per_epoch())
            key = (member_index, epoch_of)
            if key not in cache:
                cache[key] = member.epoch_batches(epoch_of)
            per_member[member_index].append(cache[key][within])
        iterators = [
            iter(member.loader_of(batches, prepare, shard))
            for member, batches in zip(self.members, per_member, strict=True)
        ]
        return (next(iterators[member_index]) for member_index in schedule.tolist())


def as_batches(train_features: Any, collator: Collator, *, batch_size: int, seed: int, group_by_length: bool) -> Any:
    """``train_features`` itself when it is already a batch source (a mixture's), else a ``TaskBatches`` over it."""
    if isinstance(train_features, (TaskBatches, MixtureBatches)):
        return train_features
    return TaskBatches(train_features, collator, batch_size, seed, group_by_length)
