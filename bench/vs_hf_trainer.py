"""Figure 3: crossling fine-tuning throughput versus HF Trainer, one full epoch per run, matched settings, several seeds."""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np
from baselines import PAD_MULTIPLE, hf_accuracy, hf_train
from common import (
    auto_precision,
    base_parser,
    crossling_train,
    device,
    length_stats,
    load_average,
    load_tokenizer,
    markdown_table,
    model_dir,
    model_label,
    run_figure,
    task_data,
)

#: The timed arms: which system, embedding policy and (for HF) Trainer setting.
ARMS: dict[str, dict[str, Any]] = {
    "crossling": {"system": "crossling", "freeze": False, "active_vocabulary": True},
    "crossling-dense": {"system": "crossling", "freeze": False, "active_vocabulary": False},
    "hf": {"system": "hf", "freeze": False, "setting": "matched"},
    "crossling-frozen": {"system": "crossling", "freeze": True, "active_vocabulary": True},
    "hf-frozen": {"system": "hf", "freeze": True, "setting": "matched"},
    "hf-run_xnli": {"system": "hf", "freeze": False, "setting": "run_xnli"},
    # training.dropout_impl: fast (crossling's cheaper dropout, another documented random stream).
    "crossling-fast": {"system": "crossling", "freeze": False, "active_vocabulary": True, "dropout_impl": "fast"},
    "crossling-frozen-fast": {"system": "crossling", "freeze": True, "active_vocabulary": True, "dropout_impl": "fast"},
    # The Trainer's default random batches instead of its length-grouped sampler (a reference, not its best).
    "hf-frozen-random": {"system": "hf", "freeze": True, "setting": "matched-random"},
}
#: The figure's rows: label, crossling arm, Trainer arm, target speed-up (None: a reference row).
ROWS = (
    ("embeddings trained: crossling (active vocabulary) vs Trainer (dense)", "crossling", "hf", 1.15),
    ("embeddings trained, dense updates on both sides (`active_vocabulary: false`)", "crossling-dense", "hf", None),
    ("embeddings frozen on both sides", "crossling-frozen", "hf-frozen", 1.15),
    ("crossling's defaults vs Trainer with run_xnli.py's defaults", "crossling", "hf-run_xnli", 2.0),
    ("embeddings trained, `dropout_impl: fast` (active vocabulary) vs Trainer (dense)", "crossling-fast", "hf", 1.15),
    ("embeddings frozen on both sides, `dropout_impl: fast`", "crossling-frozen-fast", "hf-frozen", 1.15),
    ("embeddings frozen on both sides, Trainer with random batches", "crossling-frozen", "hf-frozen-random", None),
)
WEIGHT_DECAY, LEARNING_RATE = 0.01, 5e-5


def crossling_accuracy(model: Any, features: Any, tokenizer: Any) -> float:
    """Accuracy of crossling's ``predict_logits`` on feature rows."""
    from crossling.data.batching import PaddingCollator
    from crossling.evaluation.predict import predict_logits

    logits = predict_logits(model, features, batch_size=64, collator=PaddingCollator(tokenizer.pad_token_id))
    return float((np.argmax(np.stack(logits), axis=-1) == np.asarray(features["labels"])).mean())


def run_arm(arm: str, seed: int, setup: dict[str, Any], test: Any | None) -> dict[str, Any]:
    """One epoch of ``arm`` at data-order ``seed``: the rates over every step, the load before, test accuracy."""
    spec = ARMS[arm]
    common = {
        "steps": None,
        "batch_size": setup["batch_size"],
        "freeze_embeddings": spec["freeze"],
        "seed": seed,
        "learning_rate": LEARNING_RATE,
        "weight_decay": WEIGHT_DECAY,
        "keep_model" if spec["system"] == "crossling" else "keep_trainer": test is not None,
    }
    load = load_average()
    path, features, tokenizer = setup["path"], setup["features"], setup["tokenizer"]
    if spec["system"] == "crossling":
        result = crossling_train(
            path,
            setup["data"],
            features,
            tokenizer,
            precision=setup["precision"],
            active_vocabulary=spec["active_vocabulary"],
            dropout_impl=spec.get("dropout_impl", "torch"),
            **common,
        )
    else:
        result = hf_train(
            path, features, tokenizer, setting=spec["setting"], num_labels=3, precision=setup["precision"], **common
        )
    row = {"seed": seed, "load": load, **{k: result["epoch"][k] for k in ("seconds", "steps", "examples")}}
    row.update({k: result["epoch"][k] for k in ("real_tokens", "padded_tokens")})
    if test is not None:
        row["accuracy"] = (
            crossling_accuracy(result["model"], test, tokenizer)
            if spec["system"] == "crossling"
            else hf_accuracy(result["trainer"], test)
        )
    return row


