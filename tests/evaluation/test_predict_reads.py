"""Evaluation reads each batch's rows with one Arrow read, and predicts exactly what per-row reads predicted."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

from crossling.data.batching import PaddingCollator
from crossling.evaluation.predict import _IndexedRows, predict_logits, read_rows
from crossling.models.aggregation import build_aggregator
from crossling.models.heads import SequenceClassificationHead, TokenClassificationHead
from crossling.models.model import CrossLingualModel


class _RowByRow:
    """``features`` without ``__getitems__``: read one row at a time, as evaluation did before (the reference)."""

    def __init__(self, features: datasets.Dataset) -> None:
        self.features = features

    def __getitem__(self, key):
        return self.features[key]

    def __len__(self) -> int:
        return len(self.features)


def _features(rows: int, seed: int, tagging: bool = False) -> datasets.Dataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 40, rows).tolist()
    return datasets.Dataset.from_dict(
        {
            "input_ids": [rng.integers(5, 100, n).tolist() for n in lengths],
            "attention_mask": [[1] * n for n in lengths],
            "length": lengths,
            "labels": [[0] * n for n in lengths] if tagging else [n % 3 for n in lengths],
            "example_id": list(range(rows)),
        }
    )


def _model(head: torch.nn.Module) -> CrossLingualModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
    )
    return CrossLingualModel(BertModel(config), build_aggregator("last", num_layers=2, hidden_size=32), head)


@pytest.mark.parametrize("head", [SequenceClassificationHead(32, 3), TokenClassificationHead(32, 5)])
def test_batched_reads_predict_exactly_what_row_by_row_reads_did(head, monkeypatch):
    tagging = isinstance(head, TokenClassificationHead)
    features, model = _features(45, seed=3, tagging=tagging), _model(head)
    collator = PaddingCollator(0, sequence_labels=tagging)
    reads: list[int] = []
    original = datasets.Dataset.__getitems__
    monkeypatch.setattr(
        datasets.Dataset, "__getitems__", lambda self, keys: reads.append(len(keys)) or original(self, keys)
    )
    got = predict_logits(model, features, batch_size=8, collator=collator, mixed_precision="no")
    assert sorted(reads) == [5] + [8] * 5  # one read per batch, not one per row
    want = predict_logits(model, _RowByRow(features), batch_size=8, collator=collator, mixed_precision="no")
    assert len(got) == len(want) == 45
    assert all(g.shape == w.shape and np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert got[0].shape == ((features["length"][0], 5) if tagging else (3,))


def test_read_rows_keeps_the_order_asked_and_the_sharded_collation_uses_it():
    features = _features(10, seed=1)
    indices = [7, 2, 9, 2]
    assert read_rows(features, indices) == [features[i] for i in indices]
    assert read_rows(_RowByRow(features), indices) == [features[i] for i in indices]
    index, batch = _IndexedRows(features, PaddingCollator(0))(indices)
    assert index.tolist() == indices and "labels" not in batch
    assert batch["input_ids"][1, : features["length"][2]].tolist() == features["input_ids"][2]
