"""The evaluation profile and figure 5's options derive their account from the recorded numbers (no benchmark runs)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def profile_eval(bench_import):
    return bench_import("profile_eval")


@pytest.fixture(scope="module")
def flops(bench_import):
    return bench_import("flops")


def _run(seconds: float) -> dict:
    return {"seconds": seconds, "load": "0.10 0.10 0.10", "accuracy": 0.5, "languages": 2}


def eval_raw(matmul_seconds: float, *, trainer_seconds: float = 2.0) -> dict:
    """An evaluation-profile record: 2 s of profiled evaluation, crossling 2 s per run, 25% padding at batch 64."""
    seconds = {"autocast": 2.0, "fp32": 4.0, "bf16_weights": 1.6, "autocast_big": 2.0, "trainer": trainer_seconds}
    check = {"same_as_fp32": 1.0, "real_tokens": 75, "padded_tokens": 100}
    return {
        "model": "m",
        "device": "cpu",
        "test_size": 64,
        "languages": 2,
        "rows": 128,
        "real_tokens": 1000,
        "batch_size": 64,
        "big_batch": 256,
        "auto_precision": {"precision": "bf16", "reason": "r"},
        "target": 2.0,
        "profile": {
            "wall_seconds": 2.0,
            "groups": {"matmuls (linear layers)": matmul_seconds, "attention (SDPA)": 0.5, "other operators": 0.3},
            "top_table": "table",
        },
        "checks": {key: dict(check) for key in ("autocast", "fp32", "bf16_weights", "autocast_big")},
        "runs": {key: [_run(value)] * 3 for key, value in seconds.items()},
    }


def test_the_ceiling_is_the_matmul_share_of_the_profiled_time(profile_eval):
    numbers = profile_eval.ceilings(eval_raw(0.5))
    assert numbers["now"] == pytest.approx(1.0)
    assert numbers["matmul_share"] == pytest.approx(0.25)
    assert numbers["ceiling"] == pytest.approx(4.0)
    assert numbers["compute_ceiling"] == pytest.approx(2.0)
    assert numbers["padfree_ceiling"] == pytest.approx(4.0 / 0.75)
    assert numbers["rest_needed"] == pytest.approx(1.0 - 0.5)
    body, rows = profile_eval.render(eval_raw(0.5))
    assert "the ceiling is 4.00x the Trainer loop (within reach of 2.0x)" in body
    assert rows[0]["measured"].startswith("**4.00x** ceiling")


def test_a_matmul_bound_evaluation_is_out_of_reach(profile_eval):
    numbers = profile_eval.ceilings(eval_raw(1.6))
    assert numbers["ceiling"] == pytest.approx(1.25)
    assert numbers["rest_needed"] < 0
    body, rows = profile_eval.render(eval_raw(1.6))
    assert "out of reach of 2.0x" in body and "would not be enough" in body
    assert rows[0]["status"] == "2.0x out of reach without faster matmuls"
    assert "weights cast to bf16 once (no autocast), batch 64, 1.25x the Trainer loop" in body


def test_events_inside_a_data_range_count_as_data_loading(profile_eval):
    collate = SimpleNamespace(name="data: collate", cpu_parent=None)
    copy_in_collate = SimpleNamespace(
        name="aten::copy_", cpu_parent=SimpleNamespace(name="aten::to", cpu_parent=collate)
    )
    assert profile_eval.group_of(copy_in_collate) == "data loading and collation"
    assert profile_eval.group_of(SimpleNamespace(name="aten::copy_", cpu_parent=None)).startswith("dtype casts")
    assert profile_eval.group_of(SimpleNamespace(name="aten::addmm", cpu_parent=None)) == "matmuls (linear layers)"
    assert profile_eval.group_of(SimpleNamespace(name="aten::whatever", cpu_parent=None)) == "other operators"


def _train(seconds: float, examples_per_s: float, precision: str = "bf16") -> dict:
    """A run of 1,000 real tokens (6 GFLOP at P = 1M, no attention term), 20% padding."""
    return {
        "seconds": seconds,
        "real_tokens": 1000,
        "sum_sq_len": 0,
        "padding_fraction": 0.2,
        "examples_per_s": examples_per_s,
        "seconds_per_step": seconds / 4,
        "precision": precision,
    }


def flops_raw() -> dict:
    """Default 50% of a 12 GFLOP/s bf16 peak; dropout fast 60%; fp32 half the default's speed; bf16 weights 90%."""
    base = {"dropout_impl": "torch", "batch_size": 32, "precision": "auto", "bf16_weights": False}
    configs = {
        "default": base,
        "dropout-fast": {**base, "dropout_impl": "fast"},
        "fp32": {**base, "precision": "no"},
        "bf16-weights": {**base, "precision": "no", "bf16_weights": True},
    }
    runs = {
        "default": [_train(1.0, 10.0)] * 3,
        "dropout-fast": [_train(1 / 1.2, 12.0)] * 3,
        "fp32": [_train(2.0, 5.0, "no")] * 3,
        "bf16-weights": [_train(1 / 1.8, 18.0, "no")] * 3,
        "gemm-bf16": [{"flops": 12e9}] * 3,
        "gemm-fp32": [{"flops": 3e9}] * 3,
    }
    return {
        "model": "m",
        "params": 1_000_000,
        "layers": 1,
        "hidden": 1,
        "steps": 6,
        "gemm_size": 64,
        "timing": "wall clock",
        "threads": 2,
        "auto_precision": {"precision": "bf16", "reason": "native"},
        "configs": configs,
        "runs": runs,
    }


def test_utilisation_and_the_padding_free_bound_come_from_the_runs(flops):
    use = flops.utilisation(flops_raw(), "default")
    assert use["bf16"] == pytest.approx([0.5] * 3)
    assert use["fp32"] == pytest.approx([2.0] * 3)
    assert use["padfree"] == pytest.approx([0.625] * 3)


def test_the_summary_reports_the_default_and_the_text_the_best_option_and_ceiling(flops):
    body, rows = flops.render(flops_raw())
    assert rows[0]["measured"].startswith("**50.0%** of the bf16 GEMM peak")
    assert rows[0]["status"] == "met" and "dropout_impl torch" in rows[0]["figure"]
    assert "best option (dropout_impl fast, batch 32, mixed_precision auto (ran bf16)) 60.0%" in rows[0]["measured"]
    assert "it runs 2.00x fp32's examples/s: the choice pays" in body
    assert "reaches 90.0%" in body and "a bound, not an option crossling ships" in body
    assert "would reach 112.5% of the bf16 peak: the 50% target is within reach" in body


def test_without_options_the_figure_is_the_default_alone(flops):
    raw = flops_raw()
    raw["configs"] = {"default": raw["configs"]["default"]}
    body, rows = flops.render(raw)
    assert "Options on the same data" not in body and "best option" not in rows[0]["measured"]
