"""`crossling plan` without the data: counts from the XTREME size table, said as such, and the evaluation estimate."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from tiny import shared_stage_study, write_yaml
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.config import load_config
from crossling.config.loader import data_may_be_absent
from crossling.errors import ConfigError
from crossling.pipelines.plan import FROM_TABLE, PlannedRun, PlannedStage, StudyPlan, plan_study
from crossling.tasks.sizes import load_size_table

FULL_RQ1 = Path(__file__).resolve().parents[2] / "examples" / "full" / "rq1-multilingual-intermediate.yaml"


def test_a_full_size_example_is_planned_from_the_table_with_the_hand_computed_steps(tiny_model):
    with data_may_be_absent():
        config = load_config(FULL_RQ1, [f"model.name_or_path={tiny_model}"])
    study = plan_study(config)
    totals = study.totals()
    # XNLI target: 392,702 MultiNLI pairs / batch 32 = 12,272 batches x 5 epochs = 61,360 steps, once per
    # system and seed (9 stages). PAWS-X intermediate, 2 epochs at batch 32: English 49,401 pairs -> 1,544
    # batches; 7 languages x 7,057 = 49,399 pairs -> 1,544 batches; 3,088 steps, 6 stages (2 systems x 3 seeds).
    assert (totals["stages"], totals["steps"]) == (15, 9 * 61_360 + 6 * 3_088)
    assert totals["eval_examples"] == 9 * 15 * 5_010  # 9 runs, XNLI's 15 languages, 5,010 test pairs each
    assert totals["counted_from"] == FROM_TABLE
    assert {s.counted_from for r in study.runs for s in r.stages} == {FROM_TABLE}
    assert {r.eval_counted_from for r in study.runs} == {FROM_TABLE}
    assert sorted(task.split()[0] for task in study.table_counts) == ["pawsx", "xnli"]


def test_real_data_and_table_counts_mix_and_the_output_says_which(tiny_model, toy_pawsx, tmp_path):
    raw = shared_stage_study(tiny_model, toy_pawsx, tmp_path / "runs", checkpoint_every_steps=0)
    stage = raw["variants"]["inter-a"]["intermediate"][0]
    stage["task"] = {"name": "xnli", "source": "local", "data_dir": str(tmp_path / "absent"), "max_train_examples": 50}
    path = write_yaml(tmp_path / "study.yaml", raw)
    sizes = tmp_path / "sizes.yaml"
    sizes.write_text(yaml.safe_dump({"xnli": {"train": {"en": 70}, "test": {"*": 10}}}), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(path), "--sizes", str(sizes), "--json", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    assert f"counted from the size table {sizes}" in result.output and "xnli" in result.output
    plan = json.loads((tmp_path / "p.json").read_text())
    assert plan["totals"]["counted_from"] == "data and size table"
    absent = [s for r in plan["runs"] for s in r["stages"] if s["counted_from"] == FROM_TABLE]
    training = raw["variants"]["inter-a"]["intermediate"][0]["training"]
    # min(70 rows, cap 50) = 50 pairs: ceil(50 / batch) batches per epoch (pairs are never windowed).
    assert [s["train_features"] for s in absent] == [50]
    assert absent[0]["steps"] == math.ceil(50 / training["batch_size"]) * training.get("epochs", 1)


def test_the_table_reads_caps_windows_and_refuses_a_count_it_lacks(tmp_path):
    table = load_size_table()
    assert table.rows("xnli", "test", "sw") == 5_010 and table.rows("tatoeba", "test", "jv") == 205
    # SQuAD v1.1 train: 87,599 questions x 1.013 windows per question at max_length 384, rounded up.
    assert table.features("xquad", "en", cap=None, max_length=384, windowed=True) == math.ceil(87_599 * 1.013)
    assert table.features("xquad", "en", cap=600, max_length=384, windowed=True) == math.ceil(600 * 1.013)
    assert table.features("pawsx", "en", cap=None, max_length=256, windowed=False) == 49_401
    with pytest.raises(ConfigError, match=r"xquad.windows_per_example: no factor for max_length 256"):
        table.features("xquad", "en", cap=None, max_length=256, windowed=True)
    with pytest.raises(ConfigError, match=r"mlqa.test: no size for language 'sw'"):
        table.rows("mlqa", "test", "sw")
    with pytest.raises(ConfigError, match="no sizes for task 'siqa'"):
        table.rows("siqa", "train", "en")
    bad = tmp_path / "bad.yaml"
    bad.write_text("xnli:\n  train: {en: -3}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: xnli.train.en: expected a positive number"):
        load_size_table(bad)


def test_the_estimate_adds_evaluation_time_for_the_runs_still_to_run():
    stage = PlannedStage(0, "pawsx", "a" * 32, False, 320, 20)
    runs = [
        PlannedRun("one", (stage,), {"en": 1_000, "de": 800}, finished=False),
        PlannedRun("two", (stage,), {"en": 1_000, "de": 800}, finished=True),  # done: nothing to evaluate
    ]
    totals = StudyPlan(runs, seconds_per_step=0.5, device="A100", seconds_per_example=0.01).totals()
    assert totals["estimated_training_hours"] == pytest.approx(20 * 0.5 / 3600, abs=1e-3)
    assert totals["estimated_evaluation_hours"] == pytest.approx(1_800 * 0.01 / 3600, abs=1e-3)
    assert totals["estimated_device_hours"] == pytest.approx(
        totals["estimated_training_hours"] + totals["estimated_evaluation_hours"]
    )
    assert totals["device"] == "A100"
    evaluation_only = StudyPlan(runs, device="A100", seconds_per_example=2.0).totals()
    assert evaluation_only["estimated_device_hours"] == pytest.approx(1_800 * 2.0 / 3600, abs=1e-3)
    assert "estimated_training_hours" not in evaluation_only


def test_calibration_without_the_data_is_a_one_line_error_naming_the_absent_directory(tiny_model):
    result = CliRunner().invoke(
        app, ["plan", str(FULL_RQ1), "--set", f"model.name_or_path={tiny_model}", "--calibrate"]
    )
    assert result.exit_code != 0
    assert (
        "--calibrate trains a few real steps" in result.output and "download/xnli is absent" in result.output
    )  # the first run trains XNLI
