"""Fault-injection helpers: configs for `crossling run` as YAML, the console script in a subprocess, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import crossling as crossling_package
from crossling.cli.main import app

runner = CliRunner()


def base_config(model_dir: Path, data_dir: Path, out: Path, **sections: Any) -> dict[str, Any]:
    """A small pawsx config on the tiny model; ``sections`` replace or extend its sections."""
    config: dict[str, Any] = {
        "name": "fault",
        "output_dir": str(out),
        "seed": 13,
        "model": {"name_or_path": str(model_dir)},
        "task": {"name": "pawsx", "source": "local", "data_dir": str(data_dir), "eval_languages": ["en", "de"]},
        "training": {
            "epochs": 2,
            "batch_size": 16,
            "learning_rate": 1e-3,
            "checkpoint_every_steps": 2,
            "mixed_precision": "no",
        },
        "evaluation": {"batch_size": 32},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    return config


def comparable(results: dict) -> dict:
    """What must match between two runs of one config: scores, counts, selection, dev history (not timings)."""
    languages = {
        lang: {k: v for k, v in scores.items() if k != "seconds"} for lang, scores in results["languages"].items()
    }
    stages = [{k: v for k, v in stage.items() if k != "train_seconds"} for stage in results["stages"]]
    return {"languages": languages, "summary": results["summary"], "selection": results["selection"], "stages": stages}


def predictions(run_dir: Path) -> dict[str, str]:
    """Every prediction file of a run, by name."""
    return {p.name: p.read_text() for p in sorted((run_dir / "predictions").rglob("*")) if p.is_file()}


def write_yaml(path: Path, config: dict[str, Any]) -> Path:
    """Write ``config`` as a YAML file at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def invoke_run(config: Path, *args: str):
    """`crossling run CONFIG --quiet ARGS` in-process; the click Result."""
    return runner.invoke(app, ["run", str(config), "--quiet", *args])


def assert_one_line_error(result, *fragments: str) -> str:
    """Exit code 2, no traceback, and exactly one ``error:`` line containing every fragment; returns it."""
    output = result.output
    assert result.exit_code == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    # Nothing of the message is wrapped onto a following line.
    assert output.rstrip().splitlines()[-1] == errors[0], output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


#: The installed console script (beside the interpreter running the tests, in the project's venv).
CROSSLING = Path(sys.executable).with_name("crossling")


def crossling(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the installed ``crossling`` console script in a subprocess, importing this checkout's ``src``."""
    if not CROSSLING.is_file():
        pytest.skip(f"no installed console script at {CROSSLING} (pip install -e . in this venv)")
    src = str(Path(crossling_package.__file__).resolve().parents[1])
    environment = {**os.environ, "PYTHONPATH": src, "COLUMNS": "80", **(env or {})}
    return subprocess.run(
        [str(CROSSLING), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=600, check=False
    )


def assert_one_line_stderr(proc: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """Exit ``code``, no traceback, and stderr's last line the only ``error:`` line, containing every fragment."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == code, output
    assert "Traceback" not in output, output
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    assert proc.stderr.rstrip().splitlines()[-1] == errors[0], output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
