"""Tests of the optimiser set-up: weight-decay groups and the aggregation module's learning-rate multiplier."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from crossling.config.schema import AggregationConfig, TrainingConfig
from crossling.errors import ConfigError
from crossling.models.aggregation import build_aggregator
from crossling.models.heads import build_head
from crossling.models.model import AGGREGATOR_PREFIX, CrossLingualModel, build_model
from crossling.tasks.registry import TaskKind, get_task
from crossling.training.loop import build_optimizer, parameter_groups

LR = 1e-3


def _model(gate: str = "channel") -> CrossLingualModel:
    torch.manual_seed(0)
    encoder = BertModel(
        BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32),
        add_pooling_layer=False,
    )
    aggregator = build_aggregator("dlfa", num_layers=2, hidden_size=16, layer=1, gate=gate)
    return CrossLingualModel(encoder, aggregator, build_head(TaskKind.PAIR_CLASSIFICATION, 16, 2))


def _group_of(optimizer: torch.optim.Optimizer, param: torch.nn.Parameter) -> dict:
    return next(g for g in optimizer.param_groups if any(p is param for p in g["params"]))


def test_the_multiplier_sets_the_aggregation_groups_lr_through_the_schedule():
    model = _model()
    config = TrainingConfig(learning_rate=LR, weight_decay=0.01, warmup_ratio=0.25)
    optimizer, scheduler = build_optimizer(model, config, total_steps=8, lr_multipliers={AGGREGATOR_PREFIX: 10.0})
    for name, param in model.named_parameters():
        group = _group_of(optimizer, param)
        expected = 10 * LR if name.startswith(AGGREGATOR_PREFIX) else LR
        assert group["initial_lr"] == pytest.approx(expected), name
        decays = param.ndim >= 2 and "norm" not in name.lower()
        assert group["weight_decay"] == (0.01 if decays else 0.0), name
    gate_group = optimizer.param_groups.index(_group_of(optimizer, model.aggregator.gate))
    encoder_group = optimizer.param_groups.index(_group_of(optimizer, model.encoder.embeddings.word_embeddings.weight))
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        lrs = scheduler.get_last_lr()
        assert lrs[gate_group] == pytest.approx(10 * lrs[encoder_group])
        assert optimizer.param_groups[gate_group]["lr"] == pytest.approx(lrs[gate_group])
    assert lrs[encoder_group] == pytest.approx(LR * 3 / 6)  # linear decay: 3 of the 6 post-warm-up steps left


def test_without_a_multiplier_there_are_the_two_decay_groups_at_the_base_lr():
    model = _model()
    groups = parameter_groups(model, 0.01, LR, {AGGREGATOR_PREFIX: 1.0})
    assert [(g["weight_decay"], g["lr"]) for g in groups] == [(0.01, LR), (0.0, LR)]
    trainable = sum(1 for p in model.parameters() if p.requires_grad)
    assert sum(len(g["params"]) for g in groups) == trainable


def test_frozen_parameters_are_left_out_of_every_group():
    model = _model()
    model.encoder.embeddings.requires_grad_(False)
    groups = parameter_groups(model, 0.01, LR, {AGGREGATOR_PREFIX: 3.0})
    grouped = {id(p) for g in groups for p in g["params"]}
    assert all(id(p) not in grouped for p in model.encoder.embeddings.parameters())
    assert sum(len(g["params"]) for g in groups) == sum(1 for p in model.parameters() if p.requires_grad)


def test_a_multiplier_for_a_strategy_without_parameters_is_a_config_error(tmp_path):
    from tiny import WORDS, make_tiny_model_dir

    from crossling.config.schema import ModelConfig

    model_dir = make_tiny_model_dir(tmp_path / "m", [" ".join(words) for words in WORDS.values()] * 10, layers=2)

    with pytest.raises(ConfigError, match="lr_multiplier has no effect with strategy 'last'"):
        build_model(
            ModelConfig(name_or_path=str(model_dir)), AggregationConfig(lr_multiplier=5.0), get_task("tmpl-nli")
        )


def test_a_non_positive_multiplier_is_rejected():
    with pytest.raises(ConfigError, match=r"aggregation.lr_multiplier: expected a number > 0, got 0"):
        AggregationConfig(lr_multiplier=0.0)
