"""``crossling plan``: a dry run that prints a study's runs, stages (cached or not), steps and estimated cost."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from crossling.errors import CrosslingError

if TYPE_CHECKING:
    from crossling.pipelines.plan import StudyPlan

console = Console()


def plan(
    config: Annotated[Path, typer.Argument(help="Experiment or study config (YAML).")],
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a config key: KEY=VALUE.")] = None,
    calibrate: Annotated[
        bool,
        typer.Option(help="Time a few real optimiser steps and predictions of the first stage here for the estimate."),
    ] = False,
    seconds_per_step: Annotated[
        float | None,
        typer.Option(help="Seconds per optimiser step on the target device (e.g. from BENCHMARKS.md)."),
    ] = None,
    seconds_per_example: Annotated[
        float | None,
        typer.Option(help="Seconds per evaluated test example on the target device (forward pass, eval batch size)."),
    ] = None,
    device: Annotated[str, typer.Option(help="Device the given --seconds-per-* figures were measured on.")] = "given",
    sizes: Annotated[
        Path | None,
        typer.Option(help="Size table for tasks whose data_dir is absent (default: the packaged XTREME sizes)."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the plan as JSON here.")] = None,
) -> None:
    """Print the plan without training: runs, stages with their cache state, steps, evaluation size, cost.

    A task whose data_dir does not exist here is counted from the size table, and the plan says so.
    """
    from crossling.cli.main import _fail, _setup_logging
    from crossling.config import load_config
    from crossling.config.loader import data_may_be_absent
    from crossling.pipelines.plan import calibrate as measure
    from crossling.pipelines.plan import plan_study
    from crossling.pipelines.sweep import declared_ensembles
    from crossling.tasks.loading import task_languages
    from crossling.utils.io import atomic_write_json

    _setup_logging(False)
    try:
        with data_may_be_absent():
            cfg = load_config(config, set_, task_languages=task_languages)
            ensembles = declared_ensembles(cfg)
        study = plan_study(cfg, sizes)
        if calibrate:
            measured = measure(cfg)
            study.seconds_per_step, study.seconds_per_example = measured.seconds_per_step, measured.seconds_per_example
            study.device = measured.device
        elif seconds_per_step is not None or seconds_per_example is not None:
            study.seconds_per_step, study.seconds_per_example, study.device = (
                seconds_per_step,
                seconds_per_example,
                device,
            )
    except CrosslingError as exc:
        _fail(exc)
    console.print(plan_table(study, cfg.name))
    totals = study.totals()
    console.print(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in totals.items()), soft_wrap=True)
    for task, table in study.table_counts.items():
        console.print(f"counted from the size table {table} (data_dir absent here): {task}", soft_wrap=True)
    for name, (members, _, method) in ensembles.items():
        console.print(f"ensemble after the runs: {name} ({method} of {', '.join(m.name for m in members)})")
    if json_out is not None:
        atomic_write_json(json_out, plan_json(study))


def plan_table(study: StudyPlan, name: str) -> Table:
    """The plan's runs and stages as a rich table (one row per stage; a run without stages has one row).

    "from" says where a stage's training rows (and, where it differs, the run's test examples)
    were counted: its data here, or the size table.
    """
    table = Table(title=f"plan of {name}")
    numeric = ("train rows", "steps", "eval examples")
    for column in ("run", "stage", "task", "stage id", "cached", *numeric, "from", "done"):
        table.add_column(column, justify="right" if column in numeric else "left", no_wrap=column == "run")
    for run in study.runs:
        evals = str(sum(run.eval_examples.values()))
        done = "yes" if run.finished else "no"
        if not run.stages:
            table.add_row(run.name, "-", "-", "-", "-", "0", "0", evals, _short(run.eval_counted_from), done)
        for number, stage in enumerate(run.stages):
            last = number == len(run.stages) - 1
            origin = _short(stage.counted_from)
            if last and run.eval_counted_from != stage.counted_from:
                origin += f", eval {_short(run.eval_counted_from)}"
            table.add_row(
                run.name if number == 0 else "",
                str(stage.index),
                stage.task,
                stage.stage_id[:12],
                "yes" if stage.cached else "no",
                str(stage.train_features),
                str(stage.steps),
                evals if last else "",
                origin,
                done if number == 0 else "",
            )
    return table


def _short(origin: str) -> str:
    """``data`` or ``table`` (the size table) for the plan's narrow "from" column."""
    return origin.replace("size table", "table")


def plan_json(study: StudyPlan) -> dict[str, Any]:
    """The plan as JSON data: totals (with the estimate), the size-table tasks, and every run with its stages."""
    return {
        "totals": study.totals(),
        "table_counts": study.table_counts,
        "runs": [
            {
                "name": r.name,
                "finished": r.finished,
                "eval_examples": r.eval_examples,
                "eval_counted_from": r.eval_counted_from,
                "stages": [vars(s) for s in r.stages],
            }
            for r in study.runs
        ],
    }
