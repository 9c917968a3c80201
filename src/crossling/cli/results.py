"""``crossling results DIR``: filter and pivot the results store of a study or run directory, export CSV/Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crossling.errors import CrosslingError


def _text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _table(title: str, row_key: str, row_labels: list[str], col_labels: list[str], cells: dict) -> Table:
    """A rich table: ``mean [low, high] (n)`` where a cell has several runs (seeds), else the value."""
    table = Table(title=title)
    table.add_column(row_key)
    for c in col_labels:
        table.add_column(c, justify="right")
    for r in row_labels:
        texts = []
        for c in col_labels:
            found = cells.get((r, c))
            if found is None:
                texts.append("-")
            elif found.n > 1:
                texts.append(f"{found.mean:.1f} [{_text(found.low)}, {_text(found.high)}] (n={found.n})")
            else:
                texts.append(_text(found.mean))
        table.add_row(r, *texts)
    return table


def results(
    directory: Annotated[Path, typer.Argument(help="A study, sweep or output directory holding results.sqlite.")],
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            help="Keep runs with KEY=VALUE (a config key such as aggregation.layer, "
            "or name/system/seed/task/model); repeatable.",
        ),
    ] = None,
    task: Annotated[str | None, typer.Option(help="Keep runs of this task.")] = None,
    metric: Annotated[str | None, typer.Option(help="Metric to show (default: each run's own metric).")] = None,
    rows: Annotated[str, typer.Option(help="Key whose values are the rows.")] = "language",
    cols: Annotated[str, typer.Option(help="Key whose values are the columns.")] = "system",
    csv: Annotated[Path | None, typer.Option(help="Also write the pivot as CSV here.")] = None,
    parquet: Annotated[Path | None, typer.Option(help="Also write the pivot as Parquet here.")] = None,
    scan: Annotated[bool, typer.Option(help="First record every results.json under DIR into the store.")] = False,
) -> None:
    """Filter and pivot the results store (mean and 95% t interval over seeds where a cell has several runs)."""
    from crossling.cli.main import _fail
    from crossling.reports import query

    console = Console()
    try:
        if scan:
            console.print(f"recorded {query.scan(directory)} runs")
        selected = query.select(
            query.store_rows(directory), where=query.parse_where(where or []), task=task, metric=metric
        )
        if not selected:
            raise CrosslingError(f"{directory}: no scores match the filters")
        row_labels, col_labels, cells = query.pivot(selected, row_key=rows, col_key=cols)
    except CrosslingError as exc:
        _fail(exc)
    console.print(
        _table(f"{metric or selected[0]['run_metric']} by {rows} x {cols}", rows, row_labels, col_labels, cells)
    )
    records = query.wide_records(rows, row_labels, col_labels, cells)
    for path, write in ((csv, query.write_csv), (parquet, query.write_parquet)):
        if path is not None:
            console.print(f"wrote {write(records, path)}")
