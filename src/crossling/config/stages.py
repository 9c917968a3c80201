"""Stage sections: an intermediate stage (one task or a mixture of tasks) and the task-diversity axis of a study."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crossling.config.sections import TaskConfig, TrainingConfig
from crossling.config.sections import help_field as _help
from crossling.errors import ConfigError

#: How a mixture stage draws the task of each batch (``crossling.data.mixing.mixture_probabilities``).
SAMPLING_MODES = ("proportional", "temperature", "uniform")
Sampling = Literal["proportional", "temperature", "uniform"]


@dataclass(frozen=True)
class MixtureMemberConfig:
    """One task of a mixture stage; it gets its own head on the shared encoder and aggregation.

    Args:
        task: The member task (its data, languages, caps and dev split, as for any stage).
    """

    task: TaskConfig = _help("A task of the mixture (its own head; shared encoder).", default_factory=TaskConfig)


@dataclass(frozen=True)
class StageConfig:
    """An intermediate fine-tuning stage run before the target task (its encoder weights carry over).

    A stage trains one ``task``, or a ``mixture`` of tasks of any kinds that fine-tune: the
    encoder (and aggregation) are shared, each member has its own head, and every batch comes
    from one member, drawn with probability ``p_i`` (``proportional``: ``p_i ~ n_i``;
    ``temperature``: ``p_i ~ n_i^(1/T)``; ``uniform``: ``1/k``; ``n_i`` = the member's training
    rows). A mixture's budget is ``max_steps`` optimiser steps, whatever the members' sizes.

    Args:
        task: The intermediate task (a plain stage).
        training: Its optimisation settings (a mixture's budget is ``max_steps``, not ``training.epochs``).
        mixture: The member tasks of a mixture stage (then ``task`` is not given).
        sampling: How a mixture draws each batch's task.
        temperature: T of ``temperature`` sampling (T = 1 is proportional, large T approaches uniform).
        max_steps: Optimiser steps of a mixture stage (required for a mixture).
        dev_evaluations: Dev evaluations of a mixture stage, evenly spaced over ``max_steps``; each
            scores the mean of the members' dev metrics, and ``training.select_best`` keeps the best.
    """

    task: TaskConfig = _help("The intermediate task.", default_factory=TaskConfig)
    training: TrainingConfig = _help("Optimisation of the intermediate stage.", default_factory=TrainingConfig)
    mixture: tuple[MixtureMemberConfig, ...] = _help(
        "Tasks trained together in this stage, [{task: {...}}, ...]: shared encoder, one head each, one task per batch.",
        default=(),
    )
    sampling: Sampling = _help(
        "Mixture: each batch's task drawn proportionally to its training rows n_i, by temperature "
        "(p_i ~ n_i^(1/T)) or uniformly.",
        default="proportional",
    )
    temperature: float = _help("Mixture: T of temperature sampling (1 = proportional).", default=1.0)
    max_steps: int | None = _help(
        "Mixture: optimiser steps of the stage (its whole budget; required for a mixture).", default=None
    )
    dev_evaluations: int = _help(
        "Mixture: dev evaluations (mean of the members' dev scores) spread evenly over max_steps.", default=1
    )

    @property
    def is_mixture(self) -> bool:
        """Whether the stage trains a mixture of tasks."""
        return bool(self.mixture)


def check_mixture_settings(
    key: str, *, sampling: str, temperature: float, max_steps: int | None, dev_evaluations: int
) -> None:
    """``ConfigError`` naming ``key.<field>`` for a mixture's sampling settings that do not make sense."""
    if max_steps is None or max_steps < 1:
        got = "nothing" if max_steps is None else max_steps
        raise ConfigError(f"{key}.max_steps: a mixture needs its budget as an integer >= 1 of steps, got {got}")
    if not temperature > 0:
        raise ConfigError(f"{key}.temperature: expected a number > 0, got {temperature}")
    if sampling != "temperature" and temperature != 1.0:
        raise ConfigError(f"{key}.temperature: only used with sampling: temperature (sampling is {sampling!r})")
    if not 1 <= dev_evaluations <= max_steps:
        raise ConfigError(f"{key}.dev_evaluations: expected an integer in [1, max_steps={max_steps}]")


def check_stage(index: int, stage: StageConfig) -> None:
    """``ConfigError`` naming ``intermediate[index].<key>`` for a stage whose keys contradict each other."""
    key = f"intermediate[{index}]"
    defaults = StageConfig()
    if not stage.is_mixture:
        for name in ("sampling", "temperature", "max_steps", "dev_evaluations"):
            if getattr(stage, name) != getattr(defaults, name):
                raise ConfigError(f"{key}.{name}: only applies to a mixture stage (give {key}.mixture, or remove it)")
        return
    if stage.task != defaults.task:
        raise ConfigError(f"{key}.task: a mixture stage names its tasks in {key}.mixture; remove {key}.task")
    check_mixture_settings(
        key,
        sampling=stage.sampling,
        temperature=stage.temperature,
        max_steps=stage.max_steps,
        dev_evaluations=stage.dev_evaluations,
    )
    check_mixture_training(key, stage.training)
    check_mixture_dev_splits(
        [f"{key}.mixture[{i}].task" for i in range(len(stage.mixture))], [member.task for member in stage.mixture]
    )


def check_mixture_training(key: str, training: TrainingConfig) -> None:
    """A mixture's length is its ``max_steps``: ``training.max_steps`` / ``training.epochs`` would contradict it."""
    defaults = TrainingConfig()
    for name in ("max_steps", "epochs"):
        if getattr(training, name) != getattr(defaults, name):
            raise ConfigError(
                f"{key}.training.{name}: a mixture stage trains for {key}.max_steps steps; remove training.{name}"
            )


def check_mixture_dev_splits(keys: list[str], tasks: list[TaskConfig]) -> None:
    """All members select on dev or none does: a mean over some members' dev scores would favour those.

    ``keys`` name each member's task section in messages.
    """
    without = [i for i, task in enumerate(tasks) if task.dev_split == "none"]
    if without and len(without) != len(tasks):
        raise ConfigError(
            f"{keys[without[0]]}.dev_split: none, but other members have a dev split; model "
            "selection scores the mean of every member's dev score, so give all members dev_split: none or none of them"
        )


@dataclass(frozen=True)
class DiversityConfig:
    """Task diversity as a study axis (RQ5): one system per drawn k-subset of ``pool``, trained as a mixture stage.

    Every system adds one intermediate mixture stage (after any in ``intermediate``) of ``k``
    tasks of the pool, with the same ``max_steps`` for every k: the systems differ in how many
    distinct tasks they see, not in how much data. For each k, all k-subsets of the pool are
    used when there are at most ``subsets`` of them; otherwise ``subsets`` distinct ones are
    drawn with ``seed``. Systems are named ``k=<k>,subset=<j>``; the drawn subsets are written
    to ``<study>/diversity.json``.

    Args:
        pool: The candidate tasks (task sections, as in ``task:``).
        k: Mixture sizes.
        subsets: Subsets per k (all of them when fewer exist).
        seed: Seed of the subset draw.
        sampling: How the mixture draws each batch's task.
        temperature: T of ``temperature`` sampling.
        max_steps: Optimiser steps of the mixture stage, the same for every k.
        dev_evaluations: Dev evaluations over ``max_steps`` (mean of the members' dev scores).
        training: Optimisation of the mixture stage (``max_steps`` above is its length).
    """

    pool: tuple[TaskConfig, ...] = _help(
        "Candidate tasks of the diversity axis: task sections like task: ({name: xnli, data_dir: ...}).", default=()
    )
    k: tuple[int, ...] = _help("Mixture sizes: one system per drawn k-subset of the pool.", default=(1, 2, 4))
    subsets: int = _help("k-subsets per k (all of them when there are fewer).", default=3)
    seed: int = _help("Seed of the k-subset draw (the subsets are recorded in diversity.json).", default=0)
    sampling: Sampling = _help(
        "How the mixture draws each batch's task: proportional, temperature or uniform.", default="proportional"
    )
    temperature: float = _help("T of temperature sampling (1 = proportional).", default=1.0)
    max_steps: int | None = _help("Optimiser steps of the mixture stage, equal for every k (required).", default=None)
    dev_evaluations: int = _help("Dev evaluations of the mixture stage, evenly spaced over max_steps.", default=1)
    training: TrainingConfig = _help(
        "Optimisation of the mixture stage (its length is max_steps).", default_factory=TrainingConfig
    )

    @property
    def enabled(self) -> bool:
        """Whether the study has a diversity axis."""
        return bool(self.pool)

    def __post_init__(self) -> None:
        if not self.pool:
            return
        if not self.k or any(k < 1 or k > len(self.pool) for k in self.k) or len(set(self.k)) != len(self.k):
            raise ConfigError(
                f"diversity.k: expected distinct sizes in [1, {len(self.pool)}] (the pool has {len(self.pool)} "
                f"tasks), got {list(self.k)}"
            )
        if self.subsets < 1:
            raise ConfigError(f"diversity.subsets: expected an integer >= 1, got {self.subsets}")
        check_mixture_settings(
            "diversity",
            sampling=self.sampling,
            temperature=self.temperature,
            max_steps=self.max_steps,
            dev_evaluations=self.dev_evaluations,
        )
        check_mixture_training("diversity", self.training)
        check_mixture_dev_splits([f"diversity.pool[{i}]" for i in range(len(self.pool))], list(self.pool))
