"""What a report shows beside the table: the data caps, the task, the values on the bars, the average; ensembles too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossling.reports.report import load_results, write_report


def _run_results(name: str, en: float, de: float, **extra) -> dict:
    return {
        "schema": "crossling.results/1",
        "name": name,
        "task": "pawsx",
        "kind": "pair_classification",
        "metric": "accuracy",
        "eval_split": "test",
        "model": "tiny",
        "aggregation": {"strategy": "last", "layer": None},
        "intermediate": [],
        "train_languages": ["en"],
        "data_caps": {"max_train_examples": 100, "max_eval_examples": None},
        "languages": {"en": {"accuracy": en, "count": 40}, "de": {"accuracy": de, "count": 40}},
        "summary": {
            "metric": "accuracy",
            "macro_avg": (en + de) / 2,
            "source": {"en": en},
            "avg_transfer": de,
            "num_languages": 2,
        },
        "selection": {
            "policy": "best-dev",
            "dev_language": "en",
            "dev_split": "dev",
            "selected_step": 4,
            "dev_score": 60.0,
        },
        "stages": [],
        "timing": {"train_seconds": 1.0, "eval_seconds": 1.0},
        **extra,
    }


@pytest.fixture
def runs(tmp_path) -> list[Path]:
    """A fine-tuned run and an ensemble (as `crossling ensemble` writes it), side by side."""
    run = tmp_path / "a" / "experiment"
    ensemble = tmp_path / "ens"
    for directory, result in (
        (run, _run_results("experiment", 80.0, 61.0)),
        (ensemble, _run_results("ens", 84.0, 65.0)),
    ):
        directory.mkdir(parents=True)
        if directory is ensemble:  # an ensemble's results: members, no training or selection
            for key in ("aggregation", "intermediate", "selection", "stages", "timing", "data_caps"):
                result.pop(key)
            result.update(members=[str(run), str(run)], ensemble="mean of probabilities")
        (directory / "results.json").write_text(json.dumps(result), encoding="utf-8")
    return [run, ensemble]


def test_a_report_on_runs_and_ensembles_shows_both(runs, tmp_path):
    text = write_report(load_results(runs), tmp_path / "report", title="mix").read_text(encoding="utf-8")
    assert "| 80.0 | 84.0 |" in text  # en: the run's score, then the ensemble's
    assert "ensemble of 2 runs" in text


def test_the_report_shows_data_caps_task_values_on_bars_and_the_average(runs, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    figures = []
    real_close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figures.append(fig) or real_close(fig))
    path = write_report(load_results(runs[:1]), tmp_path / "report", title="toy")
    text = path.read_text(encoding="utf-8")
    assert "Data caps: max_train_examples 100 (per language); max_eval_examples none." in text
    axes = figures[0].axes[0]
    assert "pawsx" in axes.get_title()
    assert [t.get_text() for t in axes.get_xticklabels()] == ["en", "de", "avg"]
    assert sorted(t.get_text() for t in axes.texts) == ["61.0", "70.5", "80.0"]
