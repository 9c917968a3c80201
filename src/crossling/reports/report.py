"""A run or sweep report: Markdown with the per-language table and a PNG bar chart, written beside the results."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crossling.reports.plots import per_language_bars
from crossling.reports.tables import markdown_table
from crossling.utils.io import atomic_write_text, read_json


def load_results(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Results of run directories (or of every member of a sweep directory), keyed by run name."""
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        if (path / "sweep.json").is_file():
            for name, results_file in read_json(path / "sweep.json")["members"].items():
                out[name] = read_json(results_file)
        elif (path / "results.json").is_file():
            result = read_json(path / "results.json")
            out[result["name"]] = result
        else:
            raise FileNotFoundError(f"{path}: neither results.json nor sweep.json")
    return out


def write_report(results: Mapping[str, Mapping[str, Any]], directory: Path, *, title: str,
                 chance: float | None = None, notes: str = "") -> Path:
    """Write ``report.md`` and ``per_language.png`` into ``directory``; returns the Markdown path."""
    first = next(iter(results.values()))
    png = per_language_bars(results, directory / "per_language.png", title=title, chance=chance)
    lines = [f"# {title}", "",
             f"Task `{first['task']}`, metric {first['metric']} on the {first['eval_split']} split, "
             f"model `{first['model']}`, trained on {', '.join(first['train_languages'])}.", "",
             markdown_table(results), f"![per-language {first['metric']}]({png.name})", ""]
    lines.append("| system | aggregation | intermediate | selected step (dev) | train s | eval s |")
    lines.append("|---|---|---|---|---:|---:|")
    for name, result in results.items():
        agg = result["aggregation"]
        layer = f" (k={agg['layer']})" if agg.get("layer") is not None else ""
        dev = result["selection"]["dev_score"]
        dev_text = f"{dev:.1f}" if dev is not None else "-"
        lines.append(f"| {name} | {agg['strategy']}{layer} | {' -> '.join(result['intermediate']) or '-'} | "
                     f"{result['selection']['selected_step']} ({dev_text}) | {result['timing']['train_seconds']:.0f} | "
                     f"{result['timing']['eval_seconds']:.0f} |")
    if notes:
        lines += ["", notes]
    path = directory / "report.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
