"""Figure 4: zero-shot evaluation over all 12 tmpl-nli languages, crossling's evaluate_languages vs a skilled Trainer.predict loop."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

import numpy as np
from baselines import PAD_MULTIPLE, hf_args, hf_collator, hf_dataset, hf_model
from common import (
    auto_precision,
    base_parser,
    device,
    eval_model,
    eval_setup,
    interleaved,
    load_average,
    markdown_table,
    model_label,
    run_figure,
    synchronize,
)

TARGET = 2.0


def crossling_eval(model: Any, data: Any, tokenizer: Any, batch_size: int, precision: str) -> dict[str, Any]:
    """Time ``evaluate_languages`` (length-sorted batches, ``precision``); seconds and mean accuracy."""
    from crossling.pipelines.experiment import evaluate_languages

    load = load_average()
    started = time.perf_counter()
    scores = evaluate_languages(
        model, data, tokenizer, batch_size=batch_size, mixed_precision=precision, predictions_dir=None
    )
    synchronize()
    return {
        "seconds": time.perf_counter() - started,
        "load": load,
        "accuracy": float(np.mean([s["accuracy"] for s in scores.values()])) / 100,
        "languages": len(scores),
    }


def sorted_by_length(features: Any) -> tuple[Any, np.ndarray]:
    """The rows longest first (what a skilled user does for inference) and the permutation that sorted them."""
    order = np.argsort(-np.asarray(features["length"]), kind="stable")
    return features.select(order), order


def trainer_eval(model: Any, data: Any, tokenizer: Any, batch_size: int, precision: str) -> dict[str, Any]:
    """Time a per-language ``Trainer.predict`` loop set up as a skilled user would.

    Same batch size as crossling, its precision (``bf16=True``: accelerate's autocast in prediction),
    rows sorted by length (the length grouping of inference), DataCollatorWithPadding to a multiple
    of 8, on the figure's device; one Trainer for all languages.
    """
    from transformers import Trainer

    load = load_average()
    started = time.perf_counter()
    accuracies = []
    with tempfile.TemporaryDirectory(prefix="hf-eval-") as work:
        trainer = Trainer(
            model=model,
            args=hf_args(work, batch_size=batch_size, precision=precision, group_by_length=False),
            data_collator=hf_collator(tokenizer, pad_to_max_length=False),
            processing_class=tokenizer,
        )
        for language in data.eval_languages():
            features = data.features(language, data.config.eval_split, tokenizer)
            ordered, order = sorted_by_length(features)
            output = trainer.predict(hf_dataset(ordered, pad_to_max_length=False).remove_columns(["length"]))
            predictions = np.empty(len(order), dtype=np.int64)
            predictions[order] = output.predictions.argmax(-1)
            accuracies.append(float((predictions == np.asarray(features["labels"])).mean()))
    synchronize()
    return {
        "seconds": time.perf_counter() - started,
        "load": load,
        "accuracy": float(np.mean(accuracies)),
        "languages": len(accuracies),
    }


def measure(args: Any) -> dict[str, Any]:
    """Interleaved crossling / Trainer evaluation of the same encoder weights; the raw record."""
    setup = eval_setup(args.quick, args.test_size)
    data, tokenizer = setup.data, setup.tokenizer
    precision = auto_precision(setup.path)
    ours = eval_model(setup)
    theirs = hf_model(setup.path, len(data.spec.labels))
    chosen = precision["precision"]
    runs = interleaved(
        {
            "crossling": lambda: crossling_eval(ours, data, tokenizer, args.batch_size, chosen),
            "trainer": lambda: trainer_eval(theirs, data, tokenizer, args.batch_size, chosen),
        },
        args.repeats,
    )
    return {
        "raw": {
            "quick": args.quick,
            "model": model_label(args.quick),
            "device": device().type,
            "test_size": args.test_size,
            "rows": setup.rows,
            "real_tokens": setup.real_tokens,
            "batch_size": args.batch_size,
            "pad_multiple": PAD_MULTIPLE,
            "precision": precision,
            "runs": runs,
        }
    }


def render(raw: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """The section body and summary row of a raw figure-4 record."""
    from records import summary_row

    ours = [r["seconds"] for r in raw["runs"]["crossling"]]
    theirs = [r["seconds"] for r in raw["runs"]["trainer"]]
    speedup = [b / a for a, b in zip(ours, theirs, strict=True)]
    median = statistics.median(speedup)
    status = "met" if median >= TARGET else "NOT met"
    loads = [r["load"].split()[0] for runs in raw["runs"].values() for r in runs]

    def cell(values: list[float], digits: int = 2) -> str:
        return f"{statistics.median(values):.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"

    table = markdown_table(
        ["system", "seconds", "rows/s", "real tokens/s", "mean accuracy (untrained head)"],
        [
            [
                name,
                cell([r["seconds"] for r in runs]),
                cell([raw["rows"] / r["seconds"] for r in runs], 0),
                cell([raw["real_tokens"] / r["seconds"] for r in runs], 0),
                f"{runs[0]['accuracy']:.3f}",
            ]
            for name, runs in (
                ("crossling", raw["runs"]["crossling"]),
                ("Trainer.predict loop", raw["runs"]["trainer"]),
            )
        ],
    )
    precision = raw["precision"]
    languages = raw["runs"]["crossling"][0]["languages"]
    text = (
        f"Model: {raw['model']} with an untrained 3-way head (speed does not depend on the weights; crossling's "
        f"model and HF's AutoModelForSequenceClassification share the encoder weights), on {raw['device']}. "
        f"tmpl-nli test split, {raw['test_size']} pairs in each of {languages} languages ({raw['rows']} rows, "
        f"{raw['real_tokens']} real tokens; features cached beforehand, both sides load them from the cache "
        "inside the timed loop and compute accuracy). Both sides alike: batch "
        f"{raw['batch_size']}, mixed precision {precision['precision']} ({precision['reason']}; Trainer: "
        f"`bf16`/`fp16` flags, accelerate's autocast in prediction), rows sorted by length (crossling: "
        "length-sorted batches; Trainer: each language's rows sorted longest first, predictions put back in "
        f"order), dynamic padding to a multiple of {raw['pad_multiple']} with the tokenizer's pad id, the same "
        "device. crossling: `evaluate_languages` (inference mode). Trainer: one Trainer, one `Trainer.predict` "
        f"per language. Interleaved repeats; 1-minute load average before them: {min(loads)}-{max(loads)}.\n\n"
        + table
        + f"\n\nSpeed-up (Trainer seconds / crossling seconds, per repeat): {cell(speedup)}; target >= "
        f"{TARGET}x: {status}."
    )
    row = summary_row(
        f"4 zero-shot eval over {languages} languages ({raw['test_size']} pairs each) vs a Trainer.predict loop "
        f"(same batch {raw['batch_size']}, precision, length sorting, device)",
        f">= {TARGET}x",
        f"**{median:.2f}x** ({', '.join(f'{v:.2f}' for v in speedup)}); "
        f"{statistics.median(ours):.2f} vs {statistics.median(theirs):.2f} s",
        status,
    )
    return text, [row]


def eval_arguments(parser: Any) -> Any:
    """Parse figure 4's data and batch options (also the evaluation profile's), test size resolved for ``--quick``."""
    parser.add_argument("--test-size", type=int, default=None, help="Test pairs per language (default 64; quick 40).")
    parser.add_argument("--batch-size", type=int, default=64, help="Batch size of both sides (crossling's default).")
    args = parser.parse_args()
    args.test_size = args.test_size or (40 if args.quick else 64)
    return args


def main() -> None:
    """Parse the options, measure, write the record and re-render BENCHMARKS.md."""
    args = eval_arguments(base_parser(__doc__))
    run_figure("eval", "Figure 4: zero-shot evaluation over 12 languages vs a Trainer.predict loop", measure, args)


if __name__ == "__main__":
    main()