def measure(args: Any) -> dict[str, Any]:
    """Every arm for one epoch at each seed, arms interleaved (order reversed every other seed); the raw record."""
    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("xnli", max_train=args.max_train)
    features = data.train_features(tokenizer)
    test = data.features("en", "test", tokenizer) if args.accuracy else None
    precision = auto_precision(path)
    setup = {
        "path": path,
        "data": data,
        "features": features,
        "tokenizer": tokenizer,
        "batch_size": args.batch_size,
        "precision": precision["precision"],
    }
    arms = [a for a in ARMS if not args.arms or a in args.arms.split(",")]
    seeds = list(range(args.repeats))
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    for index, seed in enumerate(seeds):
        for arm in arms if index % 2 == 0 else reversed(arms):
            print(f"  seed {seed}: {arm} ...", flush=True)
            runs[arm].append(run_arm(arm, seed, setup, test))
    return {
        "raw": {
            "quick": args.quick,
            "model": model_label(args.quick),
            "device": device().type,
            "rows": len(features),
            "lengths": length_stats(features["length"]),
            "test_rows": len(test) if test is not None else 0,
            "batch_size": args.batch_size,
            "precision": precision,
            "weight_decay": WEIGHT_DECAY,
            "learning_rate": LEARNING_RATE,
            "pad_multiple": PAD_MULTIPLE,
            "pad_id": tokenizer.pad_token_id,
            "seeds": seeds,
            "runs": runs,
        }
    }


# --- rendering (from the raw record alone: tests re-render BENCHMARKS.md without running anything) -----------


def _spread(values: list[float], digits: int = 2) -> str:
    """``median (min-max over n seeds)``."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _rates(runs: list[dict[str, Any]], key: str) -> list[float]:
    return [run[key] / run["seconds"] for run in runs]


def _per_seed_ratio(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[float]:
    by_seed = {run["seed"]: run for run in theirs}
    return [
        (a["examples"] / a["seconds"]) / (by_seed[a["seed"]]["examples"] / by_seed[a["seed"]]["seconds"])
        for a in ours
        if a["seed"] in by_seed
    ]


def _arm_rows(raw: dict[str, Any]) -> list[list[str]]:
    """One table row per arm: examples/s and real tokens/s over the seeds, padding share, accuracy."""
    rows = []
    for arm, runs in raw["runs"].items():
        padding = 1 - sum(r["real_tokens"] for r in runs) / sum(r["padded_tokens"] for r in runs)
        scores = [r["accuracy"] for r in runs if "accuracy" in r]
        accuracy = f"{statistics.median(scores):.3f} ({', '.join(f'{a:.3f}' for a in scores)})" if scores else ""
        rows.append(
            [
                f"`{arm}`",
                _spread(_rates(runs, "examples")),
                _spread(_rates(runs, "real_tokens"), 0),
                f"{runs[0]['steps']}",
                f"{padding:.0%}",
                accuracy,
            ]
        )
    return rows


def _comparisons(raw: dict[str, Any]) -> tuple[list[list[str]], list[dict[str, str]]]:
    """The figure's rows (speed-ups per seed) and the summary rows."""
    from records import summary_row

    table, summary = [], []
    for label, ours, theirs, target in ROWS:
        if ours not in raw["runs"] or theirs not in raw["runs"]:
            continue
        ratio = _per_seed_ratio(raw["runs"][ours], raw["runs"][theirs])
        status = "reference" if target is None else ("met" if statistics.median(ratio) >= target else "NOT met")
        goal = "" if target is None else f">= {target}x"
        cells = ", ".join(f"{r:.2f}" for r in ratio)
        table.append([label, f"`{ours}` / `{theirs}`", f"{statistics.median(ratio):.2f} ({cells})", goal, status])
        rates = f"{_spread(_rates(raw['runs'][ours], 'examples'), 1)} vs {_spread(_rates(raw['runs'][theirs], 'examples'), 1)} ex/s"
        summary.append(
            summary_row(
                f"3 fine-tuning vs HF Trainer, {label}; XNLI en, 1 epoch, batch {raw['batch_size']}",
                goal or "reference",
                f"**{statistics.median(ratio):.2f}x** ({cells}); {rates}",
                status,
            )
        )
    return table, summary


