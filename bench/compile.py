"""torch.compile (inductor, dynamic shapes) versus eager for crossling's training step: steady-state rate and compile cost."""

from __future__ import annotations

import time
from typing import Any, Self

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
from torch.optim.optimizer import register_optimizer_step_post_hook


class OptimizerStepClock:
    """Wall time between consecutive optimiser steps (a global hook: forward hooks do not survive compilation)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self._handle: Any = None

    def __enter__(self) -> Self:
        self.stamps = [time.perf_counter()]
        self._handle = register_optimizer_step_post_hook(lambda *_: self.stamps.append(time.perf_counter()))
        return self

    def __exit__(self, *_: object) -> None:
        self._handle.remove()

    def steady_seconds(self, warmup: int) -> float:
        """Median seconds of the steps after the first ``warmup`` ones."""
        gaps = [b - a for a, b in zip(self.stamps, self.stamps[1:], strict=False)][warmup:]
        return median(gaps)


def run(path: Any, data: Any, features: Any, tokenizer: Any, args: Any, compiled: bool) -> dict[str, float]:
    """One training run; seconds per step at steady state and the time spent before it (model build, compile)."""
    with OptimizerStepClock() as clock:
        started = time.perf_counter()
        crossling_train(
            path, data, features, tokenizer, steps=args.steps, batch_size=args.batch_size, compile_model=compiled
        )
    warm = clock.stamps[args.warmup + 1] - started if len(clock.stamps) > args.warmup + 1 else float("nan")
    return {"seconds_per_step": clock.steady_seconds(args.warmup), "warmup_seconds": warm}


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """Interleaved eager / compiled runs; the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    runs = interleaved(
        {
            name: (lambda compiled=compiled: run(path, data, features, tokenizer, args, compiled))
            for name, compiled in (("eager", False), ("compiled", True))
        },
        args.repeats,
    )
    eager = [r["seconds_per_step"] for r in runs["eager"]]
    compiled = [r["seconds_per_step"] for r in runs["compiled"]]
    speedup = ratios(eager, compiled)
    extra = [c["warmup_seconds"] - e["warmup_seconds"] for e, c in zip(runs["eager"], runs["compiled"], strict=True)]
    pays = median(extra) / max(1e-9, median(eager) - median(compiled)) if median(speedup) > 1 else float("inf")
    table = markdown_table(
        [
            "s/step eager",
            "s/step compiled",
            "speed-up",
            f"extra seconds in the first {args.warmup} steps",
            "steps to pay back",
        ],
        [
            [
                fmt(eager, 3),
                fmt(compiled, 3),
                fmt(speedup),
                fmt(extra, 1),
                "never" if pays == float("inf") else f"{pays:.0f}",
            ]
        ],
    )
    row = summary_row(
        "torch.compile vs eager training step",
        "measure",
        f"**{median(speedup):.2f}x** ({', '.join(f'{s:.2f}' for s in speedup)}); "
        f"{median(compiled):.3f} vs {median(eager):.3f} s/step",
        "pays" if median(speedup) > 1 else "does not pay here; `training.compile` stays off by default",
    )
    body = (
        f"Model: {model_label(args.quick)}; XNLI English pairs, batch {args.batch_size}, {args.steps} optimiser "
        f"steps per run, steady state = median step after the first {args.warmup} (timed between optimiser "
        "steps, since forward hooks do not survive compilation); crossling's `train_stage` with "
        "`training.compile` false / true (`torch.compile(model, dynamic=True)`, inductor), bf16 autocast, "
        "dynamic padding.\n\n" + table
    )
    return body, [row]


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 16; quick 10).")
    parser.add_argument("--warmup", type=int, default=4, help="Steps excluded from the steady state (compilation).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    args = parser.parse_args()
    args.steps = args.steps or (10 if args.quick else 16)
    run_figure("compile", "torch.compile vs eager training step", measure, args)


if __name__ == "__main__":
    main()
