"""The fine-tuned model: encoder -> layer aggregation (last / DLFA / ...) -> task head."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import Tensor, nn

from crossling.config.schema import AggregationConfig, ModelConfig
from crossling.errors import ConfigError
from crossling.models.aggregation import AGGREGATORS, LayerAggregator, build_aggregator
from crossling.models.encoder import freeze_embeddings, load_encoder, num_layers_and_hidden
from crossling.taskspec import TaskSpec

#: Aggregation keys that are not options of a strategy's constructor (the model and the training read them).
NOT_STRATEGY_OPTIONS = ("strategy", "lr_multiplier")

#: Aggregation keys that are not options of a strategy's constructor (the model and the training read them).
NOT_STRATEGY_OPTIONS = ("strategy", "lr_multiplier")


def aggregator_options(config: AggregationConfig) -> dict[str, Any]:
    """Options of ``config`` that its strategy accepts; a changed option it ignores is a ConfigError."""
    if config.strategy not in AGGREGATORS:
        build_aggregator(config.strategy, num_layers=1, hidden_size=1)  # raises the helpful error
    accepted = AGGREGATORS[config.strategy].options
    defaults = AggregationConfig()
    options = {}
    for field in dataclasses.fields(config):
        if field.name in NOT_STRATEGY_OPTIONS:
            continue
        value = getattr(config, field.name)
        if field.name in accepted:
            if value is not None:
                options[field.name] = value
        elif value != getattr(defaults, field.name):
            raise ConfigError(
                f"aggregation.{field.name} has no effect with strategy {config.strategy!r} "
                f"(it accepts: {', '.join(accepted) or 'no options'})"
            )
    if options.get("layer") == "auto":
        raise ConfigError(
            "aggregation.layer: auto is resolved by crossling run/train before the model is built "
            "(crossling.pipelines.layer_choice); set an integer layer here"
        )
    return options


#: Name prefix of the aggregation module's parameters in ``CrossLingualModel.named_parameters()``.
AGGREGATOR_PREFIX = "aggregator."


class CrossLingualModel(nn.Module):
    """``logits = head(aggregate(H_0..H_L), mask)``: an encoder whose aggregated layers feed a task head.

    Args:
        encoder: A transformers encoder; it is called with ``output_hidden_states=True``.
        aggregator: Turns the L + 1 hidden states into B x T x E features.
        head: Reads the features (see ``crossling.models.heads``).
    """

    def __init__(self, encoder: nn.Module, aggregator: LayerAggregator, head: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.aggregator = aggregator
        self.head = head

    def features(self, input_ids: Tensor, attention_mask: Tensor, **inputs: Tensor) -> Tensor:
        """Aggregated token features, B x T x E."""
        outputs = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, return_dict=True, **inputs
        )
        return self.aggregator(outputs.hidden_states, attention_mask)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None = None, **inputs: Tensor
    ) -> dict[str, Tensor]:
        """Logits, and the head's loss when ``labels`` are given.

        Multiple-choice inputs are B x C x T: they run as (B * C) x T rows and the head's
        per-row scores come back as B x C logits.
        """
        choices = input_ids.shape[1] if input_ids.dim() == 3 else None
        if choices is not None:
            input_ids, attention_mask = input_ids.flatten(0, 1), attention_mask.flatten(0, 1)
            inputs = {name: value.flatten(0, 1) for name, value in inputs.items()}
        logits = self.head(self.features(input_ids, attention_mask, **inputs), attention_mask)
        if choices is not None:
            logits = logits.reshape(-1, choices)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = self.head.loss(logits, labels)
        return out


def build_model(
    model_config: ModelConfig, aggregation: AggregationConfig, task: TaskSpec, encoder: nn.Module | None = None
) -> CrossLingualModel:
    """Encoder (loaded, or the one given: intermediate stages hand theirs on) + aggregator + the task kind's new head."""
    encoder = encoder if encoder is not None else load_encoder(model_config)
    if model_config.freeze_embeddings:
        freeze_embeddings(encoder)
    num_layers, hidden = num_layers_and_hidden(encoder)
    try:
        aggregator = build_aggregator(
            aggregation.strategy, num_layers=num_layers, hidden_size=hidden, **aggregator_options(aggregation)
        )
    except ValueError as exc:
        raise ConfigError(f"aggregation: {exc}") from None
    if aggregation.lr_multiplier != 1.0 and not any(p.requires_grad for p in aggregator.parameters()):
        raise ConfigError(
            f"aggregation.lr_multiplier has no effect with strategy {aggregation.strategy!r} "
            "(it has no trainable parameters)"
        )
    head = task.fine_tuned_kind().build_head(
        hidden, task.num_labels, pooling=model_config.pooling, dropout=model_config.head_dropout
    )
    return CrossLingualModel(encoder, aggregator, head)
