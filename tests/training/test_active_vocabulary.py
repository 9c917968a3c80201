"""Active-vocabulary embedding training equals dense AdamW, keeps the nn.Embedding layout and refuses unseen ids."""

from __future__ import annotations

import math
import random

import pytest
import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from datasets import Dataset
from torch import nn
from transformers import BertConfig, BertModel, T5Config, T5EncoderModel

from crossling.config.schema import AggregationConfig, ModelConfig, TrainingConfig
from crossling.models.model import build_model
from crossling.tasks.registry import get_task
from crossling.training import loop
from crossling.training.active_vocabulary import (
    ActiveRowsEmbedding,
    active_vocabulary,
    token_ids_of,
)
from crossling.training.batching import PaddingCollator
from crossling.training.loop import train_stage

VOCAB, PAD = 60, 0


def _model_dir(tmp_path, dropout=0.1):
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=PAD,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    BertModel(config).save_pretrained(tmp_path / "bert")
    # A WordPiece vocabulary of the model's size: crossling refuses a model directory without tokenizer files.
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, VOCAB)]
    (tmp_path / "bert" / "vocab.txt").write_text("\n".join(tokens) + "\n")
    return tmp_path / "bert"


def _features(n=48, seed=0):
    """Pairs over ids 5..29 only (ids 30..59 never occur); label = whether id 7 occurs."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        ids = [2] + [rng.randrange(5, 30) for _ in range(rng.randrange(3, 12))] + [3]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": int(7 in ids), "length": len(ids)})
    return Dataset.from_list(rows)


def _train(model_dir, features, work, *, active: bool, prepare=None, stop=None, **settings):
    """Train a fresh model for 3 epochs of batch 8 (``settings`` override the TrainingConfig); returns it.

    ``prepare(model)`` runs before training; ``stop`` interrupts after that many steps.
    """
    torch.manual_seed(0)
    model = build_model(ModelConfig(name_or_path=str(model_dir)), AggregationConfig(), get_task("pawsx"))
    if prepare is not None:
        prepare(model)
    config = TrainingConfig(
        **{
            "epochs": 3,
            "batch_size": 8,
            "learning_rate": 5e-3,
            "weight_decay": 0.1,
            "mixed_precision": "no",
            "checkpoint_every_steps": 4,
            "select_best": False,
            "active_vocabulary": active,
            **settings,
        }
    )
    train_stage(
        model,
        features,
        config=config,
        seed=1,
        work_dir=work,
        collator=PaddingCollator(PAD),
        show_progress=False,
        stop_after_steps=stop,
    )
    return model


def _decay_factor(positions: list[int], total: int, warmup: int, lr: float = 5e-3, wd: float = 0.1) -> float:
    """prod_t (1 - lr * lambda(t) * wd) over the scheduler positions t of the steps that were taken."""

    def lam(t: int) -> float:
        return t / warmup if t < warmup else (total - t) / (total - warmup)

    return math.prod(1 - lr * lam(t) * wd for t in positions)


def _assert_same_weights(dense, sparse, rtol, atol):
    dense_state, sparse_state = dense.state_dict(), sparse.state_dict()
    assert dense_state.keys() == sparse_state.keys()
    for key, value in dense_state.items():
        torch.testing.assert_close(sparse_state[key], value, rtol=rtol, atol=atol, msg=key)


# (settings, optimiser steps, rtol): 48 rows are 6 batches of 8 an epoch, 3 epochs (accumulation:
# 12 batches of 4, 2 per step). fp32 differs from dense training only in the summation order of the
# embedding gradient; under bf16 autocast a last-bit difference can flip a bf16 rounding (2^-8
# relative), hence the wider bound there.
EQUIVALENCE = {
    "fp32": ({}, 18, 1e-4),
    "no-warmup": ({"warmup_ratio": 0.0}, 18, 1e-4),
    "accumulate-2": ({"gradient_accumulation_steps": 2, "batch_size": 4}, 18, 1e-4),
    "bf16": ({"mixed_precision": "bf16"}, 18, 2e-2),
}


@pytest.mark.parametrize("mode", list(EQUIVALENCE))
def test_training_equals_dense_adamw_and_unused_rows_only_decay(tmp_path, mode):
    settings, total, rtol = EQUIVALENCE[mode]
    model_dir = _model_dir(tmp_path)
    features = _features()
    initial = BertModel.from_pretrained(model_dir).embeddings.word_embeddings.weight.detach().clone()
    dense = _train(model_dir, features, tmp_path / "dense", active=False, **settings)
    sparse = _train(model_dir, features, tmp_path / "sparse", active=True, **settings)

    assert type(sparse.encoder.get_input_embeddings()) is nn.Embedding  # put back after the stage
    _assert_same_weights(dense, sparse, rtol=rtol, atol=1e-6 if rtol < 1e-3 else 1e-3)

    weight = sparse.encoder.get_input_embeddings().weight.detach()
    # Never-seen rows (and the padding row) only decayed: w *= 1 - lr_t * wd at each step, linear schedule.
    factor = _decay_factor(list(range(total)), total, int(settings.get("warmup_ratio", 0.1) * total))
    torch.testing.assert_close(weight[30:], initial[30:] * factor, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(weight[PAD], initial[PAD] * factor, rtol=1e-5, atol=1e-7)
    assert factor < 0.9999
    # Seen rows were trained (they moved by far more than the decay).
    assert (weight[5:30] - initial[5:30] * factor).abs().max() > 1e-3


def _fp16_accelerator_on_cpu(mixed_precision: str, hidden_size: int = 768, tracking: object = None) -> Accelerator:
    """What accelerate builds for fp16 on a GPU (fp16 autocast, a gradient scaler), here on the CPU."""
    AcceleratorState._reset_state()
    accelerator = Accelerator(mixed_precision="fp16", cpu=True)
    # Scale 1: no natural overflow in fp16 (grads < 65504), so only the forced step is skipped.
    accelerator.scaler = torch.amp.GradScaler("cpu", init_scale=1.0)
    accelerator.native_amp = True
    return accelerator


def _overflow_on_backward(call: int):
    """A ``prepare`` hook: the head's last parameter gets an inf gradient on the ``call``-th backward pass."""

    def prepare(model):
        calls = []

        def poison(grad):
            calls.append(1)
            return torch.full_like(grad, float("inf")) if len(calls) == call else grad

        [p for p in model.parameters() if p.requires_grad][-1].register_hook(poison)

    return prepare


