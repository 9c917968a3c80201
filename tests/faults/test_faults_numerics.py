"""Numerical faults: a non-finite loss or out-of-memory stops the run with a one-line error; clipping is on."""

from __future__ import annotations

import pytest
import torch
from accelerate import Accelerator
from faultkit import assert_one_line_error, invoke_run

from crossling.config.schema import TrainingConfig
from crossling.models.model import CrossLingualModel
from crossling.training.checkpoint import list_checkpoints, verify_checkpoint


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
    stage = config.parent / "runs" / "fault" / "stages" / "00-pawsx"
    assert_one_line_error(
        result,
        f"stage 1/1: pawsx: loss is {value}",
        "at step 7 (epoch 1)",
        f"the last good checkpoint is kept in {stage / 'checkpoints'}",
    )
    kept = list_checkpoints(stage / "checkpoints")
    assert [p.name for p in kept] == ["checkpoint-00000006"] and verify_checkpoint(kept[0])
    assert not (config.parent / "runs" / "fault" / "results.json").exists()


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
