"""HF Trainer baselines on the same weights and features: run_xnli.py defaults, and Trainer at its best CPU settings."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import DEVICE, StepTimer

#: The two Trainer configurations compared against crossling.
#: ``run_xnli``: HF's examples/pytorch/text-classification/run_xnli.py defaults (pad_to_max_length=True,
#: max_seq_length 128, fp32, default_data_collator, random sampler).
#: ``best``: DataCollatorWithPadding, group_by_length, bf16 autocast (on the GPU when there is one).
SETTINGS = {
    "run_xnli": {"pad_to_max_length": True, "bf16": False, "group_by_length": False},
    "best": {"pad_to_max_length": False, "bf16": True, "group_by_length": True},
}


def hf_model(path: Path, num_labels: int, *, freeze_embeddings: bool = False) -> torch.nn.Module:
    """AutoModelForSequenceClassification from the model directory (its pooler and classifier are new)."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    if freeze_embeddings:
        for parameter in model.base_model.embeddings.parameters():
            parameter.requires_grad_(False)
    return model


def hf_dataset(features: Any, *, pad_to_max_length: bool, max_length: int = 128) -> Any:
    """crossling's feature rows as a Trainer dataset; padded to ``max_length`` as run_xnli does when asked."""
    dataset = features.remove_columns([c for c in features.column_names if c in ("example_id",)])
    if not pad_to_max_length:
        return dataset

    def pad(batch: dict[str, list]) -> dict[str, list]:
        out = {}
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            if key in batch:
                fill = 0
                out[key] = [row + [fill] * (max_length - len(row)) for row in batch[key]]
        return out

    return dataset.map(pad, batched=True).remove_columns(["length"])


def hf_args(
    output_dir: str, *, steps: int, batch_size: int, bf16: bool, group_by_length: bool, seed: int, learning_rate: float
) -> Any:
    """TrainingArguments of a timed Trainer run: no saving, no logging, no evaluation, CPU."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        bf16=bf16,
        use_cpu=DEVICE.type == "cpu",
        seed=seed,
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
    )


def hf_train(
    path: Path,
    features: Any,
    tokenizer: Any,
    *,
    setting: str,
    steps: int,
    batch_size: int,
    num_labels: int,
    freeze_embeddings: bool = False,
    seed: int = 0,
    learning_rate: float = 5e-5,
    keep_trainer: bool = False,
) -> dict[str, Any]:
    """Train AutoModelForSequenceClassification with Trainer for ``steps`` steps; the StepTimer summary."""
    from transformers import (
        DataCollatorWithPadding,
        Trainer,
        default_data_collator,
        set_seed,
    )

    options = SETTINGS[setting]
    set_seed(seed)
    model = hf_model(path, num_labels, freeze_embeddings=freeze_embeddings)
    dataset = hf_dataset(features, pad_to_max_length=options["pad_to_max_length"])
    collator = default_data_collator if options["pad_to_max_length"] else DataCollatorWithPadding(tokenizer)
    timer = StepTimer().attach(model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as work:
        trainer = Trainer(
            model=model,
            args=hf_args(
                work,
                steps=steps,
                batch_size=batch_size,
                bf16=options["bf16"],
                group_by_length=options["group_by_length"],
                seed=seed,
                learning_rate=learning_rate,
            ),
            train_dataset=dataset,
            data_collator=collator,
            processing_class=tokenizer,
        )
        trainer.train()
    wall = time.perf_counter() - started
    timer.detach()
    summary: dict[str, Any] = {**timer.summary(), "wall_seconds": wall}
    if keep_trainer:
        summary["trainer"] = trainer
    return summary


def hf_accuracy(trainer: Any, features: Any) -> float:
    """Accuracy of ``trainer.predict`` on crossling's feature rows (labels included)."""
    output = trainer.predict(hf_dataset(features, pad_to_max_length=False).remove_columns(["length"]))
    return float((np.argmax(output.predictions, axis=-1) == np.asarray(features["labels"])).mean())
