"""``crossling typology-gain``: a study's per-language gain against URIEL distance (RQ2), correlations and scatter plot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crossling.errors import CrosslingError

console = Console()


def typology_gain(
    study_dir: Annotated[Path, typer.Argument(help="A finished study's directory (holds study.json and its runs).")],
    system: Annotated[str, typer.Option(help="The system whose gain over the study's baseline is correlated.")],
    to: Annotated[
        list[str] | None,
        typer.Option(help="Measure distances to these languages (repeat); default: the system's intermediate ones."),
    ] = None,
    features: Annotated[str, typer.Option(help="URIEL feature set: syntax, phonology or inventory.")] = "syntax",
    resamples: Annotated[int, typer.Option(help="Bootstrap replicates behind each 95% interval.", min=100)] = 9999,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Correlate a system's per-language gain over the baseline with typological distance (Spearman, Pearson).

    Writes typology-gain-SYSTEM.json and typology-gain-SYSTEM.png (labelled scatter) in STUDY_DIR.
    """
    from crossling.cli.main import _fail
    from crossling.reports.typology_gain import typology_gain as correlate

    try:
        result, document, path = correlate(
            study_dir, system, to=to or (), features=features, n_resamples=resamples, seed=seed
        )
    except CrosslingError as exc:
        _fail(exc)
    table = Table(title=f"{system} - {document['baseline']} ({document['metric']}) against {document['distance']}")
    for column in ("language", "distance", "gain"):
        table.add_column(column, justify="left" if column == "language" else "right")
    for language, (distance, gain) in sorted(result.points.items(), key=lambda item: item[1][0]):
        table.add_row(language, f"{distance:.3f}", f"{gain:+.2f}")
    console.print(table)
    for name, c in (("Spearman rho", result.spearman), ("Pearson r", result.pearson)):
        console.print(f"{name}: {c.statistic:+.3f} [{c.low:+.3f}, {c.high:+.3f}] (p = {c.p:.3g})")
    console.print(f"intervals: {document['interval_method']}")
    console.print(f"written: {path} and {path.with_suffix('.png')}")
