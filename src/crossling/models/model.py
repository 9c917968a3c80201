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
        return self._run(self.head, input_ids, attention_mask, labels, **inputs)

    def _run(
        self, head: nn.Module, input_ids: Tensor, attention_mask: Tensor, labels: Tensor | None, **inputs: Tensor
    ) -> dict[str, Tensor]:
        """``forward`` through ``head``."""
        choices = input_ids.shape[1] if input_ids.dim() == 3 else None
        if choices is not None:
            input_ids, attention_mask = input_ids.flatten(0, 1), attention_mask.flatten(0, 1)
            inputs = {name: value.flatten(0, 1) for name, value in inputs.items()}
        logits = head(self.features(input_ids, attention_mask, **inputs), attention_mask)
        if choices is not None:
            logits = logits.reshape(-1, choices)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = head.loss(logits, labels)
        return out


#: Batch key naming the mixture member (the head) a batch belongs to (``MixtureModel.forward``).
HEAD_INDEX = "head_index"


class MixtureModel(CrossLingualModel):
    """``logits = heads[i](aggregate(H_0..H_L), mask)`` for a batch of member task i: one encoder, one head per task.

    A mixture stage trains it (``crossling.config.stages.StageConfig.mixture``); every batch
    comes from one task and carries that task's index as ``HEAD_INDEX``, so each kind's
    collator and head apply unchanged. ``self.head`` is the first member's head.

    Args:
        encoder: A transformers encoder, shared by all heads.
        aggregator: The layer aggregation, shared by all heads.
        heads: One head per member task, in the mixture's order.
    """

    def __init__(self, encoder: nn.Module, aggregator: LayerAggregator, heads: list[nn.Module]) -> None:
        if not heads:
            raise ValueError("a mixture model needs at least one head")
        super().__init__(encoder, aggregator, heads[0])
        del self.head  # registered again below as heads.0, not twice
        self.heads = nn.ModuleList(heads)

    @property
    def head(self) -> nn.Module:  # type: ignore[override]
        """The first member's head."""
        return self.heads[0]

    def forward(  # type: ignore[override]
        self,
        input_ids: Tensor,
        attention_mask: Tensor,
        labels: Tensor | None = None,
        head_index: int | Tensor = 0,
        **inputs: Tensor,
    ) -> dict[str, Tensor]:
        """Logits (and loss with ``labels``) through the head of member ``head_index``."""
        return self._run(self.heads[int(head_index)], input_ids, attention_mask, labels, **inputs)


def build_model(
    model_config: ModelConfig, aggregation: AggregationConfig, task: TaskSpec, encoder: nn.Module | None = None
) -> CrossLingualModel:
    """Encoder (loaded, or the one given: intermediate stages hand theirs on) + aggregator + the task kind's new head."""
    encoder, aggregator = _encoder_and_aggregator(model_config, aggregation, encoder)
    return CrossLingualModel(encoder, aggregator, _head(model_config, task, encoder))


def build_mixture_model(
    model_config: ModelConfig,
    aggregation: AggregationConfig,
    tasks: list[TaskSpec],
    encoder: nn.Module | None = None,
) -> MixtureModel:
    """Encoder (loaded or given) + one aggregator + a new head of each member task's kind, in the members' order."""
    encoder, aggregator = _encoder_and_aggregator(model_config, aggregation, encoder)
    return MixtureModel(encoder, aggregator, [_head(model_config, task, encoder) for task in tasks])


def _head(model_config: ModelConfig, task: TaskSpec, encoder: nn.Module) -> nn.Module:
    """A new head of ``task``'s kind on ``encoder``'s hidden size."""
    _, hidden = num_layers_and_hidden(encoder)
    return task.fine_tuned_kind().build_head(
        hidden, task.num_labels, pooling=model_config.pooling, dropout=model_config.head_dropout
    )


def _encoder_and_aggregator(
    model_config: ModelConfig, aggregation: AggregationConfig, encoder: nn.Module | None
) -> tuple[nn.Module, LayerAggregator]:
    """The encoder (loaded unless given; embeddings frozen if configured) and a new aggregation module on it."""
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
    return encoder, aggregator
