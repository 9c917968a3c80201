"""Numerical faults: a non-finite loss or out-of-memory stops the run with a one-line error; clipping is on."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from faultkit import assert_one_line_error, invoke_run

from crossling.config.schema import TrainingConfig
from crossling.models.model import CrossLingualModel
from crossling.training.checkpoint import list_checkpoints, verify_checkpoint
from crossling.utils.paths import crossling_home


def fault_at_training_step(monkeypatch, step: int, fault) -> None:
    """Make the ``step``-th training forward pass (1-based) apply ``fault(output)``; dev/eval passes are left alone."""
    original = CrossLingualModel.forward
    calls = {"train": 0}

    def forward(self, *args, **kwargs):
        output = original(self, *args, **kwargs)
        if self.training:
            calls["train"] += 1
            if calls["train"] == step:
                return fault(output)
        return output

    monkeypatch.setattr(CrossLingualModel, "forward", forward)


def _loss_times(value: float):
    def fault(output):
        output["loss"] = output["loss"] * value
        return output

    return fault


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_loss_stops_naming_step_and_stage_and_keeps_the_last_good_checkpoint(
    make_config, monkeypatch, value
):
    fault_at_training_step(monkeypatch, 7, _loss_times(value))
    config = make_config(training={"checkpoint_every_steps": 2})
    result = invoke_run(config)
    (stage,) = (crossling_home() / "stages").glob("*.partial")  # the stage trains there until it is complete
    kept = list_checkpoints(stage / "checkpoints")
    assert [p.name for p in kept] == ["checkpoint-00000006"] and verify_checkpoint(kept[0])
    assert_one_line_error(
        result,
        f"stage 1/1: pawsx: loss is {value}",
        "at step 7 (epoch 1)",
        f"the last good checkpoint is kept: {kept[0]}.",
    )
    assert not (config.parent / "runs" / "fault" / "results.json").exists()


def test_non_finite_loss_before_any_checkpoint_names_no_directory_that_does_not_exist(make_config, monkeypatch):
    fault_at_training_step(monkeypatch, 1, _loss_times(float("nan")))
    result = invoke_run(make_config(training={"checkpoint_every_steps": 2}))
    line = assert_one_line_error(result, "loss is nan at step 1 (epoch 1)", "no checkpoint had been written yet")
    named = [word.rstrip(".;,") for word in line.split() if word.startswith("/")]
    assert all(Path(path).exists() for path in named), named


def test_a_nan_between_finiteness_checks_is_caught_at_the_next_check_naming_its_step_and_range(
    make_config, monkeypatch
):
    fault_at_training_step(monkeypatch, 3, _loss_times(float("nan")))
    result = invoke_run(make_config(training={"checkpoint_every_steps": 0}))  # first check: the first epoch's end
    line = assert_one_line_error(result, "loss is nan at step 3 (epoch 1), found by the check of steps 1-")
    checked_to = int(line.split("found by the check of steps 1-")[1].split(";")[0])
    assert checked_to > 3  # steps after the NaN ran without a host sync; nothing was written after it
    assert "no checkpoint had been written yet" in line


def test_gradient_clipping_is_on_by_default(make_config, monkeypatch):
    assert TrainingConfig().max_grad_norm == 1.0
    norms = []
    original = Accelerator.clip_grad_norm_

    def spy(self, parameters, max_norm, *args, **kwargs):
        norms.append(max_norm)
        return original(self, parameters, max_norm, *args, **kwargs)

    monkeypatch.setattr(Accelerator, "clip_grad_norm_", spy)
    result = invoke_run(make_config(training={"max_steps": 3}))  # the config does not mention max_grad_norm
    assert result.exit_code == 0, result.output
    assert norms == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA error: out of memory"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not enough memory: you tried to allocate"
            " 1 bytes. Out of memory."
        ),
    ],
    ids=["OutOfMemoryError", "cuda-runtime-error", "cpu-allocator"],
)
def test_out_of_memory_suggests_batch_size_and_accumulation(make_config, monkeypatch, error):
    def fault(output):
        raise error

    fault_at_training_step(monkeypatch, 3, fault)
    result = invoke_run(make_config(training={"batch_size": 16, "gradient_accumulation_steps": 2}))
    assert_one_line_error(
        result,
        "stage 1/1: pawsx: out of memory at step 2 (epoch 1)",
        "training.batch_size 16",
        "lower training.batch_size and raise training.gradient_accumulation_steps",
        "effective batch of 32",
    )


def test_other_runtime_errors_are_not_reported_as_out_of_memory(make_config, monkeypatch):
    def fault(output):
        raise RuntimeError("shape mismatch")

    fault_at_training_step(monkeypatch, 1, fault)
    result = invoke_run(make_config())
    assert isinstance(result.exception, RuntimeError) and "shape mismatch" in str(result.exception)