def render(raw: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The section body and summary rows of a raw figure-3 record."""
    comparisons, summary = _comparisons(raw)
    loads = [run["load"].split()[0] for runs in raw["runs"].values() for run in runs]
    precision = raw["precision"]
    text = (
        f"Model: {raw['model']} (the same converted weights on both sides: crossling's encoder + head, HF's "
        f"AutoModelForSequenceClassification) on {raw['device']}. Data: the {raw['rows']} XNLI English pairs "
        f"of the train part of the dev file (XNLI ships no English train split here), crossling's cached "
        f"features, the same token ids on both sides; token lengths min/p10/median/p90/max {raw['lengths']}. "
        f"Each run is **one full epoch** ({raw['rows']} examples, batch {raw['batch_size']}), timed from the "
        "first forward call to the end of the last optimizer step (forward pre-hook and optimizer post-hook, "
        f"the same on both sides); one run per arm at each data-order seed {raw['seeds']}, arms interleaved "
        "(order reversed every other seed); cells give the median over seeds and the min-max. Both sides: "
        f"learning rate {raw['learning_rate']}, linear decay, no warm-up, weight decay {raw['weight_decay']} "
        "(biases and norm weights excluded on both sides), gradient clipping 1.0, fused AdamW, mixed precision "
        f"{precision['precision']} ({precision['reason']}), dynamic padding to a multiple of {raw['pad_multiple']} "
        f"with the tokenizer's pad id {raw['pad_id']} (crossling's PaddingCollator; DataCollatorWithPadding("
        f"pad_to_multiple_of={raw['pad_multiple']})), length-grouped batches (crossling's sampler; Trainer "
        "train_sampling_strategy=group_by_length, which serves each megabatch longest first; `hf-frozen-random`: "
        "its default random batches) on the same device. Frozen embeddings freeze the whole embedding module on both sides. `hf-run_xnli` keeps "
        "run_xnli.py's defaults that matter for speed: pad_to_max_length (128, pad id), "
        "default_data_collator, fp32, random batches (same batch, epoch, learning rate and weight decay). "
        f"1-minute load average before the runs: {min(loads)}-{max(loads)}.\n\n"
        + markdown_table(
            ["arm", "examples/s", "real tokens/s", "steps", "padding share", "test accuracy, median (per seed)"],
            _arm_rows(raw),
        )
        + "\n\n"
        + markdown_table(["comparison", "arms", "crossling speed-up per seed", "target", "status"], comparisons)
    )
    if raw["test_rows"]:
        noise = 1.96 * (0.25 / raw["test_rows"]) ** 0.5
        scored = sorted({run["seed"] for runs in raw["runs"].values() for run in runs if "accuracy" in run})
        after = f"the seed-{scored[0]} epoch" if len(scored) == 1 else f"each epoch (seeds {scored})"
        text += (
            f"\n\nTest accuracy after {after}, on the {raw['test_rows']} held-out XNLI English pairs "
            f"(binomial 95% half-width about {noise:.3f} for one run; one epoch of {raw['rows']} pairs is at the "
            "edge of learning, so the data order moves it further): a check that both sides train alike, not a "
            "result."
        )
    return text, summary


def main() -> None:
    """Parse the options, measure, write the record and re-render BENCHMARKS.md."""
    parser = base_parser(__doc__)
    parser.set_defaults(repeats=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=None, help="Training rows (default: all 1990; quick 512).")
    parser.add_argument("--arms", default="", help=f"Comma-separated arms to run (default all: {', '.join(ARMS)}).")
    parser.add_argument("--no-accuracy", dest="accuracy", action="store_false", help="Skip the accuracy check.")
    args = parser.parse_args()
    if args.quick and args.max_train is None:
        args.max_train = 512
    if args.repeats < 3:
        parser.error("--repeats (data-order seeds) must be >= 3")
    run_figure("vs-hf", "Figure 3: fine-tuning throughput vs HF Trainer", measure, args)


if __name__ == "__main__":
    main()
