"""Zero-shot UD-POS from English with the offline e5 encoder: ``last`` vs ``dlfa``, one command.

The measurement (bf16, frozen embeddings, max_length 128, settings from examples/udpos-e5-dlfa.yaml;
the defaults are sized for about 10 minutes on 2 idle CPU cores, an estimate: the CPU was shared
when this was written, and the smoke run below took 3 minutes on a heavily loaded 2-core machine):

    .venv/bin/python bench/udpos_zero_shot.py --max-train 1000 --max-eval 300

Smoke run (a minute or two):

    .venv/bin/python bench/udpos_zero_shot.py --max-train 64 --max-eval 32 --epochs 1 --languages en,fr --name smoke

Trains on ``train-en.tsv`` (selecting on ``dev-en.tsv``) of ``--data-dir`` and evaluates on the
``test-<lang>.tsv`` of every language there (or of ``--languages``). Runs go to
``<output-dir>/<name>/{last,dlfa}/`` (results.json, predictions, manifest) with a report of both;
a finished variant is not redone, an interrupted one resumes. The comparison is printed as a
markdown table and written to ``<output-dir>/<name>/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "examples" / "udpos-e5-dlfa.yaml"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "udpos"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (every run setting not named here comes from ``--config``)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="Experiment YAML with the two variants.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA,
        help="XTREME-layout UD-POS folder (train-en.tsv, dev-en.tsv, test-<lang>.tsv).",
    )
    parser.add_argument(
        "--max-train", type=int, default=1000, help="English training sentences (the time knob; 0: all of them)."
    )
    parser.add_argument("--max-eval", type=int, default=300, help="Sentences per dev/test language (0: all of them).")
    parser.add_argument("--epochs", type=int, default=None, help="Training epochs (default: the config's).")
    parser.add_argument(
        "--languages",
        default="",
        help="Comma-separated evaluation languages (default: every test-<lang>.tsv in --data-dir).",
    )
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "bench", help="Root of the run directories.")
    parser.add_argument("--name", default="udpos-zero-shot", help="Name of this measurement's directory.")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Any other config override (repeatable), e.g. --set aggregation.layer=6.",
    )
    parser.add_argument("--quiet", action="store_true", help="No progress bars.")
    return parser.parse_args(argv)


def available_languages(data_dir: Path) -> list[str]:
    """Languages with a ``test-<lang>.tsv`` in ``data_dir``, English first."""
    found = sorted(path.name[len("test-") : -len(".tsv")] for path in data_dir.glob("test-*.tsv"))
    return sorted(found, key=lambda lang: lang != "en")


def overrides(args: argparse.Namespace) -> list[str]:
    """``KEY=VALUE`` overrides of the config from the options."""
    languages = [lang for lang in args.languages.split(",") if lang] or available_languages(args.data_dir)
    if not languages:
        raise SystemExit(f"no test-<lang>.tsv files in {args.data_dir}")
    out = [
        f"name={args.name}",
        f"output_dir={args.output_dir}",
        f"task.data_dir={args.data_dir}",
        f"task.eval_languages=[{', '.join(languages)}]",
    ]
    if args.max_train:
        out.append(f"task.max_train_examples={args.max_train}")
    if args.max_eval:
        out.append(f"task.max_eval_examples={args.max_eval}")
    if args.epochs is not None:
        out.append(f"training.epochs={args.epochs}")
    return out + list(args.overrides)


def main(argv: list[str] | None = None) -> int:
    """Run both variants and print (and save) the per-language comparison."""
    args = parse_args(argv)
    from crossling.config import load_config
    from crossling.pipelines.sweep import run_sweep
    from crossling.reports.report import write_report
    from crossling.reports.tables import markdown_table

    config = load_config(args.config, overrides(args))
    started = time.perf_counter()
    results = run_sweep(config, show_progress=not args.quiet)
    seconds = time.perf_counter() - started
    directory = config.output_dir / config.name
    write_report(results, directory, title=config.name)
    table = markdown_table(results)
    summary = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "config": str(args.config),
        "seconds": round(seconds, 1),
        "metric": next(iter(results.values()))["metric"],
        "variants": {
            name: {"summary": r["summary"], "languages": r["languages"], "timing": r["timing"]}
            for name, r in results.items()
        },
    }
    (directory / "bench.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(table)
    print(f"\n{len(results)} variants in {seconds:.0f} s; results under {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
