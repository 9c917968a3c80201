"""Batching: length-grouped training batches, length-sorted evaluation batches, dynamic padding."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

#: Columns that describe examples but are not model inputs.
NON_INPUT_COLUMNS = ("length", "example_id", "word_ids", "offset_mapping", "example_index")


def training_batches(
    lengths: Sequence[int],
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    group_by_length: bool = True,
    mega_batch_factor: int = 50,
    stream: int | None = None,
) -> list[list[int]]:
    """Index batches for one epoch; the same (seed, epoch) always gives the same batches (resume relies on it).

    With ``group_by_length``, as HF's LengthGroupedSampler: shuffle, cut into mega-batches of
    ``mega_batch_factor * batch_size``, sort each by length (longest first), split into
    batches, then shuffle the batch order. Padding then costs little, and batches stay random.
    The last batch may be smaller. ``stream`` (a mixture member's index) draws from its own
    random stream, so that members of one mixture are not shuffled alike.
    """
    rng = np.random.default_rng([seed, epoch] if stream is None else [seed, epoch, stream])
    order = rng.permutation(len(lengths))
    if group_by_length:
        lengths_arr = np.asarray(lengths)
        mega = batch_size * mega_batch_factor
        chunks = [order[i : i + mega] for i in range(0, len(order), mega)]
        order = np.concatenate([c[np.argsort(-lengths_arr[c], kind="stable")] for c in chunks]) if chunks else order
    batches = [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if group_by_length:
        # Keep the longest batch first (an out-of-memory error shows at once), shuffle the rest.
        rest = batches[1:]
        rng.shuffle(rest)
        batches = batches[:1] + rest
    return batches


def evaluation_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches sorted by length (longest first) for inference: the least padding possible."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class PaddingCollator:
    """Pads a list of feature rows to the longest row: input ids with the pad id, masks with 0.

    ``labels`` are stacked as they are (class ids, or QA start/end pairs) unless
    ``sequence_labels`` is set (tagging), in which case they are padded with -100 like the
    inputs. Columns in ``NON_INPUT_COLUMNS`` are dropped. Multiple-choice rows, whose inputs
    are C token lists each, are padded to B x C x T (C must be equal within a batch).

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
        """Stack ``rows`` into a batch of tensors (B x T, or B x C x T for multiple-choice rows)."""
        if _is_nested(rows[0]["input_ids"]):
            return self._collate_choices(rows)
        longest = self._padded_length(max(len(row["input_ids"]) for row in rows))
        batch: dict[str, torch.Tensor] = {}
        for key in rows[0]:
            if key in NON_INPUT_COLUMNS:
                continue
            values = [row[key] for row in rows]
            if key == "labels" and not self.sequence_labels:
                # Class ids and spans are integers; vector targets (image features) are floats.
                floats = isinstance(values[0], float) or (
                    isinstance(values[0], list) and isinstance(values[0][0], float)
                )
                batch[key] = torch.tensor(values, dtype=torch.float32 if floats else torch.long)
                continue
            fill = self.pad_token_id if key == "input_ids" else (-100 if key == "labels" else 0)
            padded = np.full((len(rows), longest), fill, dtype=np.int64)
            for i, seq in enumerate(values):
                padded[i, : len(seq)] = seq
            batch[key] = torch.from_numpy(padded)
        return batch

    def _collate_choices(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        """Rows whose inputs are C token lists each (multiple choice): pad to B x C x T, stack the labels."""
        choices = len(rows[0]["input_ids"])
        if any(len(row["input_ids"]) != choices for row in rows):
            raise ValueError(
                f"multiple-choice rows of one batch must have the same number of choices; found "
                f"{sorted({len(row['input_ids']) for row in rows})}"
            )
        longest = self._padded_length(max(len(seq) for row in rows for seq in row["input_ids"]))
        batch: dict[str, torch.Tensor] = {}
        for key in rows[0]:
            if key in NON_INPUT_COLUMNS:
                continue
            if key == "labels":
                batch[key] = torch.tensor([row[key] for row in rows], dtype=torch.long)
                continue
            padded = np.full(
                (len(rows), choices, longest), self.pad_token_id if key == "input_ids" else 0, dtype=np.int64
            )
            for i, row in enumerate(rows):
                for j, seq in enumerate(row[key]):
                    padded[i, j, : len(seq)] = seq
            batch[key] = torch.from_numpy(padded)
        return batch

    def _padded_length(self, longest: int) -> int:
        """``longest`` rounded up to a multiple of ``pad_to_multiple_of``."""
        if self.pad_to_multiple_of > 1:
            return -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return longest


def _is_nested(input_ids: Sequence[Any]) -> bool:
    """Whether a row's ``input_ids`` is a list of token lists (one per choice) rather than one token list."""
    return len(input_ids) > 0 and isinstance(input_ids[0], (list, tuple))
