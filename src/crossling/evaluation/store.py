"""The results store: every finished run's per-language scores, flattened config and per-example statistics in SQLite.

One file, ``results.sqlite``, in the directory that holds the runs (a study's or sweep's
directory, or the ``output_dir`` of single runs), beside each run's own ``results.json``.

Why SQLite rather than DuckDB: it is in the standard library (no dependency to install or pin),
its file format is stable across versions, and several worker processes of a study can write
to one file at once: write-ahead logging lets readers proceed during a write, and a busy
timeout makes concurrent writers wait for each other instead of failing. DuckDB is faster at
large analytical scans, but a study's store holds thousands of rows, not billions, and DuckDB
allows only one writing process per file.

A run is recorded in one transaction (its row, its scores, its config, its examples), keyed by
(run path relative to the store, config hash): a kill leaves either the previous state or the
new one, and recording the same run again replaces its rows (idempotent). A run directory holds
one config at a time, so recording it also drops rows of the same path under another config hash.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from crossling.evaluation.example_stats import ExampleStatistic, examples_path, read_example_stats

STORE_NAME = "results.sqlite"
#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_path TEXT NOT NULL, config_hash TEXT NOT NULL, name TEXT NOT NULL, system TEXT NOT NULL,
    seed INTEGER, task TEXT, kind TEXT, metric TEXT, eval_split TEXT, model TEXT, results TEXT NOT NULL,
    PRIMARY KEY (run_path, config_hash));
CREATE TABLE IF NOT EXISTS scores (
    run_path TEXT NOT NULL, config_hash TEXT NOT NULL, language TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_path, config_hash, language, metric));
CREATE TABLE IF NOT EXISTS config (
    run_path TEXT NOT NULL, config_hash TEXT NOT NULL, key TEXT NOT NULL, value TEXT,
    PRIMARY KEY (run_path, config_hash, key));
CREATE TABLE IF NOT EXISTS examples (
    run_path TEXT NOT NULL, config_hash TEXT NOT NULL, language TEXT NOT NULL, metric TEXT NOT NULL,
    example_id TEXT NOT NULL, statistic TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_path, config_hash, language, example_id, statistic));
"""
_CHILD_TABLES = ("scores", "config", "examples")


class ExampleRows(Protocol):
    """Per-example statistics of one language (``crossling.evaluation.example_stats.ExampleStats`` has this shape)."""

    metric: str
    ids: tuple[str, ...]
    stats: np.ndarray  # [N examples, S statistics]

    @property
    def statistic(self) -> Any:
        """An object whose ``columns`` name the S statistics."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{dotted key: leaf}`` of nested mappings (lists stay leaves)."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def config_text(value: Any) -> str | None:
    """How a config leaf is stored: strings as they are, everything else as JSON (``2e-05``, ``true``, ``[\"en\"]``)."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def system_name(run_name: str) -> str:
    """The system a run belongs to: its name without the ``seed=N`` part a study adds (``dlfa,seed=13`` -> ``dlfa``)."""
    parts = [part for part in run_name.split(",") if not part.startswith("seed=")]
    return ",".join(parts) or run_name


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL mode and the tables, retried while another process holds the file during its own set-up.

    Switching to WAL needs a moment of exclusive access, for which SQLite's busy handler does
    not wait; two workers creating the same store at once would otherwise fail with "database is locked".
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """An open store (created if absent) in WAL mode with a busy timeout; closed on exit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as conn:
        _prepare(conn)
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed transaction survives a process kill
        yield conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (take the write lock up front, so concurrent writers queue), commit, or roll back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _number(value: Any) -> float | None:
    """A score as a float (``None`` for non-numbers and NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _insert_run(
    conn: sqlite3.Connection,
    key: tuple[str, str],
    results: Mapping[str, Any],
    config: Mapping[str, Any],
    examples: Mapping[str, ExampleRows],
) -> None:
    """Replace every row of run ``key`` (and of its path under other config hashes) inside the open transaction."""
    for table in ("runs", *_CHILD_TABLES):
        conn.execute(f"DELETE FROM {table} WHERE run_path = ?", (key[0],))
    flat = flatten(config)
    seed = flat.get("seed")
    conn.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            *key,
            results["name"],
            system_name(results["name"]),
            seed if isinstance(seed, int) else None,
            results.get("task"),
            results.get("kind"),
            results.get("metric"),
            results.get("eval_split"),
            results.get("model"),
            json.dumps(results, sort_keys=True),
        ),
    )
    conn.executemany(
        "INSERT INTO scores VALUES (?, ?, ?, ?, ?)",
        [
            (*key, language, metric, _number(value))
            for language, values in results["languages"].items()
            for metric, value in values.items()
            if _number(value) is not None
        ],
    )
    conn.executemany("INSERT INTO config VALUES (?, ?, ?, ?)", [(*key, k, config_text(v)) for k, v in flat.items()])
    for language, rows in examples.items():
        columns = tuple(rows.statistic.columns)
        conn.executemany(
            "INSERT INTO examples VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (*key, language, rows.metric, example_id, column, float(value))
                for example_id, row in zip(rows.ids, np.asarray(rows.stats), strict=True)
                for column, value in zip(columns, row, strict=True)
            ],
        )


