"""``crossling probe``: per hidden state, retrieval accuracy, language-ID probe accuracy and CKA to English; table + plot."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from crossling.errors import CrosslingError

console = Console()
err = Console(stderr=True)


def _fail(exc: BaseException) -> None:
    # One line, never wrapped, not read as rich markup.
    err.print(Text.assemble(("error:", "bold red"), f" {exc}"), soft_wrap=True)
    raise typer.Exit(code=2)


def _flag_overrides(
    task: str | None,
    data_dir: Path | None,
    split: str | None,
    languages: list[str] | None,
    max_sentences: int | None,
    seeds: int | None,
) -> list[str]:
    """``probe.*=value`` overrides for the flags that were given."""
    given: dict[str, Any] = {
        "task": task,
        "data_dir": data_dir,
        "split": split,
        "max_sentences": max_sentences,
        "seeds": seeds,
        "languages": f"[{', '.join(languages)}]" if languages else None,
    }
    return [f"probe.{key}={value}" for key, value in given.items() if value is not None]


def _default_output(target: str) -> Path:
    """``runs/probe/<target as a file name>`` (``offline:multilingual-e5-small`` -> ``offline-multilingual-e5-small``)."""
    return Path("runs") / "probe" / (re.sub(r"[^\w.-]+", "-", target).strip("-.") or "model")


def _table(result: Any) -> Table:
    table = Table(title=f"layer probe: {result.model} ({result.data['task']} {result.data['split']})")
    for column in ("layer", "retrieval % (both directions)", "language ID % (mean ± sd)", "CKA to en"):
        table.add_column(column, justify="right")
    for scores in result.layers:
        table.add_row(
            str(scores.layer),
            f"{scores.retrieval_mean:.1f}",
            f"{scores.language_id.mean:.1f} ± {scores.language_id.std:.1f}",
            f"{scores.cka_mean:.3f}",
        )
    return table


def probe(
    target: Annotated[
        str | None,
        typer.Argument(
            help="Model (hub id, local directory, offline:multilingual-e5-small) or a run directory; "
            "default: the config's model."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Experiment config whose probe, retrieval and model "
            "sections are used (default: the run's, or the defaults)."
        ),
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="Parallel task: tatoeba, tmpl-retrieval, xnli, pawsx, tmpl-nli.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Directory of the task's local files.")] = None,
    split: Annotated[str | None, typer.Option(help="Split to read: dev or test.")] = None,
    languages: Annotated[
        list[str] | None, typer.Option("--language", "-l", help="Language compared with English (repeat).")
    ] = None,
    max_sentences: Annotated[int | None, typer.Option(help="First N sentences per language.")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds of the language-ID probe.")] = None,
    output_dir: Annotated[Path | None, typer.Option(help="Where probe.json, probe.md and probe.png go.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", "-s", help="Override a config key: KEY=VALUE.")] = None,
    quiet: Annotated[bool, typer.Option(help="No log lines or progress bars.")] = False,
) -> None:
    """Probe every hidden state of an encoder on parallel data: retrieval xx<->en, language ID, CKA to English."""
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s")
    from crossling.config.loader import apply_overrides, build_config, load_raw, parse_override, to_dict
    from crossling.config.schema import ExperimentConfig
    from crossling.models.encoder import load_tokenizer
    from crossling.pipelines.evaluate import load_run_model
    from crossling.pipelines.probe import (
        ProbeTarget,
        files_fingerprint,
        load_model_target,
        probe_texts,
        run_probe,
        write_probe,
    )

    try:
        run_dir = Path(target) if target and (Path(target) / "config.yaml").is_file() else None
        source = config or (run_dir / "config.yaml" if run_dir else None)
        raw = load_raw(source) if source else to_dict(ExperimentConfig())
        if target and run_dir is None:
            raw = apply_overrides(raw, [("model.name_or_path", target)])
        overrides = [*_flag_overrides(task, data_dir, split, languages, max_sentences, seeds), *(set_ or [])]
        cfg = build_config(apply_overrides(raw, [parse_override(o) for o in overrides]), source=str(source or "probe"))
        texts = probe_texts(cfg)  # bad data fails before the model is loaded
        if run_dir is not None:
            run_config, _, model, weights = load_run_model(run_dir)
            probe_target = ProbeTarget(
                model.encoder,
                load_tokenizer(run_config.model),
                str(run_dir),
                {"run": str(run_dir.resolve()), "weights": files_fingerprint(weights.parent, weights.name)},
            )
        else:
            probe_target = load_model_target(cfg.model)
        result = run_probe(probe_target, cfg, texts)
        paths = write_probe(
            result, output_dir or (run_dir / "probe" if run_dir else _default_output(cfg.model.name_or_path))
        )
    except CrosslingError as exc:
        _fail(exc)
    console.print(_table(result))
    console.print(f"wrote {paths['json']}, {paths['markdown'].name} and {paths['plot'].name}")
