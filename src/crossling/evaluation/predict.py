"""Batched inference over a features dataset: length-sorted batches, inference mode, bf16 autocast."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from crossling.training.batching import evaluation_batches
from crossling.training.precision import resolve_mixed_precision


def autocast_context(model: torch.nn.Module, mixed_precision: str) -> contextlib.AbstractContextManager:
    """torch.autocast for the model's device in bf16/fp16, or a no-op for fp32."""
    precision = resolve_mixed_precision(mixed_precision)
    if precision == "no":
        return contextlib.nullcontext()
    device = next(model.parameters()).device.type
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


def predict_logits(
    model: torch.nn.Module,
    features: Any,
    *,
    batch_size: int,
    collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    mixed_precision: str = "auto",
    advance: Callable[[int], None] | None = None,
) -> list[np.ndarray]:
    """Logits of every row of ``features``, in the dataset's order (float32 numpy, one array per row).

    Rows are batched longest-first so padding is minimal; per-token logits are cut back to
    each row's own length. ``advance(n)`` is called after each batch of ``n`` rows (a progress bar).
    """
    lengths = features["length"]
    device = next(model.parameters()).device
    outputs: list[np.ndarray | None] = [None] * len(lengths)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast_context(model, mixed_precision):
            for batch_indices in evaluation_batches(lengths, batch_size):
                batch = collator([features[i] for i in batch_indices])
                batch.pop("labels", None)
                batch = {k: v.to(device) for k, v in batch.items()}
                logits = model(**batch)["logits"].float().cpu().numpy()
                for row, index in enumerate(batch_indices):
                    out = logits[row]
                    outputs[index] = out[: lengths[index]] if out.ndim > 1 else out
                if advance is not None:
                    advance(len(batch_indices))
    finally:
        model.train(was_training)
    return outputs  # type: ignore[return-value]
