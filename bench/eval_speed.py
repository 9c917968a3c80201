"""Figure 4: zero-shot evaluation over all 12 tmpl-nli languages, crossling's evaluate_languages vs a Trainer.predict loop."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np
from baselines import hf_dataset, hf_model
from common import (
    DEVICE,
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
    task_data,
)

TARGET = 2.0


def crossling_eval(model: Any, data: Any, tokenizer: Any, batch_size: int) -> dict[str, Any]:
    """Time ``evaluate_languages`` (bf16 auto, length-sorted batches); seconds and mean accuracy."""
    from crossling.pipelines.experiment import evaluate_languages

    started = time.perf_counter()
    scores = evaluate_languages(
        model, data, tokenizer, batch_size=batch_size, mixed_precision="auto", predictions_dir=None
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "accuracy": float(np.mean([s["accuracy"] for s in scores.values()])) / 100,
        "languages": len(scores),
    }


def trainer_eval(model: Any, data: Any, tokenizer: Any) -> dict[str, Any]:
    """Time a per-language ``Trainer.predict`` loop with default eval settings and DataCollatorWithPadding."""
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    started = time.perf_counter()
    accuracies = []
    with tempfile.TemporaryDirectory(prefix="hf-eval-") as work:
        trainer = Trainer(
            model=model,
            args=TrainingArguments(output_dir=work, use_cpu=True, report_to="none", disable_tqdm=True),
            data_collator=DataCollatorWithPadding(tokenizer),
            processing_class=tokenizer,
        )
        for language in data.eval_languages():
            features = data.features(language, data.config.eval_split, tokenizer)
            output = trainer.predict(hf_dataset(features, pad_to_max_length=False).remove_columns(["length"]))
            accuracies.append(float((output.predictions.argmax(-1) == np.asarray(features["labels"])).mean()))
    return {
        "seconds": time.perf_counter() - started,
        "accuracy": float(np.mean(accuracies)),
        "languages": len(accuracies),
    }


def measure(args: Any) -> str:
    """Interleaved crossling / Trainer evaluation of the same encoder weights; the section body."""
    from crossling.config.schema import AggregationConfig, ModelConfig
    from crossling.models.model import build_model

    path = model_dir(args.quick)
    tokenizer = load_tokenizer(path)
    data = task_data("tmpl-nli", params={"train_size": 100, "dev_size": 10, "test_size": args.test_size})
    rows_total = sum(len(data.features(lang, data.config.eval_split, tokenizer)) for lang in data.eval_languages())
    ours = build_model(ModelConfig(name_or_path=str(path)), AggregationConfig(), data.spec).to(DEVICE)
    theirs = hf_model(path, len(data.spec.labels))
    runs = interleaved(
        {
            "crossling": lambda: crossling_eval(ours, data, tokenizer, args.batch_size),
            "trainer": lambda: trainer_eval(theirs, data, tokenizer),
        },
        args.repeats,
    )
    a = [r["seconds"] for r in runs["crossling"]]
    b = [r["seconds"] for r in runs["trainer"]]
    speedup = ratios(b, a)
    table = markdown_table(
        ["crossling s", "Trainer.predict loop s", "speed-up (target >= 2x)", "target"],
        [[fmt(a), fmt(b), fmt(speedup), "met" if median(speedup) >= TARGET else "NOT met"]],
    )
    return (
        f"Model: {model_label(args.quick)} with an untrained 3-way head (speed does not depend on the weights; "
        f"crossling's model and HF's AutoModelForSequenceClassification share the encoder weights). "
        f"tmpl-nli test split, {args.test_size} pairs in each of {runs['crossling'][0]['languages']} languages "
        f"({rows_total} rows; features cached beforehand, both sides load them from the cache inside the timed "
        f"loop and compute accuracy). crossling: `evaluate_languages`, batch {args.batch_size}, length-sorted, "
        "inference mode, bf16 autocast (auto). Trainer: one `Trainer.predict` per language, default eval "
        "settings (per_device_eval_batch_size 8, fp32), DataCollatorWithPadding. Mean accuracy over "
        f"languages: crossling {runs['crossling'][0]['accuracy']:.3f}, Trainer "
        f"{runs['trainer'][0]['accuracy']:.3f} (untrained heads differ; this is a speed figure).\n\n" + table
    )


def main() -> None:
    """Parse the options, measure, write the section."""
    parser = base_parser(__doc__)
    parser.add_argument("--test-size", type=int, default=None, help="Test pairs per language (default 64; quick 40).")
    parser.add_argument("--batch-size", type=int, default=64, help="crossling's evaluation batch size (its default).")
    args = parser.parse_args()
    args.test_size = args.test_size or (40 if args.quick else 64)
    run_figure("eval", "Figure 4: zero-shot evaluation over 12 languages vs a Trainer.predict loop", measure, args)


if __name__ == "__main__":
    main()
