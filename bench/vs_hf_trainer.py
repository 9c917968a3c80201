"""Figure 3: crossling fine-tuning throughput versus HF Trainer (run_xnli.py defaults, and Trainer at its best)."""

from __future__ import annotations

from typing import Any

import numpy as np
from baselines import hf_accuracy, hf_train
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

TARGETS = {"run_xnli": 2.0, "best": 1.15}


def crossling_accuracy(model: Any, features: Any, tokenizer: Any) -> float:
    """Accuracy of crossling's ``predict_logits`` on feature rows."""
    from crossling.evaluation.predict import predict_logits
    from crossling.training.batching import PaddingCollator

    logits = predict_logits(model, features, batch_size=64, collator=PaddingCollator(tokenizer.pad_token_id))
    return float((np.argmax(np.stack(logits), axis=-1) == np.asarray(features["labels"])).mean())


def throughput(args: Any, path: Any, data: Any, features: Any, tokenizer: Any, freeze: bool) -> list[list[str]]:
    """Interleaved runs of the three systems; table rows."""
    common = {"steps": args.steps, "batch_size": args.batch_size, "freeze_embeddings": freeze}

    def before_fix() -> dict[str, Any]:
        return crossling_train(path, data, features, tokenizer, active_vocabulary=False, **common)

    variants = {
        "crossling": lambda: crossling_train(path, data, features, tokenizer, **common),
        "hf-run_xnli": lambda: hf_train(path, features, tokenizer, setting="run_xnli", num_labels=3, **common),
        "hf-best": lambda: hf_train(path, features, tokenizer, setting="best", num_labels=3, **common),
    }
    if args.before_after:
        variants["crossling-dense"] = before_fix
    runs = interleaved(variants, args.repeats)
    ours = [r["examples_per_s"] for r in runs["crossling"]]
    rows = [
        [
            "crossling (bf16 auto, dynamic padding, length groups, fused AdamW, active vocabulary)",
            str(freeze),
            fmt(ours),
            "1",
            "",
        ]
    ]
    if args.before_after:
        before = [r["examples_per_s"] for r in runs["crossling-dense"]]
        rows.append(
            [
                "crossling with dense embedding updates (`training.active_vocabulary: false`)",
                str(freeze),
                fmt(before),
                fmt(ratios(ours, before)),
                "(source change)",
            ]
        )
    for setting, target in TARGETS.items():
        theirs = [r["examples_per_s"] for r in runs[f"hf-{setting}"]]
        speedup = ratios(ours, theirs)
        rows.append(
            [
                f"HF Trainer {setting}",
                str(freeze),
                fmt(theirs),
                fmt(speedup),
                f">= {target}x: {'met' if median(speedup) >= target else 'NOT met'}",
            ]
        )
    return rows


def accuracy(args: Any, path: Any, data: Any, features: Any, tokenizer: Any) -> str:
    """A short run of crossling and of HF Trainer (best settings) with the same steps; both test accuracies."""
    test = data.features("en", "test", tokenizer)
    ours = crossling_train(
        path, data, features, tokenizer, steps=args.accuracy_steps, batch_size=args.batch_size, keep_model=True
    )
    theirs = hf_train(
        path,
        features,
        tokenizer,
        setting="best",
        steps=args.accuracy_steps,
        batch_size=args.batch_size,
        num_labels=3,
        keep_trainer=True,
    )
    acc_ours = crossling_accuracy(ours["model"], test, tokenizer)
    acc_theirs = hf_accuracy(theirs["trainer"], test)
    noise = 1.96 * (0.25 / len(test)) ** 0.5
    return (
        f"Accuracy check: {args.accuracy_steps} steps of batch {args.batch_size} on the {len(features)} XNLI "
        f"train rows, tested on the {len(test)} held-out XNLI English pairs: crossling {acc_ours:.3f}, "
        f"HF Trainer (best settings) {acc_theirs:.3f} (binomial 95% half-width about {noise:.3f})."
    )


def measure(args: Any) -> str:
    """Throughput with trainable (and optionally frozen) embeddings, then the accuracy check; the section body."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    rows = []
    for freeze in args.freeze:
        rows += throughput(args, path, data, features, tokenizer, freeze)
    table = markdown_table(["system", "frozen embeddings", "examples/s", "crossling speed-up", "target"], rows)
    text = (
        f"Model: {model_label(args.quick)} (the same converted weights on both sides: crossling's encoder + "
        "head, HF's AutoModelForSequenceClassification); XNLI English pairs (crossling's cached features, the "
        f"same token ids on both sides), batch {args.batch_size}, {args.steps} optimiser steps per run; "
        "examples/s at steady state (steps 2..n-1, timed by a forward pre-hook on both sides). HF run_xnli: "
        "pad_to_max_length (128), default_data_collator, fp32, random batches, default optimizer "
        "(adamw_torch_fused). HF best: DataCollatorWithPadding, train_sampling_strategy=group_by_length, "
        "bf16=True, use_cpu=True. Same learning rate (5e-5) everywhere.\n\n" + table
    )
    if args.accuracy_steps:
        text += "\n\n" + accuracy(args, path, data, features, tokenizer)
    return text


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="Optimiser steps per run (default 8; quick 6).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument(
        "--freeze", default="no", choices=("no", "yes", "both"), help="Freeze the embeddings (on both sides alike)."
    )
    parser.add_argument(
        "--no-before-after",
        dest="before_after",
        action="store_false",
        help="Skip the crossling variant with dense embedding updates.",
    )
    parser.add_argument("--accuracy-steps", type=int, default=None, help="Steps of the accuracy check (0: skip).")
    args = parser.parse_args()
    args.steps = args.steps or (6 if args.quick else 8)
    args.freeze = {"no": [False], "yes": [True], "both": [False, True]}[args.freeze]
    if args.accuracy_steps is None:
        args.accuracy_steps = 20 if args.quick else 40
    run_figure("vs-hf", "Figure 3: fine-tuning throughput vs HF Trainer", measure, args)


if __name__ == "__main__":
    main()
