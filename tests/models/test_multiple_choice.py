"""Multiple choice: featurizer columns, B x C x T padding, the model's flattening, the head's loss, inference."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from tiny import WORDS, train_tokenizer
from transformers import BertConfig, BertModel

from crossling.data.featurizers.choice import featurize_choices, first_sequence
from crossling.data.records import ChoiceExample
from crossling.errors import DataError
from crossling.evaluation.predict import predict_logits
from crossling.evaluation.scoring import prediction_file, score
from crossling.models.aggregation import build_aggregator
from crossling.models.heads import MultipleChoiceHead, build_head
from crossling.models.model import CrossLingualModel
from crossling.tasks import TaskKind, get_task
from crossling.training.batching import PaddingCollator


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([" ".join(WORDS["en"]) + " what was the cause effect ?"] * 5)


def _examples() -> list[ChoiceExample]:
    return [
        ChoiceExample("a", "red cat", "cause", ("blue dog", "green bird tree house"), 1),
        ChoiceExample("b", "sun", "effect", ("moon", "stone river"), 0),
        ChoiceExample("c", "tree", "who is it ?", ("cat", "dog", "bird"), 2),
    ]


def test_featurizer_nests_one_sequence_per_choice_with_copas_prompt(tokenizer):
    columns = featurize_choices(_examples()[:2], get_task("xcopa"), tokenizer, 32)
    assert [len(choices) for choices in columns["input_ids"]] == [2, 2]
    assert columns["labels"] == [1, 0]
    assert columns["length"] == [max(len(ids) for ids in choices) for choices in columns["input_ids"]]
    assert first_sequence(_examples()[0]) == "red cat What was the cause?"
    assert first_sequence(_examples()[2]) == "tree who is it ?"
    decoded = tokenizer.decode(columns["input_ids"][0][1])
    assert "cause" in decoded and "green bird" in decoded
    with pytest.raises(DataError, match="not an index"):
        featurize_choices([ChoiceExample("x", "p", "cause", ("a", "b"), 2)], get_task("xcopa"), tokenizer, 32)


def test_collator_pads_choices_to_b_by_c_by_t_and_keeps_flat_rows_working(tokenizer):
    columns = featurize_choices(_examples()[:2], get_task("xcopa"), tokenizer, 32)
    rows = [{key: columns[key][i] for key in columns} for i in range(2)]
    batch = PaddingCollator(tokenizer.pad_token_id, pad_to_multiple_of=8)(rows)
    longest = max(columns["length"])
    assert batch["input_ids"].shape == (2, 2, 8 * -(-longest // 8)) and batch["labels"].tolist() == [1, 0]
    assert batch["attention_mask"][0, 1].sum() == len(columns["input_ids"][0][1])
    assert (batch["input_ids"][batch["attention_mask"] == 0] == tokenizer.pad_token_id).all()
    flat = PaddingCollator(0)([{"input_ids": [1, 2, 3], "attention_mask": [1, 1, 1], "labels": 0}])
    assert flat["input_ids"].shape == (1, 8)
    mixed = featurize_choices(_examples()[1:], get_task("siqa"), tokenizer, 32)
    with pytest.raises(ValueError, match="same number of choices"):
        PaddingCollator(0)([{key: mixed[key][i] for key in mixed} for i in range(2)])


def _model(tokenizer) -> CrossLingualModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    head = build_head(TaskKind.MULTIPLE_CHOICE, 32, 0, pooling="cls", dropout=0.0)
    return CrossLingualModel(BertModel(config), build_aggregator("last", num_layers=2, hidden_size=32), head).eval()


def test_model_scores_each_choice_as_its_own_sequence(tokenizer):
    model = _model(tokenizer)
    assert isinstance(model.head, MultipleChoiceHead)
    columns = featurize_choices(_examples()[:2], get_task("xcopa"), tokenizer, 32)
    batch = PaddingCollator(tokenizer.pad_token_id)([{k: columns[k][i] for k in columns} for i in range(2)])
    out = model(**batch)
    assert out["logits"].shape == (2, 2) and out["loss"].ndim == 0
    expected = torch.nn.functional.cross_entropy(out["logits"], batch["labels"])
    assert torch.allclose(out["loss"], expected)
    ids, mask = batch["input_ids"][0, 1:2], batch["attention_mask"][0, 1:2]
    single = model.head(model.features(ids, mask), mask)
    assert torch.allclose(out["logits"][0, 1], single[0, 0], atol=1e-5)


def test_predict_logits_and_scorer_work_on_choice_features(tokenizer):
    task = get_task("xcopa")
    records = _examples()[:2]
    features = datasets.Dataset.from_dict(featurize_choices(records, task, tokenizer, 32))
    logits = predict_logits(
        _model(tokenizer),
        features,
        batch_size=2,
        collator=PaddingCollator(tokenizer.pad_token_id),
        mixed_precision="no",
    )
    assert [row.shape for row in logits] == [(2,), (2,)]
    result = score(task, [np.array([0.1, 0.9]), np.array([0.2, 0.1])], features, records, language="et")
    assert result.metrics == {"accuracy": 100.0} and result.predictions == [1, 0]
    assert prediction_file(task, result.predictions) == ("tsv", "1\n0\n")


def test_predict_logits_reports_progress_once_per_row(tokenizer):
    task = get_task("xcopa")
    records = _examples()[:2] * 2 + _examples()[:1]  # five two-choice rows
    features = datasets.Dataset.from_dict(featurize_choices(records, task, tokenizer, 32))
    advanced: list[int] = []
    predict_logits(
        _model(tokenizer),
        features,
        batch_size=2,
        collator=PaddingCollator(tokenizer.pad_token_id),
        mixed_precision="no",
        advance=advanced.append,
    )
    assert sorted(advanced) == [1, 2, 2] and sum(advanced) == len(features) == 5


def test_progress_helper_draws_nothing_when_disabled(capsys):
    from crossling.utils.progress import progress

    with progress("work", 5, enabled=False) as advance:
        advance(5)
    assert capsys.readouterr().out == ""
    with progress("work", 5, enabled=True) as advance:
        for _ in range(5):
            advance(1)
    assert "work" not in capsys.readouterr().out  # transient: no bar frames left in a log (no tty here)
