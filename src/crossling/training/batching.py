"""Batching: length-grouped training batches, length-sorted evaluation batches, dynamic padding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

#: Columns that describe examples but are not model inputs.
NON_INPUT_COLUMNS = ("length", "example_id", "word_ids", "offset_mapping", "example_index")


def training_batches(lengths: Sequence[int], batch_size: int, *, seed: int, epoch: int,
                     group_by_length: bool = True, mega_batch_factor: int = 50) -> list[list[int]]:
    """Index batches for one epoch; the same (seed, epoch) always gives the same batches (resume relies on it).

    With ``group_by_length``, as HF's LengthGroupedSampler: shuffle, cut into mega-batches of
    ``mega_batch_factor * batch_size``, sort each by length (longest first), split into
    batches, then shuffle the batch order. Padding then costs little, and batches stay random.
    The last batch may be smaller.
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    if group_by_length:
        lengths_arr = np.asarray(lengths)
        mega = batch_size * mega_batch_factor
        chunks = [order[i:i + mega] for i in range(0, len(order), mega)]
        order = np.concatenate([c[np.argsort(-lengths_arr[c], kind="stable")] for c in chunks]) if chunks else order
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if group_by_length:
        # Keep the longest batch first (an out-of-memory error shows at once), shuffle the rest.
        rest = batches[1:]
        rng.shuffle(rest)
        batches = batches[:1] + rest
    return batches


def evaluation_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches sorted by length (longest first) for inference: the least padding possible."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class PaddingCollator:
    """Pads a list of feature rows to the longest row: input ids with the pad id, masks with 0.

    ``labels`` are stacked as they are (class ids, or QA start/end pairs) unless
    ``sequence_labels`` is set (tagging), in which case they are padded with -100 like the
    inputs. Columns in ``NON_INPUT_COLUMNS`` are dropped.

    Args:
        pad_token_id: The tokenizer's padding id.
        sequence_labels: Labels are one per token and must be padded.
        pad_to_multiple_of: Round the padded length up (8 suits tensor cores and bf16 kernels).
    """

    def __init__(self, pad_token_id: int, *, sequence_labels: bool = False, pad_to_multiple_of: int = 8) -> None:
        self.pad_token_id = pad_token_id
        self.sequence_labels = sequence_labels
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """Stack ``rows`` into a batch of tensors."""
        longest = max(len(row["input_ids"]) for row in rows)
        if self.pad_to_multiple_of > 1:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch: dict[str, torch.Tensor] = {}
        for key in rows[0]:
            if key in NON_INPUT_COLUMNS:
                continue
            values = [row[key] for row in rows]
            if key == "labels" and not self.sequence_labels:
                batch[key] = torch.tensor(values, dtype=torch.long)
                continue
            fill = self.pad_token_id if key == "input_ids" else (-100 if key == "labels" else 0)
            padded = np.full((len(rows), longest), fill, dtype=np.int64)
            for i, seq in enumerate(values):
                padded[i, : len(seq)] = seq
            batch[key] = torch.from_numpy(padded)
        return batch
