"""`crossling report`: runs keyed by path (two runs may share a name), Markdown table and chart."""

from __future__ import annotations

from report_fixtures import write_run
from typer.testing import CliRunner

from crossling.cli.main import app
from crossling.reports.report import load_results

runner = CliRunner()


def test_two_runs_with_the_same_name_both_appear_labelled_by_a_unique_path_suffix(tmp_path):
    first = write_run(tmp_path / "lr-small" / "experiment", "experiment", {"en": 90.0, "de": 61.0})
    second = write_run(tmp_path / "lr-large" / "experiment", "experiment", {"en": 80.0, "de": 72.5})
    results = load_results([first, second])
    assert list(results) == ["lr-small/experiment", "lr-large/experiment"]
    assert results["lr-large/experiment"]["languages"]["de"]["accuracy"] == 72.5
    result = runner.invoke(app, ["report", str(first), str(second), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "report.md").read_text()
    assert "| language | lr-small/experiment | lr-large/experiment |" in markdown
    assert "| de | 61.0 | 72.5 |" in markdown


def test_runs_with_distinct_names_are_labelled_by_their_directory_name(tmp_path):
    results = load_results(
        [
            write_run(tmp_path / "x" / "last", "last", {"en": 1.0}),
            write_run(tmp_path / "y" / "dlfa", "dlfa", {"en": 2.0}),
        ]
    )
    assert list(results) == ["last", "dlfa"]