def record_run(
    store: Path,
    run_dir: Path,
    results: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    examples: Mapping[str, ExampleRows] | None = None,
) -> tuple[str, str]:
    """Record one finished run (results.json's content, its config as a nested dict) in ``store``, atomically.

    ``examples`` maps a language to its per-example statistics, where the task kind has them
    (default: the run's own ``examples/<task>/<split>-<lang>.safetensors`` files, see ``run_examples``).
    Returns the run's key ``(run path relative to the store's directory, config hash)``.
    """
    key = (run_key(store, run_dir), str(results.get("config_hash") or ""))
    if examples is None:
        examples = run_examples(run_dir, results)
    with connect(store) as conn, transaction(conn):
        _insert_run(conn, key, results, config, examples)
    return key


@dataclass(frozen=True)
class _StoredExampleRows:
    """A run's stored per-example statistics of one language, as ``ExampleRows`` (ids: row numbers)."""

    metric: str
    ids: tuple[str, ...]
    stats: np.ndarray
    statistic: ExampleStatistic


def run_examples(run_dir: Path, results: Mapping[str, Any]) -> dict[str, ExampleRows]:
    """Per language, the statistics the run wrote for its evaluated split (languages without a file are left out).

    The files keep a digest of the example ids, not the ids, so a row's id in the store is its
    position in the evaluated split (the order of the task's test file), the same in every run
    of that data.
    """
    task, split = results.get("task"), results.get("eval_split")
    out: dict[str, ExampleRows] = {}
    if not task or not split:
        return out
    for language in results.get("languages", {}):
        path = examples_path(Path(run_dir), str(task), str(split), language)
        if path.is_file():
            stored = read_example_stats(path)
            ids = tuple(str(i) for i in range(stored.stats.shape[0]))
            out[language] = _StoredExampleRows(stored.metric, ids, stored.stats, stored.statistic)
    return out


def run_key(store: Path, run_dir: Path) -> str:
    """``run_dir`` relative to the store's directory (POSIX), or absolute where it lies outside it."""
    try:
        return Path(run_dir).resolve().relative_to(store.resolve().parent).as_posix()
    except ValueError:
        return Path(run_dir).resolve().as_posix()


def score_rows(store: Path) -> list[dict[str, Any]]:
    """One dict per (run, language, metric): the score, the run's columns and its flattened config (as stored)."""
    with connect(store) as conn:
        conn.row_factory = sqlite3.Row
        configs: dict[tuple[str, str], dict[str, Any]] = {}
        for row in conn.execute("SELECT run_path, config_hash, key, value FROM config"):
            configs.setdefault((row["run_path"], row["config_hash"]), {})[row["key"]] = row["value"]
        query = (
            "SELECT r.run_path, r.config_hash, r.name, r.system, r.seed, r.task, r.kind, r.eval_split, r.model, "
            "r.metric AS run_metric, "
            "s.language, s.metric, s.value FROM scores s JOIN runs r USING (run_path, config_hash) "
            "ORDER BY r.run_path, s.rowid"
        )
        return [{**configs.get((row["run_path"], row["config_hash"]), {}), **dict(row)} for row in conn.execute(query)]


def example_count(store: Path, run_path: str) -> int:
    """Number of per-example statistic rows recorded for the run at ``run_path``."""
    with connect(store) as conn:
        return conn.execute("SELECT COUNT(*) FROM examples WHERE run_path = ?", (run_path,)).fetchone()[0]
