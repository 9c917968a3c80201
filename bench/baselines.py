"""HF Trainer baselines on the same weights, features and settings as crossling: run_xnli.py defaults, and matched."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import StepTimer, device

#: The Trainer configurations compared against crossling (figure 3).
#: ``run_xnli``: HF's examples/pytorch/text-classification/run_xnli.py defaults where they concern speed:
#: pad_to_max_length=True (max_seq_length 128, padded with the tokenizer's pad id), default_data_collator,
#: fp32, random sampler.
#: ``matched``: everything as crossling runs: dynamic padding to a multiple of 8 (DataCollatorWithPadding),
#: train_sampling_strategy=group_by_length, crossling's mixed precision (``auto`` resolved on this machine).
#: ``matched-random``: ``matched`` with random batches (the Trainer's default sampler): a reference for how the
#: length-grouped sampler changes speed and what one epoch learns.
SETTINGS = {
    "run_xnli": {"pad_to_max_length": True, "matched_precision": False, "group_by_length": False},
    "matched": {"pad_to_max_length": False, "matched_precision": True, "group_by_length": True},
    "matched-random": {"pad_to_max_length": False, "matched_precision": True, "group_by_length": False},
}
#: The padding multiple of both sides' dynamic padding (crossling's PaddingCollator default).
PAD_MULTIPLE = 8


def hf_model(path: Path, num_labels: int, *, freeze_embeddings: bool = False) -> torch.nn.Module:
    """AutoModelForSequenceClassification from the model directory (its pooler and classifier are new).

    ``freeze_embeddings`` freezes the embedding module (word, position, type embeddings and their
    layer norm), as crossling's ``model.freeze_embeddings`` does.
    """
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=num_labels)
    if freeze_embeddings:
        for parameter in model.base_model.embeddings.parameters():
            parameter.requires_grad_(False)
    return model


def hf_dataset(features: Any, *, pad_to_max_length: bool, pad_id: int = 0, max_length: int = 128) -> Any:
    """crossling's feature rows as a Trainer dataset; padded to ``max_length`` with ``pad_id`` when asked."""
    dataset = features.remove_columns([c for c in features.column_names if c in ("example_id",)])
    if not pad_to_max_length:
        return dataset
    fills = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0}

    def pad(batch: dict[str, list]) -> dict[str, list]:
        return {
            key: [row + [fill] * (max_length - len(row)) for row in batch[key]]
            for key, fill in fills.items()
            if key in batch
        }

    return dataset.map(pad, batched=True).remove_columns(["length"])


def hf_precision(precision: str) -> dict[str, bool]:
    """TrainingArguments' ``bf16`` / ``fp16`` flags for a resolved crossling precision (``bf16``, ``fp16``, ``no``)."""
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def hf_args(output_dir: str, *, batch_size: int, precision: str, group_by_length: bool, **options: Any) -> Any:
    """TrainingArguments of a timed Trainer run: no saving, logging or evaluation, on the figure's device.

    ``options`` go to TrainingArguments as they are (seed, learning_rate, weight_decay, num_train_epochs ...).
    """
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=output_dir,
        per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size,
        use_cpu=device().type == "cpu",
        save_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        **hf_precision(precision),
        **options,
    )


def hf_collator(tokenizer: Any, pad_to_max_length: bool) -> Any:
    """run_xnli's default_data_collator (rows already padded), else DataCollatorWithPadding to a multiple of 8."""
    from transformers import DataCollatorWithPadding, default_data_collator

    if pad_to_max_length:
        return default_data_collator
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=PAD_MULTIPLE)


def hf_train(
    path: Path,
    features: Any,
    tokenizer: Any,
    *,
    setting: str,
    batch_size: int,
    num_labels: int,
    precision: str,
    steps: int | None = None,
    weight_decay: float = 0.01,
    freeze_embeddings: bool = False,
    seed: int = 0,
    learning_rate: float = 5e-5,
    keep_trainer: bool = False,
) -> dict[str, Any]:
    """Train AutoModelForSequenceClassification with Trainer for ``steps`` steps (None: one epoch).

    ``precision`` is crossling's resolved precision; the ``run_xnli`` setting ignores it (fp32).
    Returns the StepTimer's steady-state summary, with the rates over every step under ``epoch``.
    """
    from transformers import Trainer, set_seed

    options = SETTINGS[setting]
    set_seed(seed)
    model = hf_model(path, num_labels, freeze_embeddings=freeze_embeddings)
    dataset = hf_dataset(features, pad_to_max_length=options["pad_to_max_length"], pad_id=tokenizer.pad_token_id)
    timer = StepTimer().attach(model)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as work:
        trainer = Trainer(
            model=model,
            args=hf_args(
                work,
                batch_size=batch_size,
                precision=precision if options["matched_precision"] else "no",
                group_by_length=options["group_by_length"],
                seed=seed,
                learning_rate=learning_rate,
                weight_decay=weight_decay,
                max_steps=steps if steps is not None else -1,
                num_train_epochs=1,
                warmup_steps=0,
                max_grad_norm=1.0,
                optim="adamw_torch_fused",
            ),
            train_dataset=dataset,
            data_collator=hf_collator(tokenizer, options["pad_to_max_length"]),
            processing_class=tokenizer,
        )
        trainer.train()
    wall = time.perf_counter() - started
    timer.detach()
    summary: dict[str, Any] = {**timer.summary(), "epoch": timer.epoch(), "wall_seconds": wall}
    if keep_trainer:
        summary["trainer"] = trainer
    return summary


def hf_accuracy(trainer: Any, features: Any) -> float:
    """Accuracy of ``trainer.predict`` on crossling's feature rows (labels included), padded as it trained."""
    from transformers import default_data_collator

    padded = trainer.data_collator is default_data_collator
    dataset = hf_dataset(features, pad_to_max_length=padded, pad_id=trainer.processing_class.pad_token_id)
    output = trainer.predict(dataset if padded else dataset.remove_columns(["length"]))
    return float((np.argmax(output.predictions, axis=-1) == np.asarray(features["labels"])).mean())
