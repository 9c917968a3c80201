"""The vectorised PaddingCollator gives exactly the batches of the per-row padding loop it replaced."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossling.data.batching import NON_INPUT_COLUMNS, PaddingCollator, pad_sequences


def _reference(rows, pad_id, sequence_labels, multiple):
    """The collator as it was (crossling 6e942e1): one numpy row assignment per sequence."""
    longest = max(len(seq) for row in rows for seq in _sequences(row["input_ids"]))
    longest = -(-longest // multiple) * multiple if multiple > 1 else longest
    batch = {}
    for key in rows[0]:
        if key in NON_INPUT_COLUMNS:
            continue
        if key == "labels" and not sequence_labels:
            batch[key] = torch.tensor([row[key] for row in rows], dtype=torch.long)
            continue
        fill = pad_id if key == "input_ids" else (-100 if key == "labels" else 0)
        seqs = [seq for row in rows for seq in _sequences(row[key])]
        padded = np.full((len(seqs), longest), fill, dtype=np.int64)
        for i, seq in enumerate(seqs):
            padded[i, : len(seq)] = seq
        nested = isinstance(rows[0][key][0], list)
        batch[key] = torch.from_numpy(padded.reshape(len(rows), -1, longest) if nested else padded)
    return batch


def _sequences(value):
    return value if value and isinstance(value[0], list) else [value]


def _ragged_rows(rng, count, sequence_labels, choices=0):
    def one(length):
        ids = rng.integers(5, 250_000, length).tolist()
        return ids, [1] * length, rng.integers(0, 2, length).tolist()

    rows = []
    for _ in range(count):
        parts = [one(int(rng.integers(1, 70))) for _ in range(max(choices, 1))]
        ids, mask, types = ([p[k] for p in parts] if choices else parts[0][k] for k in range(3))
        row = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "length": len(ids), "example_id": 3}
        row["labels"] = rng.integers(-100, 7, len(ids)).tolist() if sequence_labels else int(rng.integers(0, 3))
        rows.append(row)
    return rows


@pytest.mark.parametrize("multiple", [1, 8, 128])
@pytest.mark.parametrize("sequence_labels", [False, True])
@pytest.mark.parametrize("pad_id", [0, 1])
def test_random_ragged_batches_are_padded_exactly_as_before(multiple, sequence_labels, pad_id):
    rng = np.random.default_rng([multiple, sequence_labels, pad_id])
    collator = PaddingCollator(pad_id, sequence_labels=sequence_labels, pad_to_multiple_of=multiple)
    for count in (1, 2, 7, 32):
        rows = _ragged_rows(rng, count, sequence_labels)
        got, want = collator(rows), _reference(rows, pad_id, sequence_labels, multiple)
        assert got.keys() == want.keys() and "length" not in got
        for key in want:
            assert got[key].dtype == want[key].dtype == torch.long and torch.equal(got[key], want[key]), key
        if multiple > 1:
            assert got["input_ids"].shape[1] % multiple == 0


def test_multiple_choice_batches_are_padded_exactly_as_before():
    rng = np.random.default_rng(5)
    rows = _ragged_rows(rng, 6, False, choices=4)
    got, want = PaddingCollator(1)(rows), _reference(rows, 1, False, 8)
    assert got["input_ids"].shape == want["input_ids"].shape and got["input_ids"].shape[:2] == (6, 4)
    for key in want:
        assert torch.equal(got[key], want[key]), key


def test_pad_sequences_handles_empty_sequences_and_the_fill():
    out = pad_sequences([[3, 4], [], [5]], 3, -100)
    assert out.dtype == np.int64 and out.tolist() == [[3, 4, -100], [-100, -100, -100], [5, -100, -100]]
