"""What may follow what in a pipeline of stages: one table of kinds, checked before any work starts."""

from __future__ import annotations

from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.tasks.registry import get_task
from crossling.taskspec import TaskKind, TaskSpec

_EVERY_KIND = frozenset(TaskKind)

#: Intermediate-stage kind -> the target kinds it may precede. An intermediate stage hands its
#: fine-tuned encoder on, so only kinds that fine-tune are keys: retrieval is absent (it trains
#: nothing). A retrieval target after intermediate stages is scored with their encoder.
MAY_PRECEDE: dict[TaskKind, frozenset[TaskKind]] = {
    TaskKind.PAIR_CLASSIFICATION: _EVERY_KIND,
    TaskKind.TOKEN_CLASSIFICATION: _EVERY_KIND,
    TaskKind.EXTRACTIVE_QA: _EVERY_KIND,
    TaskKind.MULTIPLE_CHOICE: _EVERY_KIND,
    TaskKind.IMAGE_TEXT_ALIGNMENT: _EVERY_KIND,
}


#: Kinds that may be members of a mixture stage: those that train a head on the encoder. Every
#: batch comes from one member, so kinds mix freely; retrieval trains nothing and cannot.
MAY_MIX: frozenset[TaskKind] = frozenset(MAY_PRECEDE)


def check_stages(config: ExperimentConfig) -> None:
    """``ConfigError`` naming the task's key when a stage may not come before the target (``MAY_PRECEDE``)
    or a kind may not be in a mixture (``MAY_MIX``)."""
    target = get_task(config.task.name)
    for index, stage in enumerate(config.intermediate):
        if not stage.is_mixture:
            _check_intermediate(f"intermediate[{index}].task.name", stage.task.name, target)
            continue
        for number, member in enumerate(stage.mixture):
            key = f"intermediate[{index}].mixture[{number}].task.name"
            if get_task(member.task.name).kind not in MAY_MIX:
                raise ConfigError(f"{key}: {member.task.name} fine-tunes nothing, so it cannot be in a mixture")
            _check_intermediate(key, member.task.name, target)


def _check_intermediate(key: str, name: str, target: TaskSpec) -> None:
    """``ConfigError`` naming ``key`` unless a stage of task ``name`` may precede ``target``."""
    spec = get_task(name)
    allowed = MAY_PRECEDE.get(spec.kind)
    if allowed is None:
        raise ConfigError(
            f"{key}: {spec.name} is a {spec.kind} task, which fine-tunes nothing, so it cannot be an intermediate stage"
        )
    if target.kind not in allowed:
        raise ConfigError(
            f"{key}: a {spec.kind} stage ({spec.name}) cannot precede a {target.kind} target ({target.name})"
        )
