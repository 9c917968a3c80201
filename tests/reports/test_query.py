"""`crossling results`: filters, a language x system pivot with seed intervals, CSV/Parquet export, --scan."""

from __future__ import annotations

import csv

import pyarrow.parquet as pq
import pytest
from report_fixtures import fake_results, write_run
from scipy import stats
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.evaluation.store import STORE_NAME, record_run
from crossling.reports.query import cell

runner = CliRunner()
SCORES = {  # system -> seed -> (en, de)
    "last": {1: (90.0, 60.0), 2: (92.0, 64.0), 3: (94.0, 62.0)},
    "dlfa": {1: (91.0, 70.0), 2: (93.0, 71.0), 3: (95.0, 75.0)},
}


@pytest.fixture
def study(tmp_path):
    for system, seeds in SCORES.items():
        for seed, (en, de) in seeds.items():
            name = f"{system},seed={seed}"
            config = {
                "name": name,
                "seed": seed,
                "aggregation": {"strategy": system, "layer": 8 if system == "dlfa" else None},
            }
            record_run(
                tmp_path / STORE_NAME, tmp_path / name, fake_results(name, {"en": en, "de": de}, seed=seed), config
            )
    return tmp_path


def test_the_pivot_gives_the_mean_and_t_interval_over_seeds(study, tmp_path):
    out = tmp_path / "pivot.csv"
    result = runner.invoke(app, ["results", str(study), "--rows", "language", "--cols", "system", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["language"]: row for row in csv.DictReader(out.open())}
    assert float(rows["de"]["dlfa"]) == pytest.approx(72.0)
    low, high = stats.t.interval(0.95, 2, loc=72.0, scale=stats.sem([70.0, 71.0, 75.0]))
    assert float(rows["de"]["dlfa low"]) == pytest.approx(low) and float(rows["de"]["dlfa high"]) == pytest.approx(high)
    assert rows["en"]["last n"] == "3"
    assert "72.0 [" in result.output


def test_where_filters_on_a_config_key_and_parquet_holds_the_same_numbers(study, tmp_path):
    out = tmp_path / "pivot.parquet"
    result = runner.invoke(
        app, ["results", str(study), "--where", "aggregation.layer=8", "--cols", "seed", "--parquet", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out).to_pylist()
    assert [row["language"] for row in table] == ["en", "de"]
    assert [table[1][str(seed)] for seed in (1, 2, 3)] == [70.0, 71.0, 75.0]
    assert "last" not in result.output


def test_another_metric_is_shown_with_metric(study):
    result = runner.invoke(app, ["results", str(study), "--metric", "count", "--where", "system=last"])
    assert result.exit_code == 0 and "10.0 [10.0, 10.0] (n=3)" in result.output


def test_bad_queries_are_one_line_errors(study, tmp_path):
    for args in (["--where", "nokey=1"], ["--where", "novalue"], ["--rows", "nokey"], ["--task", "xnli"]):
        result = runner.invoke(app, ["results", str(study), *args])
        assert result.exit_code == 2 and result.output.startswith("error:"), (args, result.output)
        assert result.output.strip().count("\n") == 0
    result = runner.invoke(app, ["results", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "--scan" in result.output


def test_scan_records_existing_runs_once(tmp_path):
    write_run(tmp_path / "a", "a", {"en": 80.0})
    write_run(tmp_path / "b", "b", {"en": 70.0})
    for _ in range(2):
        result = runner.invoke(app, ["results", str(tmp_path), "--scan"])
        assert result.exit_code == 0 and "recorded 2 runs" in result.output
    assert "80.0" in result.output and "70.0" in result.output


def test_one_value_has_no_interval():
    assert cell([3.0]).low is None and cell([3.0, 3.0]).low == 3.0
