"""What may follow what in a pipeline of stages: one table of kinds, checked before any work starts."""

from __future__ import annotations

from crossling.config.schema import ExperimentConfig
from crossling.errors import ConfigError
from crossling.tasks.registry import get_task
from crossling.taskspec import TaskKind

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


def check_stages(config: ExperimentConfig) -> None:
    """``ConfigError`` naming ``intermediate[i].task.name`` when a stage may not come before the target (``MAY_PRECEDE``)."""
    target = get_task(config.task.name)
    for index, stage in enumerate(config.intermediate):
        spec = get_task(stage.task.name)
        allowed = MAY_PRECEDE.get(spec.kind)
        if allowed is None:
            raise ConfigError(
                f"intermediate[{index}].task.name: {spec.name} is a {spec.kind} task, which fine-tunes "
                "nothing, so it cannot be an intermediate stage"
            )
        if target.kind not in allowed:
            raise ConfigError(
                f"intermediate[{index}].task.name: a {spec.kind} stage ({spec.name}) cannot precede a "
                f"{target.kind} target ({target.name})"
            )
