"""The command line: listings, option docs, and one-line errors instead of tracebacks."""

from __future__ import annotations

from typer.testing import CliRunner

from crossling.cli.main import app

runner = CliRunner()


def test_listings():
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "xnli" in result.output and "pawsx" in result.output
    result = runner.invoke(app, ["strategies"])
    assert result.exit_code == 0 and "dlfa" in result.output and "scalar_mix" in result.output
    result = runner.invoke(app, ["options"])
    assert result.exit_code == 0 and "learning_rate" in result.output


def test_every_command_has_help():
    for command in (
        "run",
        "train",
        "evaluate",
        "report",
        "tasks",
        "strategies",
        "options",
        "convert",
        "ensemble",
        "typology",
        "typology-gain",
        "results",
    ):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_config_error_is_one_line_without_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("trainig: {}\n")
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "unknown key 'trainig'" in result.output and "did you mean training" in result.output
    assert "Traceback" not in result.output


def test_ensemble_and_typology_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["ensemble", str(tmp_path), "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and "at least two run directories" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["ensemble", str(tmp_path / "a"), str(tmp_path / "b"), "--output-dir", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "not a run directory" in result.output
    result = runner.invoke(app, ["typology", "xx", "-c", "en"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "not in URIEL" in result.output or "crossling[typology]" in result.output
