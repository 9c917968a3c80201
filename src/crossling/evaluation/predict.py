"""Batched inference over a features dataset: length-sorted batches, inference mode, bf16 autocast, sharded over processes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader

from crossling.data.batching import evaluation_batches
from crossling.utils.distributed import process_count, process_state
from crossling.utils.precision import resolve_mixed_precision


def autocast_context(model: torch.nn.Module, mixed_precision: str) -> contextlib.AbstractContextManager:
    """torch.autocast for the model's device in bf16/fp16, or a no-op for fp32."""
    precision = resolve_mixed_precision(mixed_precision)
    if precision == "no":
        return contextlib.nullcontext()
    device = next(model.parameters()).device.type
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


def read_rows(features: Any, indices: list[int]) -> list[dict[str, Any]]:
    """Rows ``indices`` of ``features``, in that order, as dicts: one read for the whole batch.

    An HF ``datasets.Dataset`` answers ``__getitems__`` (what torch's DataLoader calls) with one
    Arrow ``take`` of all the rows, where ``features[i]`` per row takes and formats one row at a
    time; a sequence without it is read row by row.
    """
    read_many = getattr(features, "__getitems__", None)
    if read_many is not None:
        return read_many(list(indices))
    return [features[i] for i in indices]


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
    Launched on several processes, each scores its share of the batches and every process gets
    all rows (``_sharded_logits``); every process must call it.
    """
    if process_count() > 1:
        return _sharded_logits(model, features, batch_size, collator, mixed_precision, advance)
    lengths = features["length"]
    device = next(model.parameters()).device
    outputs: list[np.ndarray | None] = [None] * len(lengths)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast_context(model, mixed_precision):
            for batch_indices in evaluation_batches(lengths, batch_size):
                batch = collator(read_rows(features, batch_indices))
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


class _IndexedRows:
    """Collates a batch of row indices into ``(index tensor, model inputs)`` (labels left out)."""

    def __init__(self, features: Any, collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]]) -> None:
        self.features = features
        self.collator = collator

    def __call__(self, indices: list[int]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        batch = self.collator(read_rows(self.features, indices))
        batch.pop("labels", None)
        return torch.tensor(indices, dtype=torch.long), batch


def _sharded_logits(
    model: torch.nn.Module,
    features: Any,
    batch_size: int,
    collator: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    mixed_precision: str,
    advance: Callable[[int], None] | None,
) -> list[np.ndarray]:
    """``predict_logits`` on several processes: the single-process batches, dealt out by accelerate.

    ``prepare_data_loader`` gives process p batches p, p + N, ...; the last round is filled up
    with rows from the start so every process runs as many batches, and ``gather_for_metrics``
    drops those duplicates again. Every process returns the logits of every row.
    """
    lengths = features["length"]
    order = np.argsort(-np.asarray(lengths), kind="stable").tolist()  # evaluation_batches' order
    state = process_state()
    loader = prepare_data_loader(
        DataLoader(
            range(len(lengths)), sampler=order, batch_size=batch_size, collate_fn=_IndexedRows(features, collator)
        ),
        device=next(model.parameters()).device,
        num_processes=state.num_processes,
        process_index=state.process_index,
        put_on_device=True,
    )
    accelerator = Accelerator()  # the run's state; gather_for_metrics reads where the loader stands
    outputs: list[np.ndarray | None] = [None] * len(lengths)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast_context(model, mixed_precision):
            for indices, batch in loader:
                logits = model(**batch)["logits"].float()
                if logits.ndim > 2:  # per-token logits: the processes' batches may be padded to other lengths
                    logits = accelerator.pad_across_processes(logits, dim=1)
                # Tensors only (no pickled objects between processes); gather_for_metrics drops the fill-up rows.
                gathered, rows = accelerator.gather_for_metrics((logits, indices))
                for index, out in zip(rows.tolist(), gathered.cpu().numpy(), strict=True):
                    outputs[index] = out[: lengths[index]] if out.ndim > 1 else out
                if advance is not None:
                    advance(len(rows))
    finally:
        model.train(was_training)
    missing = sum(out is None for out in outputs)
    if missing:
        raise RuntimeError(f"sharded prediction lost {missing} of {len(outputs)} rows")
    return outputs  # type: ignore[return-value]
