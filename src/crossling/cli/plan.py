"""``crossling plan``: a dry run that prints a study's runs, stages (cached or not), steps and estimated cost."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crossling.errors import CrosslingError

console = Console()


def plan(
    config: Annotated[Path, typer.Argument(help="Experiment or study config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a config key: KEY=VALUE.")] = None,
    calibrate: Annotated[
        bool, typer.Option(help="Time a few real optimiser steps of the first stage here for the cost estimate.")
    ] = False,
    seconds_per_step: Annotated[
        float | None,
        typer.Option(
            help="Seconds per optimiser step on the target device (e.g. from BENCHMARKS.md), for the estimate."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="Name of the device --seconds-per-step was measured on.")] = "given",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the plan as JSON here.")] = None,
) -> None:
    """Print the plan without training: runs, stages with their cache state, steps, evaluation size, cost."""
    from crossling.cli.main import _fail, _setup_logging
    from crossling.config import load_config
    from crossling.pipelines.plan import calibrate as measure
    from crossling.pipelines.plan import plan_study
    from crossling.pipelines.sweep import declared_ensembles
    from crossling.tasks.loading import task_languages
    from crossling.utils.io import atomic_write_json

    _setup_logging(False)
    try:
        cfg = load_config(config, set_, task_languages=task_languages)
        study = plan_study(cfg)
        ensembles = declared_ensembles(cfg)
        if calibrate:
            study.seconds_per_step, study.device = measure(cfg)
        elif seconds_per_step is not None:
            study.seconds_per_step, study.device = seconds_per_step, device
    except CrosslingError as exc:
        _fail(exc)
    table = Table(title=f"plan of {cfg.name}")
    for column in ("run", "stage", "task", "stage id", "cached", "train rows", "steps", "eval examples", "done"):
        table.add_column(column, justify="right" if column in ("train rows", "steps", "eval examples") else "left")
    for run in study.runs:
        evals = str(sum(run.eval_examples.values()))
        rows = run.stages or ()
        if not rows:
            table.add_row(run.name, "-", "-", "-", "-", "0", "0", evals, "yes" if run.finished else "no")
        for number, stage in enumerate(rows):
            table.add_row(
                run.name if number == 0 else "",
                str(stage.index),
                stage.task,
                stage.stage_id[:12],
                "yes" if stage.cached else "no",
                str(stage.train_features),
                str(stage.steps),
                evals if number == len(rows) - 1 else "",
                ("yes" if run.finished else "no") if number == 0 else "",
            )
    console.print(table)
    totals = study.totals()
    console.print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in totals.items()), soft_wrap=True)
    for name, (members, _, method) in ensembles.items():
        console.print(f"ensemble after the runs: {name} ({method} of {', '.join(m.name for m in members)})")
    if json_out is not None:
        atomic_write_json(
            json_out,
            {
                "totals": totals,
                "runs": [
                    {
                        "name": r.name,
                        "finished": r.finished,
                        "eval_examples": r.eval_examples,
                        "stages": [vars(s) for s in r.stages],
                    }
                    for r in study.runs
                ],
            },
        )
