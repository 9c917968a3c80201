"""Figure 2: training step time with the DLFA aggregation versus ``last``, same encoder, data and steps."""

from __future__ import annotations

from typing import Any

from common import (
    base_parser,
    crossling_train,
    fmt,
    interleaved,
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

TARGET = 0.05


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """Interleaved ``last`` / ``dlfa`` training runs; the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    runs = interleaved(
        {
            strategy: (
                lambda strategy=strategy: crossling_train(
                    path,
                    data,
                    features,
                    tokenizer,
                    steps=args.steps,
                    batch_size=args.batch_size,
                    strategy=strategy,
                    layer=None if strategy == "last" else args.layer,
                )
            )
            for strategy in ("last", "dlfa")
        },
        args.repeats,
    )
    last = [r["seconds_per_step"] for r in runs["last"]]
    dlfa = [r["seconds_per_step"] for r in runs["dlfa"]]
    overhead = [r - 1 for r in ratios(dlfa, last)]
    table = markdown_table(
        ["s/step last", "s/step dlfa", "overhead (target <= 5%)", "precision", "target"],
        [
            [
                fmt(last, 3),
                fmt(dlfa, 3),
                fmt([100 * o for o in overhead], 1) + " %",
                runs["last"][0]["precision"],
                "met" if median(overhead) <= TARGET else "NOT met",
            ]
        ],
    )
    row = summary_row(
        f"2 DLFA step-time overhead vs last, batch {args.batch_size}",
        f"<= {TARGET:.0%}",
        f"**{100 * median(overhead):.1f}%** ({', '.join(f'{100 * o:.1f}' for o in overhead)}); "
        f"{median(last):.3f} vs {median(dlfa):.3f} s/step",
        "met" if median(overhead) <= TARGET else "NOT met",
    )
    body = (
        f"Model: {model_label(args.quick)}; XNLI English pairs, batch {args.batch_size}, {args.steps} optimiser "
        "steps per run (steady-state seconds per step over steps 2..n-1), crossling's `train_stage` with "
        "dynamic padding and length grouping; `dlfa` with crossling's defaults "
        "(reduction 4, compress-expand, layernorm, convex fusion) and lower layer "
        f"k = {args.layer} (as in examples/xnli-dlfa.yaml; quick: k = 2).\n\n" + table
    )
    return body, [row]


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 10; quick 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--layer", type=int, default=None, help="DLFA lower layer k (default 8; quick 2).")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 10)
    args.layer = args.layer if args.layer is not None else (2 if args.quick else 8)
    run_figure("dlfa", "Figure 2: DLFA step-time overhead vs last", measure, args)


if __name__ == "__main__":
    main()
