"""Soak: small runs killed with SIGKILL at random moments until they finish; every finished run is complete and exact.

Not run in CI (``-m soak`` selects it): ``pytest -m soak tests/faults``. ``CROSSLING_SOAK_RUNS``
sets the number of runs (default 6), ``CROSSLING_SOAK_SEED`` the kill schedule.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import base_config, comparable, predictions, write_yaml

from crossling.config import load_config
from crossling.pipelines.experiment import config_hash, run_experiment

pytestmark = pytest.mark.soak


def run_with_random_kills(config: Path, rng: random.Random, *, max_attempts: int = 25) -> int:
    """Start `python -m crossling run CONFIG` again and again, SIGKILLing it after a random delay, until it
    exits by itself; returns the number of kills. A run that exits with an error fails the test."""
    for kills in range(max_attempts):
        process = subprocess.Popen(
            [sys.executable, "-m", "crossling", "run", str(config), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        delay = rng.uniform(0.2, 12.0)
        started = time.monotonic()
        while process.poll() is None and time.monotonic() - started < delay:
            time.sleep(0.01)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            process.stderr.close()
            check_finished_run(config)
            continue
        error = process.stderr.read().decode()
        process.stderr.close()
        assert process.returncode == 0, f"{config}: the run failed after {kills} kill(s): {error[-2000:]}"
        return kills
    pytest.fail(f"{config}: not finished after {max_attempts} attempts")


def check_finished_run(config_path: Path) -> None:
    """If the run wrote results.json, they are complete: every language scored, predictions for each, no leftovers."""
    config = load_config(config_path)
    run_dir = config.output_dir / config.name
    results_path = run_dir / "results.json"
    if not results_path.exists():
        return
    results = json.loads(results_path.read_text())  # a partial file would not parse
    assert results["config_hash"] == config_hash(config)
    assert set(results["languages"]) == set(config.task.eval_languages)
    for language, scores in results["languages"].items():
        lines = (run_dir / "predictions" / "pawsx" / f"test-{language}.tsv").read_text().splitlines()
        assert len(lines) == scores["count"]
    assert json.loads((run_dir / "manifest.json").read_text())["seed"] == config.seed
    assert not any((run_dir / "stages").rglob("checkpoints")), "a finished run kept its checkpoints"


def test_runs_killed_at_random_finish_with_complete_and_exact_results(tiny_model, pair_data, tmp_path):
    rng = random.Random(int(os.environ.get("CROSSLING_SOAK_SEED", "0")))
    total_kills = 0
    for index in range(int(os.environ.get("CROSSLING_SOAK_RUNS", "6"))):
        strategy = ["last", "dlfa"][index % 2]
        sections = {
            "name": f"soak-{index}",
            "seed": index,
            "aggregation": {"strategy": strategy, **({"layer": 1} if strategy != "last" else {})},
            "training": {"epochs": 3, "checkpoint_every_steps": rng.choice([1, 2, 5])},
        }
        killed = write_yaml(
            tmp_path / f"killed-{index}.yaml", base_config(tiny_model, pair_data, tmp_path / "killed", **sections)
        )
        clean = write_yaml(
            tmp_path / f"clean-{index}.yaml", base_config(tiny_model, pair_data, tmp_path / "clean", **sections)
        )
        total_kills += run_with_random_kills(killed, rng)
        check_finished_run(killed)
        reference = run_experiment(load_config(clean), show_progress=False)
        finished = json.loads((tmp_path / "killed" / f"soak-{index}" / "results.json").read_text())
        assert comparable(finished) == comparable(reference), f"run {index} differs from its uninterrupted twin"
        assert predictions(tmp_path / "killed" / f"soak-{index}") == predictions(tmp_path / "clean" / f"soak-{index}")
    assert total_kills > 0, "no run was ever killed; the soak test tested nothing"
