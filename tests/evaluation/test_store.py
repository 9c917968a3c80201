"""The SQLite results store: idempotent recording, atomic under SIGKILL, several writing processes at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from report_fixtures import fake_results

from crossling.evaluation.store import STORE_NAME, example_count, record_run, score_rows, system_name

SRC = Path(__file__).resolve().parents[2] / "src"


def _counts(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as conn:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "scores", "config", "examples")
        }


def test_a_run_is_recorded_with_scores_and_flat_config_and_recording_again_changes_nothing(tmp_path):
    store = tmp_path / STORE_NAME
    results = fake_results("dlfa,seed=13", {"en": 90.0, "de": 70.5})
    config = {
        "name": "dlfa,seed=13",
        "seed": 13,
        "aggregation": {"strategy": "dlfa", "layer": 8},
        "training": {"learning_rate": 2e-5},
        "task": {"eval_languages": ["en", "de"]},
    }
    key = record_run(store, tmp_path / "dlfa,seed=13", results, config)
    assert key == ("dlfa,seed=13", "hash-dlfa,seed=13-13")
    before = _counts(store)
    record_run(store, tmp_path / "dlfa,seed=13", results, config)
    assert _counts(store) == before == {"runs": 1, "scores": 4, "config": 6, "examples": 0}
    rows = {(r["language"], r["metric"]): r for r in score_rows(store)}
    assert rows[("de", "accuracy")]["value"] == 70.5 and rows[("de", "count")]["value"] == 10
    de = rows[("de", "accuracy")]
    assert (de["system"], de["seed"], de["aggregation.strategy"], de["aggregation.layer"]) == ("dlfa", 13, "dlfa", "8")
    assert de["training.learning_rate"] == "2e-05" and de["task.eval_languages"] == '["en", "de"]'


def test_rerunning_a_directory_with_another_config_replaces_its_rows(tmp_path):
    store = tmp_path / STORE_NAME
    record_run(store, tmp_path / "run", fake_results("run", {"en": 50.0}), {"seed": 1})
    changed = {**fake_results("run", {"en": 60.0}), "config_hash": "other"}
    record_run(store, tmp_path / "run", changed, {"seed": 1})
    assert [(r["config_hash"], r["value"]) for r in score_rows(store) if r["metric"] == "accuracy"] == [("other", 60.0)]


@dataclass
class _Statistic:
    columns: tuple[str, ...]


@dataclass
class _Examples:
    metric: str
    ids: tuple[str, ...]
    stats: np.ndarray
    statistic: _Statistic


def test_per_example_statistics_are_stored_one_row_per_example_and_statistic(tmp_path):
    store = tmp_path / STORE_NAME
    examples = {
        "de": _Examples(
            "accuracy", ("a", "b", "c"), np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0]]), _Statistic(("value", "count"))
        )
    }
    record_run(store, tmp_path / "r", fake_results("r", {"de": 66.7}), {"seed": 1}, examples=examples)
    assert example_count(store, "r") == 6
    with sqlite3.connect(store) as conn:
        correct = conn.execute("SELECT SUM(value) FROM examples WHERE statistic = 'value'").fetchone()[0]
    assert correct == 2.0


_SLOW_WRITER = """
import sys, time
from pathlib import Path
from crossling.evaluation import store
from report_fixtures import fake_results
path = Path(sys.argv[1])
original = store._insert_run
def slow(conn, key, results, config, examples):
    original(conn, key, results, config, examples)
    Path(sys.argv[2]).write_text("inside")   # every row written, transaction still open
    time.sleep(60)
store._insert_run = slow
store.record_run(path, path.parent / "r", fake_results("r", {"en": 99.0, "de": 99.0}), {"seed": 2})
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).resolve().parents[1])])}


def test_a_writer_killed_inside_its_transaction_leaves_the_previous_rows(tmp_path):
    store = tmp_path / STORE_NAME
    record_run(store, tmp_path / "r", fake_results("r", {"en": 10.0}), {"seed": 1})
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(store), str(marker)], env=_env())
    deadline = time.monotonic() + 120
    while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the writer never reached its transaction"
    child.send_signal(signal.SIGKILL)
    child.wait()
    with sqlite3.connect(store) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert [(r["language"], r["value"]) for r in score_rows(store) if r["metric"] == "accuracy"] == [("en", 10.0)]


_WRITER = """
import sys
from pathlib import Path
from crossling.evaluation.store import record_run
from report_fixtures import fake_results
path, worker = Path(sys.argv[1]), int(sys.argv[2])
for seed in range(5):
    name = f"w{worker},seed={seed}"
    record_run(path, path.parent / name, fake_results(name, {"en": float(seed), "de": float(worker)}), {"seed": seed})
"""


def test_several_processes_record_into_one_store_at_once(tmp_path):
    store = tmp_path / STORE_NAME
    children = [subprocess.Popen([sys.executable, "-c", _WRITER, str(store), str(w)], env=_env()) for w in range(4)]
    assert [child.wait(timeout=300) for child in children] == [0, 0, 0, 0]
    assert _counts(store)["runs"] == 20
    assert sorted({r["system"] for r in score_rows(store)}) == ["w0", "w1", "w2", "w3"]


def test_the_system_of_a_run_is_its_name_without_the_seed():
    assert system_name("dlfa,seed=13") == "dlfa"
    assert system_name("seed=13") == "seed=13"
    assert system_name("layer=8,dlfa") == "layer=8,dlfa"
