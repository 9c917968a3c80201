"""`crossling cache list|prune`: the trained stages that runs share under ``$CROSSLING_HOME/stages``."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

cache_app = typer.Typer(
    help="Show and free the trained stages that runs share (the stage cache).",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

SECONDS_PER_DAY = 86400.0


def _size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


@cache_app.command("list")
def list_() -> None:
    """List cached stages: id, task, state, size, last use and the run directories that use them."""
    from crossling.pipelines.stages import list_stages
    from crossling.utils.paths import stages_dir

    entries = list_stages()
    table = Table(title=f"stage cache: {stages_dir()}")
    for column in ("id", "task", "state", "size", "last used", "runs"):
        table.add_column(column, overflow="fold", no_wrap=column == "id")
    for entry in entries:
        table.add_row(
            entry.id[:12],
            entry.task,
            "complete" if entry.complete else "partial",
            _size(entry.size),
            _when(entry.last_used),
            "\n".join(entry.runs) or "-",
        )
    console.print(table)
    console.print(f"{len(entries)} stage(s), {_size(sum(e.size for e in entries))}")


@cache_app.command()
def prune(
    older_than: Annotated[float | None, typer.Option(help="Stages not used for this many days.")] = None,
    unreferenced: Annotated[bool, typer.Option(help="Stages that no existing run directory points at.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Every stage.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Only list what would be removed.")] = False,
) -> None:
    """Remove cached stages: those matching every given filter (--older-than, --unreferenced), or --all.

    A stage that a running crossling process holds is kept. A run whose stage was removed
    trains it again when it is rerun.
    """
    from crossling.pipelines.stages import list_stages, remove_stage

    if not (all_ or unreferenced or older_than is not None):
        console.print(
            Text.assemble(
                ("error:", "bold red"),
                " say which stages to remove: --older-than DAYS, "
                "--unreferenced or --all (add --dry-run to only list them)",
            ),
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    now = time.time()
    selected = [
        entry
        for entry in list_stages()
        if all_
        or (
            (older_than is None or now - entry.last_used > older_than * SECONDS_PER_DAY)
            and (not unreferenced or not entry.runs)
        )
    ]
    freed = 0
    for entry in selected:
        if dry_run or remove_stage(entry):
            freed += entry.size
            verb = "would remove" if dry_run else "removed"
            console.print(f"{verb} {entry.id[:12]} ({entry.task}, {_size(entry.size)})", highlight=False)
    console.print(f"{'would free' if dry_run else 'freed'} {_size(freed)}", highlight=False)
