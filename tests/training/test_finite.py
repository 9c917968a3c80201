"""FiniteWatch: non-finite losses and gradient norms are found at the next check, naming the step and the range."""

from __future__ import annotations

import math

import pytest
import torch

from crossling.errors import TrainingError
from crossling.training.finite import CHECK_EVERY_STEPS, FiniteWatch


def test_a_nan_recorded_between_checks_is_reported_with_its_step_and_the_checked_range(tmp_path):
    watch = FiniteWatch("stage 1/1: xnli", tmp_path / "checkpoints", every=4)
    for step in range(1, 5):
        watch.record("loss", torch.tensor(float("nan") if step == 3 else 0.5 * step), step, 1)
    assert [watch.due(step) for step in range(1, 9)] == [False, False, False, True] * 2
    with pytest.raises(TrainingError) as info:
        watch.check()
    message = str(info.value)
    assert "stage 1/1: xnli: loss is nan at step 3 (epoch 1), found by the check of steps 1-4;" in message
    assert "no checkpoint had been written yet" in message and "\n" not in message


def test_finite_values_pass_keep_the_last_loss_and_are_forgotten(tmp_path):
    watch = FiniteWatch("s", tmp_path)
    watch.record("loss", torch.tensor(2.0), 1, 1)
    watch.record("gradient norm", torch.tensor(7.0), 1, 1)
    watch.record("loss", torch.tensor(1.5, dtype=torch.bfloat16), 2, 1)
    watch.check()
    assert watch.last_loss == 1.5
    watch.check()  # nothing pending: no error, the last loss stays
    assert watch.last_loss == 1.5 and CHECK_EVERY_STEPS >= 2


def test_an_infinite_gradient_norm_is_named_as_such(tmp_path):
    watch = FiniteWatch("s", tmp_path)
    watch.record("loss", torch.tensor(1.0), 5, 2)
    watch.record("gradient norm", torch.tensor(math.inf), 5, 2)
    with pytest.raises(
        TrainingError, match=r"s: gradient norm is inf at step 5 \(epoch 2\), found by the check of step 5;"
    ):
        watch.check()
