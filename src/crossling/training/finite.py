"""Finiteness of the training loss and gradient norm, checked every few steps instead of with a host sync per batch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from crossling.errors import TrainingError
from crossling.training.checkpoint import list_checkpoints

#: Optimiser steps between two checks. The loop also checks before every checkpoint, dev evaluation,
#: tracker log and the stage's end, so nothing is written or scored after a non-finite value.
CHECK_EVERY_STEPS = 16


@dataclass
class FiniteWatch:
    """Keeps the loss (and gradient norm) tensors of the steps since the last check; ``check`` looks at them all
    with one host sync.

    ``record`` only keeps a reference to the detached tensor (no device operation, no sync), so a step
    on a GPU does not wait for its loss; ``check`` stacks them, copies them to the host once and
    raises ``TrainingError`` for the first non-finite one, naming its step and epoch, the steps the
    check covered and the newest checkpoint (written before that step, as every checkpoint is
    preceded by a check).

    Args:
        stage_name: The stage, for the error.
        checkpoints: The stage's checkpoint directory, for the error.
        every: Optimiser steps between checks (``due``).
    """

    stage_name: str
    checkpoints: Path
    every: int = CHECK_EVERY_STEPS
    last_loss: float = math.nan
    _pending: list[tuple[str, int, int, torch.Tensor]] = field(default_factory=list, repr=False)

    def record(self, what: str, value: torch.Tensor, step: int, epoch: int) -> None:
        """Keep ``value`` (a scalar tensor: ``loss`` or ``gradient norm``) of optimiser step ``step`` (1-based)."""
        self._pending.append((what, step, epoch, value.detach()))

    def due(self, step: int) -> bool:
        """Whether the loop checks after optimiser step ``step`` (every ``every`` steps)."""
        return step % self.every == 0

    def check(self) -> None:
        """Raise ``TrainingError`` if a value recorded since the last check is NaN or infinite; forget them."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.stack([value.float().reshape(()) for *_, value in pending]).tolist()
        losses = [v for (what, *_), v in zip(pending, values, strict=True) if what == "loss"]
        if losses:
            self.last_loss = losses[-1]
        for (what, step, epoch, _), value in zip(pending, values, strict=True):
            if not math.isfinite(value):
                raise self._error(what, value, step, epoch, (pending[0][1], pending[-1][1]))

    def _error(self, what: str, value: float, step: int, epoch: int, checked: tuple[int, int]) -> TrainingError:
        """The error for a non-finite ``what``, naming the newest checkpoint that exists (or saying there is none)."""
        kept = list_checkpoints(self.checkpoints)
        where = f"the last good checkpoint is kept: {kept[-1]}" if kept else "no checkpoint had been written yet"
        steps = f"step {checked[0]}" if checked[0] == checked[1] else f"steps {checked[0]}-{checked[1]}"
        return TrainingError(
            f"{self.stage_name}: {what} is {value} at step {step} (epoch {epoch}), found by the check of {steps}; "
            f"{where}. Lower training.learning_rate or check the data."
        )
