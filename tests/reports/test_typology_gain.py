"""crossling typology-gain: gains from study.json against distances to the system's intermediate languages, JSON and PNG."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.reports.typology_gain import typology_gain
from crossling.utils.typology import typological_distance

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("lang2vec") is None,
    reason="lang2vec (URIEL data) is not installed: pip install 'crossling[typology]'",
)
GAINS = {"en": 0.5, "de": 1.0, "es": -0.5, "fr": 0.0, "ja": 3.0, "ko": 2.5, "zh": 1.5}


def _study(tmp_path: Path) -> Path:
    """A finished study's files: study.json (nearest vs baseline) and the nearest run's resolved config.yaml."""
    study_dir = tmp_path / "rq2"
    comparisons = {lang: {"diff": gain, "low": gain - 1, "high": gain + 1} for lang, gain in GAINS.items()}
    study = {
        "schema": "crossling.study/1",
        "metric": "accuracy",
        "baseline": "baseline",
        "seeds": [1, 2],
        "comparisons": {"nearest": {"languages": comparisons, "averages": {}}},
    }
    (study_dir / "nearest,seed=1").mkdir(parents=True)
    (study_dir / "study.json").write_text(json.dumps(study))
    config = {
        "task": {"name": "pawsx", "train_languages": ["en"]},
        "intermediate": [{"task": {"name": "xnli", "train_languages": ["ko", "zh"]}}],
    }
    (study_dir / "nearest,seed=1" / "config.yaml").write_text(yaml.safe_dump(config))
    return study_dir


def test_gain_is_read_from_study_json_and_distance_is_the_mean_to_the_intermediate_languages(tmp_path):
    study_dir = _study(tmp_path)
    result, document, path = typology_gain(study_dir, "nearest", n_resamples=500)
    assert set(result.points) == set(GAINS) - {"en"} and document["left_out"] == ["en"]
    for language, (distance, gain) in result.points.items():
        expected = (typological_distance(language, "ko") + typological_distance(language, "zh")) / 2
        assert distance == pytest.approx(expected) and gain == GAINS[language]
    on_disk = json.loads(path.read_text())
    assert on_disk["references"] == ["ko", "zh"] and on_disk["spearman"]["statistic"] == result.spearman.statistic
    assert "scipy.stats.bootstrap" in on_disk["interval_method"]
    png = path.with_suffix(".png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert not list(study_dir.glob(".*.tmp"))  # written atomically, nothing left behind


def test_cli_prints_both_correlations_and_to_overrides_the_references(tmp_path):
    study_dir = _study(tmp_path)
    result = CliRunner().invoke(
        app, ["typology-gain", str(study_dir), "--system", "nearest", "--to", "ja", "--resamples", "200"]
    )
    assert result.exit_code == 0, result.output
    assert "Spearman rho" in result.output and "Pearson r" in result.output
    document = json.loads((study_dir / "typology-gain-nearest.json").read_text())
    assert document["references"] == ["ja"] and document["points"]["ja"]["distance"] == pytest.approx(0.0)


def test_cli_errors_are_one_line(tmp_path):
    study_dir = _study(tmp_path)
    result = CliRunner().invoke(app, ["typology-gain", str(study_dir), "--system", "farthest"])
    assert result.exit_code == 2 and "--system: 'farthest' is not compared" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
