"""Figure 7: peak resident memory of a fine-tuning run, crossling versus HF Trainer, each in its own process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import (
    base_parser,
    fmt,
    interleaved,
    load_tokenizer,
    markdown_table,
    median,
    model_dir,
    model_label,
    ratios,
    run_figure,
    select_device,
    setup_environment,
    task_data,
)
from records import summary_row

TARGET = 1.0
SYSTEMS = ("crossling", "hf-matched", "hf-run_xnli")


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(system: str, quick: bool, steps: int, batch_size: int, max_train: int) -> None:
    """Fine-tune with ``system`` for ``steps`` steps in this process, then print its peak RSS as JSON."""
    from baselines import hf_train
    from common import auto_precision, crossling_train

    path = model_dir(quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=max_train)
    features = data.train_features(tokenizer)
    precision = auto_precision(path)["precision"]
    if system == "crossling":
        crossling_train(path, data, features, tokenizer, steps=steps, batch_size=batch_size, precision=precision)
    else:
        hf_train(
            path,
            features,
            tokenizer,
            setting=system.removeprefix("hf-"),
            steps=steps,
            batch_size=batch_size,
            num_labels=3,
            precision=precision,
        )
    print(json.dumps({"system": system, "peak_rss_mib": peak_rss_mib()}), flush=True)


def run_child(system: str, args: Any) -> dict[str, Any]:
    """Run one fine-tuning in a fresh Python process; its reported peak RSS."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        system,
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--max-train",
        str(args.max_train),
        "--device",
        args.device,
    ] + (["--quick"] if args.quick else [])
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith('{"system"')][-1])


def measure(args: Any) -> tuple[str, list[dict[str, str]]]:
    """Interleaved child processes of the three systems; the section body."""
    path = model_dir(args.quick)
    task_data("xnli", max_train=args.max_train).train_features(load_tokenizer(path))  # warm the feature cache
    runs = interleaved({system: (lambda system=system: run_child(system, args)) for system in SYSTEMS}, args.repeats)
    ours = [r["peak_rss_mib"] for r in runs["crossling"]]
    rows = [["crossling", fmt(ours, 0), "", ""]]
    summary = []
    for system in SYSTEMS[1:]:
        theirs = [r["peak_rss_mib"] for r in runs[system]]
        ratio = ratios(ours, theirs)
        summary.append(
            summary_row(
                f"7 peak RSS of fine-tuning vs HF Trainer {system.removeprefix('hf-')}, batch {args.batch_size}",
                f"<= {TARGET}x",
                f"**{median(ratio):.3f}x** ({median(ours):.0f} vs {median(theirs):.0f} MiB)",
                "met" if median(ratio) <= TARGET else "NOT met",
            )
        )
        rows.append(
            [
                f"HF Trainer {system.removeprefix('hf-')}",
                fmt(theirs, 0),
                fmt(ratio, 3),
                "met" if median(ratio) <= TARGET else "NOT met",
            ]
        )
    table = markdown_table(["system", "peak RSS MiB", "crossling / this (target <= 1.0)", "target"], rows)
    body = (
        f"Model: {model_label(args.quick)}; XNLI English pairs, batch {args.batch_size}, {args.steps} optimiser "
        "steps, each run in a fresh `python bench/memory.py --child SYSTEM` process that reports its VmHWM "
        "(/proc/self/status) at the end: model loading, features, training (crossling also writes its final "
        "weights). Settings of the systems as in figure 3 (`hf-matched`: the Trainer arm `hf`).\n\n" + table
    )
    return body, summary


def main() -> None:
    """Parse the options; run a child, or measure and write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 4).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--child", choices=SYSTEMS, help=argparse_suppress())
    args = parser.parse_args()
    args.steps = args.steps or 4
    if args.child:
        select_device(args.device)
        setup_environment()
        child(args.child, args.quick, args.steps, args.batch_size, args.max_train)
        return
    run_figure("memory", "Figure 7: peak resident memory of fine-tuning vs HF Trainer", measure, args)


def argparse_suppress() -> str:
    """Help of the internal ``--child`` option (hidden)."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
