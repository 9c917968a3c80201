"""Figure 1: training examples/s with dynamic padding + length-grouped batches versus padding every batch to 128."""

from __future__ import annotations

from typing import Any

from common import (
    base_parser,
    crossling_train,
    fmt,
    interleaved,
    length_stats,
    load_tokenizer,
    markdown_table,
    median,
    model_dir,
    model_label,
    ratios,
    run_figure,
    task_data,
)
from records import summary_row

TARGET = 1.8


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """Run the interleaved comparison on every dataset of ``--data``; the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    template = task_data("tmpl-nli", params={"train_size": 2000, "dev_size": 10, "test_size": 10})
    lines = [
        (
            f"Model: {model_label(args.quick)}; batch {args.batch_size}, {args.steps} optimiser steps per run "
            "(rates over steps 2..n-1), crossling's `train_stage` both times, same mixed precision (auto: bf16 "
            "where supported). *Dynamic*: `PaddingCollator` (pad to the longest row of the batch, multiple of 8) "
            "with length-grouped batches. *Pad-128*: the same collator with `pad_to_multiple_of=128` and random "
            f"batches, i.e. every batch {args.batch_size} x 128 as with `pad_to_max_length`."
        ),
        "",
        "Token lengths (min/p10/median/p90/max):",
        "",
        (
            f"- tmpl-nli train (generated): {length_stats(template.train_features(tokenizer)['length'])} "
            "- a narrow spread, so the real data below is used instead:"
        ),
    ]
    rows: list[list[str]] = []
    summary: list[dict[str, str]] = []
    for name in args.data.split(","):
        data = task_data(name, max_train=args.max_train)
        features = data.train_features(tokenizer)
        lines.append(f"- {name} train ({len(features)} rows): {length_stats(features['length'])}")
        runs = interleaved(
            {
                "dynamic": lambda data=data, features=features: crossling_train(
                    path, data, features, tokenizer, steps=args.steps, batch_size=args.batch_size
                ),
                "pad128": lambda data=data, features=features: crossling_train(
                    path,
                    data,
                    features,
                    tokenizer,
                    steps=args.steps,
                    batch_size=args.batch_size,
                    group_by_length=False,
                    pad_to_multiple_of=128,
                ),
            },
            args.repeats,
        )
        dyn = [r["examples_per_s"] for r in runs["dynamic"]]
        pad = [r["examples_per_s"] for r in runs["pad128"]]
        speedup = ratios(dyn, pad)
        pad_frac = [r["padding_fraction"] for r in runs["dynamic"]]
        pad_share = median([r["padding_fraction"] for r in runs["pad128"]])
        summary.append(
            summary_row(
                f"1 dynamic padding + length groups vs pad-128, {name}, batch {args.batch_size}",
                f">= {TARGET}x",
                f"**{median(speedup):.2f}x** ({', '.join(f'{r:.2f}' for r in speedup)}); "
                f"{median(dyn):.1f} vs {median(pad):.1f} ex/s",
                "met" if median(speedup) >= TARGET else "NOT met",
            )
        )
        rows.append(
            [
                name,
                fmt(dyn),
                fmt(pad),
                fmt(speedup),
                f"{median(pad_frac):.0%} / {pad_share:.0%}",
                runs["dynamic"][0]["precision"],
                "met" if median(speedup) >= TARGET else "NOT met",
            ]
        )
    table = markdown_table(
        [
            "data",
            "dynamic ex/s",
            "pad-128 ex/s",
            "speed-up (target >= 1.8x)",
            "padding share dynamic / pad-128",
            "precision",
            "target",
        ],
        rows,
    )
    return "\n".join(lines) + "\n\n" + table, summary


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument(
        "--data", default=None, help="Comma-separated: xnli (pairs), udpos (tagging); default both (quick: udpos)."
    )
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 10; quick 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000, help="Cap on training rows.")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 10)
    args.data = args.data or ("udpos" if args.quick else "xnli,udpos")
    run_figure("padding", "Figure 1: dynamic padding + length grouping vs padding to 128", measure, args)


if __name__ == "__main__":
    main()
