"""Queries of the results store: filter by config or run columns, pivot (mean and 95% interval over seeds), export."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from scipy import stats

from crossling.config.loader import load_raw
from crossling.errors import ConfigError
from crossling.evaluation.store import STORE_NAME, record_run, score_rows
from crossling.reports.results import ensemble_store_config
from crossling.utils.io import atomic_path, read_json


def _normal(text: Any) -> Any:
    """A stored or typed value in comparable form: numbers as floats, JSON/YAML lists and booleans parsed."""
    if isinstance(text, bool) or not isinstance(text, int | float | str):
        return text
    if not isinstance(text, str):
        return float(text)
    try:
        return float(text)
    except ValueError:
        pass
    for parse in (json.loads, yaml.safe_load):
        try:
            parsed = parse(text)
        except (ValueError, yaml.YAMLError):
            continue
        return parsed if isinstance(parsed, str) else _normal(parsed)
    return text


def parse_where(items: Iterable[str]) -> list[tuple[str, Any]]:
    """``KEY=VALUE`` filters (KEY a flattened config key such as ``aggregation.layer``, or a run column)."""
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--where {item!r}: expected KEY=VALUE, e.g. aggregation.strategy=dlfa")
        key, value = item.split("=", 1)
        out.append((key.strip(), _normal(value)))
    return out


def select(
    rows: Sequence[Mapping[str, Any]],
    *,
    where: Sequence[tuple[str, Any]] = (),
    task: str | None = None,
    metric: str | None = None,
) -> list[Mapping[str, Any]]:
    """Rows matching every filter; ``metric`` defaults to each run's own metric (accuracy, F1, ...)."""
    known = set().union(*(row.keys() for row in rows)) if rows else set()
    for key, _ in where:
        if key not in known:
            raise ConfigError(
                f"--where {key}: no such key in the store; known keys include "
                f"{', '.join(sorted(k for k in known if '.' not in k))}"
            )
    return [
        row
        for row in rows
        if (task is None or row["task"] == task)
        and (row["metric"] == metric if metric else row["metric"] == row["run_metric"])
        and all(_normal(row.get(key)) == value for key, value in where)
    ]


@dataclass(frozen=True)
class Cell:
    """One pivot cell: the mean over runs (seeds) and, with two or more, a 95% Student-t interval."""

    mean: float
    low: float | None
    high: float | None
    n: int


def cell(values: Sequence[float]) -> Cell:
    """Mean of ``values`` and its 95% t interval over them (``None`` bounds for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return Cell(mean, None, None, n)
    sem = stats.sem(values)
    if sem == 0 or math.isnan(sem):
        return Cell(mean, mean, mean, n)
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=sem)
    return Cell(mean, float(low), float(high), n)


def pivot(
    rows: Sequence[Mapping[str, Any]], *, row_key: str, col_key: str
) -> tuple[list[str], list[str], dict[tuple[str, str], Cell]]:
    """Row labels, column labels (first-seen order) and the cell of each (row, column) pair."""
    groups: dict[tuple[str, str], list[float]] = {}
    row_labels: list[str] = []
    col_labels: list[str] = []
    for row in rows:
        for key in (row_key, col_key):
            if key not in row:
                raise ConfigError(f"--rows/--cols {key}: no such key in the store")
        r, c = str(row[row_key]), str(row[col_key])
        row_labels += [r] if r not in row_labels else []
        col_labels += [c] if c not in col_labels else []
        groups.setdefault((r, c), []).append(float(row["value"]))
    return row_labels, col_labels, {key: cell(values) for key, values in groups.items()}


def wide_records(
    row_key: str, row_labels: Sequence[str], col_labels: Sequence[str], cells: Mapping[tuple[str, str], Cell]
) -> list[dict[str, Any]]:
    """One flat record per row label: ``<col>`` (mean) and, where any cell has seeds, ``<col> low/high`` and ``<col> n``."""
    with_seeds = any(c.n > 1 for c in cells.values())
    records = []
    for r in row_labels:
        record: dict[str, Any] = {row_key: r}
        for c in col_labels:
            found = cells.get((r, c))
            record[c] = found.mean if found else None
            if with_seeds:
                record[f"{c} low"] = found.low if found else None
                record[f"{c} high"] = found.high if found else None
                record[f"{c} n"] = found.n if found else 0
        records.append(record)
    return records


def write_csv(records: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """The records as CSV (header from the first record), written atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]) if records else [])
        writer.writeheader()
        writer.writerows(records)
    return path


def write_parquet(records: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """The records as a Parquet table (pyarrow), written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(list(records)), tmp)
    return path


def store_rows(directory: Path) -> list[dict[str, Any]]:
    """Every score row of ``directory``'s store; a one-line error where there is none."""
    path = directory / STORE_NAME
    if not path.is_file():
        raise ConfigError(
            f"{directory}: no {STORE_NAME} (runs record into it as they finish; "
            "`crossling results DIR --scan` records existing results.json files)"
        )
    return score_rows(path)


def scan(directory: Path) -> int:
    """Record every ``results.json`` under ``directory`` (with its run's ``config.yaml``) into the store; returns how many."""
    count = 0
    for results_file in sorted(directory.rglob("results.json")):
        config_file = results_file.parent / "config.yaml"
        results = read_json(results_file)
        if "languages" not in results:
            continue  # another tool's file
        if config_file.is_file():
            config = load_raw(config_file)
        elif isinstance(results.get("ensemble"), dict) and "members" in results:
            config = ensemble_store_config(results)  # written by `crossling ensemble`: no config of its own
        else:
            continue
        record_run(directory / STORE_NAME, results_file.parent, results, config)
        count += 1
    return count
