"""Active-vocabulary embedding training equals dense AdamW, keeps the nn.Embedding layout and refuses unseen ids."""

from __future__ import annotations

import math
import random

import pytest
import torch
from datasets import Dataset
from torch import nn
from transformers import BertConfig, BertModel, T5Config, T5EncoderModel

from crossling.config.schema import AggregationConfig, ModelConfig, TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.models.model import build_model
from crossling.tasks.registry import get_task
from crossling.training.active_vocabulary import (
    ActiveRowsEmbedding,
    active_vocabulary,
    token_ids_of,
)
from crossling.training.loop import train_stage

VOCAB, PAD = 60, 0


def _model_dir(tmp_path, dropout=0.1):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, pad_token_id=PAD,
                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    BertModel(config).save_pretrained(tmp_path / "bert")
    return tmp_path / "bert"


def _features(n=48, seed=0):
    """Pairs over ids 5..29 only (ids 30..59 never occur); label = whether id 7 occurs."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        ids = [2] + [rng.randrange(5, 30) for _ in range(rng.randrange(3, 12))] + [3]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": int(7 in ids), "length": len(ids)})
    return Dataset.from_list(rows)


def _train(model_dir, features, tmp_path, *, active: bool):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name_or_path=str(model_dir)), AggregationConfig(), get_task("pawsx"))
    config = TrainingConfig(epochs=3, batch_size=8, learning_rate=5e-3, weight_decay=0.1, mixed_precision="no",
                            checkpoint_every_steps=4, select_best=False, active_vocabulary=active)
    train_stage(model, features, config=config, seed=1, work_dir=tmp_path / f"stage-{active}",
                collator=PaddingCollator(PAD), show_progress=False)
    return model


def test_training_equals_dense_adamw_and_unused_rows_only_decay(tmp_path):
    model_dir = _model_dir(tmp_path)
    features = _features()
    initial = BertModel.from_pretrained(model_dir).embeddings.word_embeddings.weight.detach().clone()
    dense = _train(model_dir, features, tmp_path, active=False)
    sparse = _train(model_dir, features, tmp_path, active=True)

    assert type(sparse.encoder.get_input_embeddings()) is nn.Embedding  # put back after the stage
    dense_state, sparse_state = dense.state_dict(), sparse.state_dict()
    assert dense_state.keys() == sparse_state.keys()
    for key, value in dense_state.items():
        torch.testing.assert_close(sparse_state[key], value, rtol=1e-4, atol=1e-6, msg=key)

    weight = sparse.encoder.get_input_embeddings().weight.detach()
    # Never-seen rows (and the padding row) only decayed: 18 steps of w *= 1 - lr_t * wd, linear schedule.
    total, warmup = 18, int(0.1 * 18)
    schedule = [t / warmup if t < warmup else (total - t) / (total - warmup) for t in range(total)]
    factor = math.prod(1 - 5e-3 * lam * 0.1 for lam in schedule)
    torch.testing.assert_close(weight[30:], initial[30:] * factor, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(weight[PAD], initial[PAD] * factor, rtol=1e-5, atol=1e-7)
    assert factor < 0.9999
    # Seen rows were trained (they moved by far more than the decay).
    assert (weight[5:30] - initial[5:30] * factor).abs().max() > 1e-3


def test_resume_from_a_checkpoint_gives_the_same_weights(tmp_path):
    model_dir = _model_dir(tmp_path)
    features = _features()
    config = TrainingConfig(epochs=2, batch_size=8, learning_rate=5e-3, weight_decay=0.1, mixed_precision="no",
                            checkpoint_every_steps=4, select_best=False)

    def run(work, stop=None):
        torch.manual_seed(0)
        model = build_model(ModelConfig(name_or_path=str(model_dir)), AggregationConfig(), get_task("pawsx"))
        train_stage(model, features, config=config, seed=1, work_dir=work, collator=PaddingCollator(PAD),
                    show_progress=False, stop_after_steps=stop)
        return model

    whole = run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "cut", stop=5)
    resumed = run(tmp_path / "cut")
    for key, value in whole.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_state_dict_round_trip_and_evaluation_of_unseen_ids():
    torch.manual_seed(0)
    embedding = nn.Embedding(10, 4, padding_idx=0)
    original = embedding.weight.detach().clone()
    compact = ActiveRowsEmbedding(embedding, [3, 5])
    assert compact.active_ids.tolist() == [0, 3, 5]
    compact.decay = 0.5
    with torch.no_grad():
        compact.rows[1] += 1.0  # id 3
    state = compact.state_dict()
    assert list(state) == ["weight"] and state["weight"].shape == (10, 4)
    torch.testing.assert_close(state["weight"][3], original[3] + 1.0)
    torch.testing.assert_close(state["weight"][4], original[4] * 0.5)
    compact.eval()
    out = compact(torch.tensor([[3, 4, 0]]))
    torch.testing.assert_close(out[0, 0], original[3] + 1.0)
    torch.testing.assert_close(out[0, 1], original[4] * 0.5)

    # Loading (resuming the same stage) reads the active rows; the frozen ones stay the installed table's.
    fresh = nn.Embedding(10, 4, padding_idx=0)
    other = ActiveRowsEmbedding(fresh, [3, 5])
    other.load_state_dict(state)
    torch.testing.assert_close(other.rows.detach(), state["weight"][[0, 3, 5]])
    torch.testing.assert_close(other.frozen[4], fresh.weight[4].detach())


def test_an_unseen_id_in_a_training_batch_is_an_error():
    compact = ActiveRowsEmbedding(nn.Embedding(10, 4), [1, 2])
    compact.train()
    with pytest.raises(RuntimeError, match=r"token ids \[7\]"):
        compact(torch.tensor([[1, 7]]))


def test_only_the_padding_row_gets_no_gradient():
    compact = ActiveRowsEmbedding(nn.Embedding(10, 4, padding_idx=0), [1, 2])
    compact(torch.tensor([[1, 2, 0, 0]])).sum().backward()
    assert compact.rows.grad[0].abs().sum() == 0  # padding slot
    assert compact.rows.grad[1:].abs().sum() > 0


def test_token_ids_of_flattens_nested_choice_rows():
    rows = Dataset.from_list([{"input_ids": [[1, 4], [2, 9, 9]]}, {"input_ids": [[4], [3]]}])
    assert token_ids_of(rows, extra_ids=[0]).tolist() == [0, 1, 2, 3, 4, 9]


def test_not_installed_when_tied_to_an_output_projection_or_frozen():
    class TiedLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight

        def get_input_embeddings(self):
            return self.embed

    with active_vocabulary(TiedLM(), Dataset.from_list([{"input_ids": [1]}])) as compact:
        assert compact is None
    frozen = TiedLM()
    frozen.out = nn.Linear(4, 10)
    frozen.embed.weight.requires_grad_(False)
    with active_vocabulary(frozen, Dataset.from_list([{"input_ids": [1]}])) as compact:
        assert compact is None


def test_t5_shared_embeddings_are_replaced_together_and_restored():
    model = T5EncoderModel(T5Config(vocab_size=20, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2))
    original = model.get_input_embeddings()
    with active_vocabulary(model, Dataset.from_list([{"input_ids": [1, 2, 3]}])) as compact:
        assert compact is not None
        assert model.encoder.embed_tokens is compact and model.shared is compact
        model(input_ids=torch.tensor([[1, 2, 3]])).last_hidden_state.sum().backward()
        assert compact.rows.grad is not None
    assert model.shared is original and model.encoder.embed_tokens.weight is original.weight


@pytest.mark.slow
def test_compiled_training_matches_eager_training(tmp_path):
    """``training.compile: true`` trains through torch.compile to the eager result (minutes on a CPU: ``-m slow``)."""
    model_dir = _model_dir(tmp_path, dropout=0.0)  # compiled code samples dropout masks from another RNG stream
    features = _features()

    def run(compiled):
        torch.manual_seed(0)
        model = build_model(ModelConfig(name_or_path=str(model_dir), head_dropout=0.0), AggregationConfig(),
                            get_task("pawsx"))
        config = TrainingConfig(epochs=1, batch_size=8, learning_rate=5e-3, mixed_precision="no",
                                checkpoint_every_steps=0, select_best=False, compile=compiled)
        train_stage(model, features, config=config, seed=1, work_dir=tmp_path / f"c-{compiled}",
                    collator=PaddingCollator(PAD), show_progress=False)
        return model.state_dict()

    eager, compiled = run(False), run(True)
    for key, value in eager.items():
        torch.testing.assert_close(compiled[key], value, rtol=1e-3, atol=1e-5, msg=key)
