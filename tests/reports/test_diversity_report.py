"""A study with a diversity axis: the report plots and tabulates the transfer average against k, with intervals."""

from __future__ import annotations

import json

from crossling.reports.diversity import DIVERSITY_FILE, diversity_points, diversity_section


def _study() -> dict:
    cells = {"k=1,subset=1": (60.0, 55.0, 65.0), "k=1,subset=2": (62.0, 58.0, 66.0), "k=2,subset=1": (64.5, 60.0, 69.0)}
    return {
        "metric": "squad_f1",
        "systems": {
            name: {"averages": {"transfer": {"mean": m, "low": lo, "high": hi, "n_seeds": 3}}}
            for name, (m, lo, hi) in cells.items()
        },
    }


def _diversity() -> dict:
    return {
        "systems": {
            "k=1,subset=1": {"k": 1, "tasks": ["xnli"]},
            "k=1,subset=2": {"k": 1, "tasks": ["udpos"]},
            "k=2,subset=1": {"k": 2, "tasks": ["xnli", "udpos"]},
        }
    }


def test_points_pair_each_system_with_its_k_and_interval():
    assert diversity_points(_study(), _diversity()) == [
        (1, "k=1,subset=1", 60.0, 55.0, 65.0),
        (1, "k=1,subset=2", 62.0, 58.0, 66.0),
        (2, "k=2,subset=1", 64.5, 60.0, 69.0),
    ]


def test_the_section_writes_the_plot_and_a_row_per_system(tmp_path):
    (tmp_path / DIVERSITY_FILE).write_text(json.dumps(_diversity()))
    lines = diversity_section(tmp_path, _study())
    assert "| 2 | k=2,subset=1 | 64.5 [60.0, 69.0] |" in lines
    assert (tmp_path / "diversity.png").read_bytes().startswith(b"\x89PNG")


def test_no_section_without_a_diversity_axis_or_a_study(tmp_path):
    assert diversity_section(tmp_path, _study()) == []
    (tmp_path / DIVERSITY_FILE).write_text(json.dumps(_diversity()))
    assert diversity_section(tmp_path, None) == []


def test_the_html_report_shows_the_metric_against_k(tmp_path):
    from crossling.reports.html import write_html_report

    (tmp_path / DIVERSITY_FILE).write_text(json.dumps(_diversity()))
    study = {**_study(), "baseline": "k=1,subset=1", "seeds": [13], "method": "m", "comparisons": {}}
    for system in study["systems"].values():
        system["languages"] = {"en": {"mean": 1.0, "low": 0.0, "high": 2.0}}
    results = {"run": {"task": "mlqa", "model": "m", "train_languages": ["en"], "eval_split": "dev", "metric": "f1"}}
    page = write_html_report(results, tmp_path, title="rq5", study=study).read_text()
    assert "<h2>Task diversity</h2>" in page and "64.5 [60.0, 69.0]" in page
