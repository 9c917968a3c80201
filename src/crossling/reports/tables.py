"""Per-language comparison tables of one or more runs: rich (terminal) and Markdown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table


def _languages(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    seen: list[str] = []
    for result in results.values():
        for lang in result["languages"]:
            if lang not in seen:
                seen.append(lang)
    return seen


def comparison_rows(results: Mapping[str, Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per language plus the summaries, one column per system (run name)."""
    systems = list(results)
    header = ["language", *systems]
    rows = []
    for lang in _languages(results):
        row = [lang]
        for system in systems:
            scores = results[system]["languages"].get(lang)
            metric = results[system]["metric"]
            row.append(f"{scores[metric]:.1f}" if scores else "-")
        rows.append(row)
    for label, key in (("avg (all)", "macro_avg"), ("avg (transfer)", "avg_transfer")):
        row = [label]
        for system in systems:
            value = results[system]["summary"].get(key)
            row.append(f"{value:.1f}" if value is not None else "-")
        rows.append(row)
    return header, rows


def rich_table(results: Mapping[str, Mapping[str, Any]], title: str = "") -> Table:
    """A rich Table of ``comparison_rows`` (metric named in the title)."""
    metric = next(iter(results.values()))["metric"] if results else ""
    table = Table(title=f"{title} ({metric})" if title else metric)
    header, rows = comparison_rows(results)
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row, end_section=row[0] == _languages(results)[-1] if rows else False)
    return table


def markdown_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The same comparison as a Markdown table."""
    header, rows = comparison_rows(results)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def ensemble_table(result: Mapping[str, Any]) -> Table:
    """A rich table of an ensemble's ``comparison``: per language the ensemble, best member, mean member and oracle."""
    table = Table(title=f"{result['name']} ({result['ensemble']['method']}) beside its members: {result['metric']}")
    for column in ("language", "ensemble", "best member", "mean member", "oracle"):
        table.add_column(column, justify="left" if column == "language" else "right")

    def cell(entry: Mapping[str, Any]) -> str:
        return f"{entry['value']:.1f} [{entry['low']:.1f}, {entry['high']:.1f}]"

    for language, row in result["comparison"].items():
        best = row["best_member"]
        table.add_row(
            language,
            cell(row["ensemble"]),
            f"{cell(best)} {best['run']}",
            cell(row["mean_member"]),
            cell(row["oracle"]),
        )
    return table
