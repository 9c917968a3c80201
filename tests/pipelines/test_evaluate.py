"""`crossling evaluate`: every evaluation is kept, `report` shows them, a training split is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tiny import WORDS, make_tiny_model_dir, write_pawsx_layout
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.config import build_config
from crossling.config.loader import load_raw
from crossling.evaluation.store import STORE_NAME, score_rows
from crossling.pipelines.experiment import run_experiment

runner = CliRunner()
# The tests evaluate a run that the module fixture trained into the session's stage cache.
pytestmark = pytest.mark.session_stage_cache


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evaluate")
    data = write_pawsx_layout(root / "data", train=64, dev=16, test=20)
    model = make_tiny_model_dir(root / "model", [" ".join(words) for words in WORDS.values()] * 10)
    config = build_config(
        {
            "name": "toy",
            "output_dir": str(root / "runs"),
            "model": {"name_or_path": str(model)},
            "task": {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en"]},
            "training": {"epochs": 1, "batch_size": 16, "learning_rate": 1e-3},
        }
    )
    run_experiment(config, show_progress=False)
    return root / "runs" / "toy"


def test_a_finished_run_is_recorded_in_the_store_of_its_output_directory_once(trained_run):
    store = trained_run.parent / STORE_NAME
    results = json.loads((trained_run / "results.json").read_text())
    rows = [r for r in score_rows(store) if r["metric"] == "accuracy"]
    assert [(r["run_path"], r["language"], r["value"]) for r in rows] == [
        ("toy", "en", results["languages"]["en"]["accuracy"])
    ]
    assert rows[0]["task.name"] == "pawsx" and rows[0]["training.epochs"] == "1"
    # Its per-example statistics too (accuracy: (value, count) per test example), summing to its score.
    with sqlite3.connect(store) as conn:
        value, count, examples = conn.execute(
            "SELECT SUM(CASE statistic WHEN 'value' THEN value END), SUM(CASE statistic WHEN 'count' THEN value END), "
            "COUNT(DISTINCT example_id) FROM examples WHERE run_path = 'toy' AND language = 'en'"
        ).fetchone()
    assert examples == count == 20 and 100 * value / count == pytest.approx(results["languages"]["en"]["accuracy"])
    config = build_config(load_raw(trained_run / "config.yaml"))
    run_experiment(config, show_progress=False)  # already finished: recorded again, nothing added
    assert len(score_rows(store)) == len(results["languages"]["en"])


def test_every_evaluation_is_kept_and_the_report_shows_each(trained_run, tmp_path):
    for language in ("en", "de"):
        result = runner.invoke(app, ["evaluate", str(trained_run), "-l", language, "--quiet"])
        assert result.exit_code == 0, result.output
    kept = sorted((trained_run / "evaluations").glob("*.json"))
    records = [json.loads(path.read_text()) for path in kept]
    assert [list(r["languages"]) for r in records] == [["en"], ["de"]]
    assert [r["evaluation"]["languages"] for r in records] == [["en"], ["de"]]
    assert all(
        r["evaluation"]["split"] == "test"
        and r["evaluation"]["checkpoint"].endswith("model.safetensors")
        and len(r["evaluation"]["checkpoint_sha256"]) == 64
        for r in records
    )
    assert len({r["evaluation"]["id"] for r in records}) == 2

    result = runner.invoke(app, ["report", str(trained_run), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "report.md").read_text()
    assert "| language | toy | toy eval 1 | toy eval 2 |" in markdown
    de = records[1]["languages"]["de"]["accuracy"]
    assert f"| de | - | - | {de:.1f} |" in markdown
    digest = records[1]["evaluation"]["checkpoint_sha256"][:12]
    stage_id = json.loads((trained_run / "stages" / "00-pawsx.json").read_text())["stage_id"]
    assert f"| toy eval 2 | test | de | stages/{stage_id}/model.safetensors ({digest})" in markdown


def test_a_training_split_is_refused_in_one_line(trained_run):
    result = runner.invoke(app, ["evaluate", str(trained_run), "--split", "train"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "--split 'train'" in result.output and "not the training split" in result.output
