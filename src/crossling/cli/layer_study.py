"""``crossling layer-study``: DLFA's gain over ``last`` per task and fused layer k, as a heatmap, table and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crossling.errors import CrosslingError

console = Console()


def layer_study(
    study_dirs: Annotated[
        list[Path], typer.Argument(help="Finished studies, one per task, each with a `last` baseline and dlfa systems.")
    ],
    output_dir: Annotated[Path, typer.Option(help="Where layer_study.json, .md and .png are written.")],
    probe: Annotated[
        Path | None, typer.Option(help="A `crossling probe` output directory: correlate its retrieval with the gain.")
    ] = None,
    average: Annotated[str, typer.Option(help="Which average of study.json: english, transfer or overall.")] = (
        "transfer"
    ),
    readme: Annotated[
        Path | None,
        typer.Option(help="A Markdown file whose <!-- study-table:BLOCK:begin/end --> block receives the table."),
    ] = None,
    block: Annotated[str, typer.Option(help="Name of the block in --readme.")] = "layer-study",
) -> None:
    """Heatmap (task x k) of DLFA - last with Holm significance marks, and the probe-gain correlation."""
    from crossling.cli.main import _fail
    from crossling.reports.layer_study import write_layer_study
    from crossling.reports.study_markdown import replace_block
    from crossling.utils.io import atomic_write_text

    try:
        paths = write_layer_study(study_dirs, output_dir, probe_dir=probe, average=average)
        if readme is not None:
            text = readme.read_text(encoding="utf-8")
            table = paths["markdown"].read_text(encoding="utf-8")
            atomic_write_text(readme, replace_block(text, table, source=str(readme), name=block))
    except (CrosslingError, OSError, ValueError) as exc:  # ValueError: --readme has no such block
        _fail(exc)
    console.print(paths["markdown"].read_text(encoding="utf-8"), markup=False, highlight=False)
    console.print(f"written: {paths['json']}, {paths['markdown']}, {paths['plot']}")