def test_fp16_steps_the_gradient_scaler_skips_apply_no_decay(tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "make_accelerator", _fp16_accelerator_on_cpu)
    model_dir = _model_dir(tmp_path)
    features = _features()
    initial = BertModel.from_pretrained(model_dir).embeddings.word_embeddings.weight.detach().clone()
    dense = _train(model_dir, features, tmp_path / "dense", active=False, prepare=_overflow_on_backward(3))
    sparse = _train(model_dir, features, tmp_path / "sparse", active=True, prepare=_overflow_on_backward(3))
    _assert_same_weights(dense, sparse, rtol=2e-2, atol=1e-3)

    # Step 3 was skipped: 17 steps decayed, and the schedule did not advance on the skipped one.
    factor = _decay_factor(list(range(17)), 18, 1)
    for model in (dense, sparse):
        weight = model.encoder.get_input_embeddings().weight.detach()
        torch.testing.assert_close(weight[30:], initial[30:] * factor, rtol=1e-6, atol=1e-8)
    every_step = _decay_factor(list(range(18)), 18, 1)
    assert not torch.allclose(weight[30:], initial[30:] * every_step, rtol=1e-7, atol=0)

    # Interrupted after step 5 (past the skipped step 3) and resumed: the checkpoint's decay and
    # scaler state continue the run to the uninterrupted weights, bit for bit.
    with pytest.raises(KeyboardInterrupt):
        _train(model_dir, features, tmp_path / "cut", active=True, prepare=_overflow_on_backward(3), stop=5)
    resumed = _train(model_dir, features, tmp_path / "cut", active=True)
    for key, value in sparse.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_resume_from_a_checkpoint_gives_the_same_weights(tmp_path):
    model_dir = _model_dir(tmp_path)
    features = _features()
    config = TrainingConfig(
        epochs=2,
        batch_size=8,
        learning_rate=5e-3,
        weight_decay=0.1,
        mixed_precision="no",
        checkpoint_every_steps=4,
        select_best=False,
    )

    def run(work, stop=None):
        torch.manual_seed(0)
        model = build_model(ModelConfig(name_or_path=str(model_dir)), AggregationConfig(), get_task("pawsx"))
        train_stage(
            model,
            features,
            config=config,
            seed=1,
            work_dir=work,
            collator=PaddingCollator(PAD),
            show_progress=False,
            stop_after_steps=stop,
        )
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
        model = build_model(
            ModelConfig(name_or_path=str(model_dir), head_dropout=0.0), AggregationConfig(), get_task("pawsx")
        )
        config = TrainingConfig(
            epochs=1,
            batch_size=8,
            learning_rate=5e-3,
            mixed_precision="no",
            checkpoint_every_steps=0,
            select_best=False,
            compile=compiled,
        )
        train_stage(
            model,
            features,
            config=config,
            seed=1,
            work_dir=tmp_path / f"c-{compiled}",
            collator=PaddingCollator(PAD),
            show_progress=False,
        )
        return model.state_dict()

    eager, compiled = run(False), run(True)
    for key, value in eager.items():
        torch.testing.assert_close(compiled[key], value, rtol=1e-3, atol=1e-5, msg=key)
