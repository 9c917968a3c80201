"""Profile of crossling's training steps (torch.profiler): where the time of a step goes, by operator and by group."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from common import (
    base_parser,
    crossling_train,
    load_tokenizer,
    model_dir,
    model_label,
    run_figure,
    task_data,
)

#: Operator name fragments -> the group they are reported under (first match wins).
GROUPS = (
    ("adam", "optimizer (AdamW)"),
    ("bernoulli", "dropout mask sampling"),
    ("scaled_dot_product", "attention (SDPA)"),
    ("flash_attention", "attention (SDPA)"),
    ("embedding", "embeddings (lookup + dense backward)"),
    ("addmm", "matmuls (linear layers)"),
    ("aten::mm", "matmuls (linear layers)"),
    ("aten::bmm", "matmuls (linear layers)"),
    ("layer_norm", "layer norm"),
    ("gelu", "GELU"),
    ("norm", "gradient clipping / norms"),
    ("copy_", "dtype casts and copies (autocast)"),
    ("to_copy", "dtype casts and copies (autocast)"),
)


def group_of(name: str) -> str:
    """The reporting group of an operator name."""
    for fragment, group in GROUPS:
        if fragment in name:
            return group
    return "other"


def measure(args: Any) -> str:
    """Profile ``--steps`` training steps; the section body (groups, then the top operators)."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run = crossling_train(path, data, features, tokenizer, steps=args.steps, batch_size=args.batch_size)
    events = [e for e in prof.key_averages() if e.key.startswith("aten::") or "Optimizer" in e.key]
    groups: dict[str, float] = defaultdict(float)
    for event in events:
        if event.key.startswith("aten::"):
            groups[group_of(event.key)] += event.self_cpu_time_total / 1e6
    total = sum(groups.values())
    lines = ["| group | self CPU s | share |", "|---|---|---|"]
    lines += [f"| {g} | {s:.2f} | {100 * s / total:.0f}% |" for g, s in sorted(groups.items(), key=lambda x: -x[1])]
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top)
    return (
        f"Model: {model_label(args.quick)}; crossling's `train_stage`, XNLI English, batch {args.batch_size}, "
        f"{args.steps} steps ({run['seconds_per_step']:.2f} s/step steady state under the profiler, "
        f"{run['precision']}). Self CPU time of the aten operators, grouped (model build and weight saving "
        "are included in the profile):\n\n" + "\n".join(lines) + "\n\nTop operators:\n\n```\n" + table + "\n```"
    )


def main() -> None:
    """Parse the options, profile, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--top", type=int, default=15, help="Operators listed.")
    args = parser.parse_args()
    run_figure("profile", "Profile of a crossling training step", measure, args)


if __name__ == "__main__":
    main()
