"""A run or sweep report: Markdown with the per-language table and a PNG bar chart, written beside the results."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossling.errors import ConfigError
from crossling.reports.diversity import diversity_section
from crossling.reports.html import STUDY_SCHEMA, write_html_report
from crossling.reports.plots import per_language_bars
from crossling.reports.tables import markdown_table
from crossling.utils.io import atomic_write_text, read_json


def unique_labels(paths: list[Path]) -> list[str]:
    """The shortest path suffix that tells each run directory apart (``a/experiment`` vs ``b/experiment``)."""
    parts = [Path(p).resolve().parts for p in paths]
    depth = [1] * len(parts)
    while True:
        labels = ["/".join(p[-d:]) for p, d in zip(parts, depth, strict=True)]
        clashing = {label for label in labels if labels.count(label) > 1}
        grown = [
            d + 1 if label in clashing and d < len(p) else d for p, d, label in zip(parts, depth, labels, strict=True)
        ]
        if grown == depth:
            return labels
        depth = grown


def run_directories(paths: list[Path]) -> list[Path]:
    """Run directories of ``paths``: each run itself, or every member of a sweep directory (its ``sweep.json``)."""
    out: list[Path] = []
    for path in paths:
        if (path / "sweep.json").is_file():
            out += [Path(results_file).parent for results_file in read_json(path / "sweep.json")["members"].values()]
        elif (path / "results.json").is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: neither results.json nor sweep.json")
    return out


def load_results(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Results of run directories (or of every member of a sweep directory), keyed by a unique path suffix.

    Keyed by path, not by run name: two runs may share a name (the default name is ``experiment``).
    Each run's kept evaluations (``evaluations/*.json`` from ``crossling evaluate``) follow it,
    labelled ``<run> eval <n>`` in the order they were made.
    """
    runs = run_directories(paths)
    out: dict[str, dict[str, Any]] = {}
    for label, run in zip(unique_labels(runs), runs, strict=True):
        out[label] = read_json(run / "results.json")
        for n, path in enumerate(sorted((run / "evaluations").glob("*.json")), start=1):
            out[f"{label} eval {n}"] = read_json(path)
    return out


def load_study(directory: Path) -> dict[str, Any] | None:
    """``directory/study.json`` (a study's statistics, schema ``crossling.study/1``), or None where there is none."""
    path = directory / "study.json"
    if not path.is_file():
        return None
    study = read_json(path)
    if study.get("schema") != STUDY_SCHEMA:
        raise ConfigError(f"{path}: schema {study.get('schema')!r}, expected {STUDY_SCHEMA!r}")
    return study


def write_report(
    results: Mapping[str, Mapping[str, Any]],
    directory: Path,
    *,
    title: str,
    chance: float | None = None,
    notes: str = "",
    study: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``report.md``, ``per_language.png`` and ``report.html`` into ``directory``; returns the Markdown path.

    ``study`` (default: ``directory/study.json`` where present) gives the HTML report its intervals
    and significance; without it the HTML report says "one seed, no interval".
    """
    first = next(iter(results.values()))
    png = per_language_bars(results, directory / "per_language.png", title=f"{title}: {first['task']}", chance=chance)
    lines = [
        f"# {title}",
        "",
        f"Task `{first['task']}`, metric {first['metric']} on the {first['eval_split']} split, "
        f"model `{first['model']}`, trained on {', '.join(first['train_languages'])}.",
        "",
        *data_caps_lines(results),
        markdown_table(results),
        f"![per-language {first['metric']}]({png.name})",
        "",
    ]
    lines += _runs_table({k: v for k, v in results.items() if "evaluation" not in v})
    lines += _evaluations_table({k: v for k, v in results.items() if "evaluation" in v})
    study = study or load_study(directory)
    lines += diversity_section(directory, study)
    if notes:
        lines += ["", notes]
    html_path = write_html_report(results, directory, title=title, study=study)
    lines += ["", f"HTML report (intervals, significance, dev curves): [{html_path.name}]({html_path.name})"]
    path = directory / "report.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def data_caps_lines(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``["Data caps: ...", ""]`` from the runs' ``data_caps`` (per system where they differ); none if unrecorded."""
    described = {}
    for name, result in results.items():
        if "data_caps" in result:
            caps = result["data_caps"]
            described[name] = "; ".join(
                f"{key} {value} (per language)" if value is not None else f"{key} none" for key, value in caps.items()
            )
    if not described:
        return []
    if len(set(described.values())) == 1:
        return [f"Data caps: {next(iter(described.values()))}.", ""]
    return ["Data caps: " + "; ".join(f"{name}: {text}" for name, text in described.items()) + ".", ""]


def _runs_table(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown rows: how each run was trained and selected and how long it took; an ensemble names its members."""
    if not results:
        return []
    lines = [
        "| system | aggregation | intermediate | selected step (dev) | train s | eval s |",
        "|---|---|---|---|---:|---:|",
    ]
    for name, result in results.items():
        if "members" in result:  # written by `crossling ensemble`: no training of its own
            lines.append(f"| {name} | ensemble of {len(result['members'])} runs | - | - | - | - |")
            continue
        agg = result["aggregation"]
        layer = f" (k={agg['layer']})" if agg.get("layer") is not None else ""
        dev = result["selection"]["dev_score"]
        dev_text = f"{dev:.1f}" if dev is not None else "-"
        lines.append(
            f"| {name} | {agg['strategy']}{layer} | {' -> '.join(result['intermediate']) or '-'} | "
            f"{result['selection']['selected_step']} ({dev_text}) | {result['timing']['train_seconds']:.0f} | "
            f"{result['timing']['eval_seconds']:.0f} |"
        )
    return lines


def _evaluations_table(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Markdown rows: what each kept ``crossling evaluate`` scored (split, languages, checkpoint, when)."""
    if not results:
        return []
    lines = ["", "| evaluation | split | languages | checkpoint (SHA-256) | when |", "|---|---|---|---|---|"]
    for name, result in results.items():
        record = result["evaluation"]
        lines.append(
            f"| {name} | {record['split']} | {' '.join(record['languages'])} | "
            f"{record['checkpoint']} ({record['checkpoint_sha256'][:12]}) | {record['created']} |"
        )
    return lines
