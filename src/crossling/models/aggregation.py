"""Layer aggregation: turn an encoder's hidden states into the token features of the task head."""

from __future__ import annotations

import difflib
import inspect
import operator
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

CONV_ORDERS = ("compress-expand", "expand-compress")
NORMS = ("layernorm", "batchnorm", "none")
FUSIONS = ("convex", "aff")
#: DLFA gates: ``none`` (the fusion as is) or a zero-initialised gate of one scalar / one value per channel.
GATES = ("none", "scalar", "channel")


def _resolve_layer(layer: Any, num_layers: int, *, below_last: bool, strategy: str) -> int:
    """Index ``layer`` into the ``num_layers + 1`` hidden states, negative counting from the end.

    With ``below_last`` the index must name a layer other than the last one, for strategies
    that already read the last layer and combine it with a second one.
    """
    if isinstance(layer, bool):
        raise ValueError(f"{strategy}: layer must be an integer, got {layer!r}")
    try:
        index = operator.index(layer)
    except TypeError:
        raise ValueError(f"{strategy}: layer must be an integer, got {layer!r}") from None
    count = num_layers + 1
    if not -count <= index < count:
        raise ValueError(
            f"{strategy}: layer={index} is out of range for {num_layers} transformer layers: "
            f"valid indices are 0..{num_layers} (0 = embeddings, {num_layers} = last layer) "
            f"or -{count}..-1 counting from the end"
        )
    resolved = index % count
    if below_last and resolved == num_layers:
        raise ValueError(
            f"{strategy}: layer={index} resolves to the last layer ({num_layers}), which this "
            f"strategy already combines with layer k; choose k in 0..{num_layers - 1} "
            f"or -{count}..-2"
        )
    return resolved


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` (B x T x C) over the real tokens of ``mask`` (B x T bool): B x 1 x C.

    ``masked_fill`` rather than multiplying by the mask, so that non-finite padding values
    cannot leak in (``nan * 0`` is ``nan``). A sequence without real tokens gets zeros.
    """
    total = x.masked_fill(~mask.unsqueeze(-1), 0.0).sum(dim=1, keepdim=True)
    count = mask.sum(dim=1).clamp(min=1).to(x.dtype).view(-1, 1, 1)
    return total / count


class LayerAggregator(nn.Module):
    """Base class: ``Z = f(H_0, ..., H_L)``, token features of size ``output_size`` for the head.

    Subclasses declare their strategy options as keyword-only ``__init__`` parameters after
    ``num_layers`` and ``hidden_size``; ``options`` and ``required_options`` are read from
    that signature, so the config layer validates against the same source of truth.

    Args:
        num_layers: L, the number of transformer layers (hidden states 0..L, 0 = embeddings).
        hidden_size: E, the hidden size of every hidden state.
    """

    options: ClassVar[tuple[str, ...]] = ()
    required_options: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        params = list(inspect.signature(cls.__init__).parameters.values())
        declared = [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
        cls.options = tuple(p.name for p in declared)
        cls.required_options = tuple(p.name for p in declared if p.default is inspect.Parameter.empty)

    def __init__(self, num_layers: int, hidden_size: int) -> None:
        super().__init__()
        for name, value in (("num_layers", num_layers), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__name__}: {name} must be a positive integer, got {value!r}")
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.output_size = hidden_size

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """Default value of each optional strategy option, by name."""
        params = inspect.signature(cls.__init__).parameters
        return {name: params[name].default for name in cls.options if name not in cls.required_options}

    @property
    def layers_used(self) -> tuple[int, ...]:
        """Indices (ascending) of the hidden states this strategy reads."""
        raise NotImplementedError

    def forward(self, hidden_states: Sequence[Tensor], attention_mask: Tensor) -> Tensor:
        """Aggregate the hidden states into token features.

        Args:
            hidden_states: L + 1 tensors of shape B x T x E, as a Hugging Face encoder returns
                them with ``output_hidden_states=True`` (index 0 = embedding output,
                index L = last layer).
            attention_mask: B x T, nonzero for real tokens and 0 for padding; required.
                Features of real tokens never depend on padding positions; features at
                padding positions are unspecified.

        Returns:
            B x T x ``output_size``.
        """
        mask = self._check_inputs(hidden_states, attention_mask)
        return self._aggregate(hidden_states, mask)

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        raise NotImplementedError

    def _check_inputs(self, hidden_states: Sequence[Tensor], attention_mask: Tensor) -> Tensor:
        """Validate the shapes against the constructor; return the mask as B x T bool."""
        name = type(self).__name__
        if isinstance(hidden_states, Tensor) or not isinstance(hidden_states, Sequence):
            raise ValueError(
                f"{name}: hidden_states must be a sequence of {self.num_layers + 1} tensors "
                f"(embeddings + {self.num_layers} layers), got {type(hidden_states).__name__}"
            )
        if len(hidden_states) != self.num_layers + 1:
            raise ValueError(
                f"{name}: expected {self.num_layers + 1} hidden states (embeddings + "
                f"{self.num_layers} layers), got {len(hidden_states)}"
            )
        first = hidden_states[0]
        if not isinstance(first, Tensor) or first.dim() != 3:
            raise ValueError(f"{name}: hidden state 0 must be a B x T x E tensor, got {_describe(first)}")
        batch, tokens, _ = first.shape
        expected = (batch, tokens, self.hidden_size)
        for index, state in enumerate(hidden_states):
            if not isinstance(state, Tensor) or tuple(state.shape) != expected:
                raise ValueError(
                    f"{name}: hidden state {index} must have shape B x T x E = {expected} "
                    f"(E = hidden_size {self.hidden_size}), got {_describe(state)}"
                )
        if not isinstance(attention_mask, Tensor) or tuple(attention_mask.shape) != (batch, tokens):
            raise ValueError(
                f"{name}: attention_mask must have shape B x T = {(batch, tokens)}, got {_describe(attention_mask)}"
            )
        return attention_mask != 0

    def extra_repr(self) -> str:
        """Sizes and the hidden states read, for ``print(model)``."""
        return f"num_layers={self.num_layers}, hidden_size={self.hidden_size}, layers_used={self.layers_used}"


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"shape {tuple(value.shape)}"
    return type(value).__name__


class LastLayer(LayerAggregator):
    """``Z = H_L``: the last layer, the mainstream baseline.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
    """

    def __init__(self, num_layers: int, hidden_size: int) -> None:
        super().__init__(num_layers, hidden_size)

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(L,)``."""
        return (self.num_layers,)

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        return hidden_states[self.num_layers]


class SingleLayer(LayerAggregator):
    """``Z = H_k``: one hidden state, any of 0..L.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
        layer: k, an index into the hidden states (0 = embeddings, negative from the end).
    """

    def __init__(self, num_layers: int, hidden_size: int, *, layer: int) -> None:
        super().__init__(num_layers, hidden_size)
        self.layer = _resolve_layer(layer, num_layers, below_last=False, strategy="layer")

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(k,)``."""
        return (self.layer,)

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        return hidden_states[self.layer]


class LayerMean(LayerAggregator):
    """``Z = mean(H_k, ..., H_L)``: the unweighted mean of layer k through the last layer.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
        layer: k < L, the first layer of the mean (negative from the end).
    """

    def __init__(self, num_layers: int, hidden_size: int, *, layer: int) -> None:
        super().__init__(num_layers, hidden_size)
        self.layer = _resolve_layer(layer, num_layers, below_last=True, strategy="mean")

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(k, ..., L)``."""
        return tuple(range(self.layer, self.num_layers + 1))

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        return torch.stack([hidden_states[j] for j in self.layers_used]).mean(dim=0)


class ScalarMix(LayerAggregator):
    """``Z = gamma * sum_j softmax(w)_j * H_j`` for j = k..L (ELMo / allennlp ScalarMix).

    ``w`` starts at 0 (a uniform mix) and ``gamma`` at 1; both are learned.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
        layer: k, the first mixed hidden state; 0 (default) mixes all of them, embeddings
            included (negative from the end).
    """

    def __init__(self, num_layers: int, hidden_size: int, *, layer: int = 0) -> None:
        super().__init__(num_layers, hidden_size)
        self.layer = _resolve_layer(layer, num_layers, below_last=False, strategy="scalar_mix")
        self.scalar_parameters = nn.Parameter(torch.zeros(num_layers + 1 - self.layer))
        self.gamma = nn.Parameter(torch.ones(1))

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(k, ..., L)``."""
        return tuple(range(self.layer, self.num_layers + 1))

    def mixing_weights(self) -> Tensor:
        """``softmax(w)``, one weight per layer in ``layers_used``."""
        return torch.softmax(self.scalar_parameters, dim=0)

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        stacked = torch.stack([hidden_states[j] for j in self.layers_used])
        weights = self.mixing_weights().to(stacked.dtype).view(-1, 1, 1, 1)
        return self.gamma.to(stacked.dtype) * (weights * stacked).sum(dim=0)


class ConcatProjection(LayerAggregator):
    """``Z = W [H_L ; H_k] + b``: the last layer and layer k concatenated, projected 2E -> E.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
        layer: k < L, the layer concatenated to the last one (negative from the end).
    """

    def __init__(self, num_layers: int, hidden_size: int, *, layer: int) -> None:
        super().__init__(num_layers, hidden_size)
        self.layer = _resolve_layer(layer, num_layers, below_last=True, strategy="concat")
        self.projection = nn.Linear(2 * hidden_size, hidden_size)

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(k, L)``."""
        return (self.layer, self.num_layers)

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        joined = torch.cat([hidden_states[self.num_layers], hidden_states[self.layer]], dim=-1)
        return self.projection(joined)


class _TokenNorm(nn.Module):
    """A norm over the channel dim of B x T x C features that never mixes in padding tokens."""

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "layernorm":
            self.norm: nn.Module = nn.LayerNorm(channels)
        elif kind == "batchnorm":
            self.norm = nn.BatchNorm1d(channels)
        else:
            self.norm = nn.Identity()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x``: B x T x C; ``mask``: B x T bool. Returns B x T x C, zeros at padding for batchnorm."""
        if self.kind != "batchnorm":
            return self.norm(x)
        # Batch statistics over the real tokens only: padding must not shift them.
        normed = self.norm(x[mask])
        # The norm's dtype, not x's: under autocast BatchNorm1d may return float32.
        out = normed.new_zeros(x.shape)
        out[mask] = normed
        return out


class _Bottleneck(nn.Module):
    """``norm(conv2(drop(relu(norm(conv1(x))))))``: two pointwise convs (Linears) E -> C -> E."""

    def __init__(self, hidden_size: int, inner: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.first = nn.Linear(hidden_size, inner)
        self.first_norm = _TokenNorm(norm, inner)
        self.dropout = nn.Dropout(dropout)
        self.second = nn.Linear(inner, hidden_size)
        self.second_norm = _TokenNorm(norm, hidden_size)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x``: B x T x E; ``mask``: B x T bool (all True for the pooled global input)."""
        hidden = self.dropout(torch.relu(self.first_norm(self.first(x), mask)))
        return self.second_norm(self.second(hidden), mask)


class _AttentionalWeights(nn.Module):
    """``A = sigmoid(local(S) + global(S))``: the MS-CAM weights of AIF, B x T x E in (0, 1)."""

    def __init__(self, hidden_size: int, inner: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.local_branch = _Bottleneck(hidden_size, inner, norm, dropout)
        self.global_branch = _Bottleneck(hidden_size, inner, norm, dropout)

    def forward(self, s: Tensor, mask: Tensor) -> Tensor:
        """``s``: B x T x E; ``mask``: B x T bool. Returns A, B x T x E."""
        pooled = _masked_mean(s, mask)
        pooled_mask = mask.new_ones(mask.shape[0], 1)
        local = self.local_branch(s, mask)
        global_ = self.global_branch(pooled, pooled_mask)
        return torch.sigmoid(local + global_)


class DLFA(LayerAggregator):
    """``Z = A * H_L + (1 - A) * H_k``, ``A = sigmoid(local(S) + global(S))``, ``S = H_L + H_k``.

    Deep layer-wise feature aggregation with the attention-based AIF module (after MS-CAM /
    attentional feature fusion, Dai et al. 2020): the local branch is a per-token bottleneck
    of two pointwise convolutions (Linears on the hidden dim), the global branch the same
    bottleneck (own weights) on the mean of S over real tokens, broadcast over tokens. The
    fused features replace the last layer as input of the task head.

    Args:
        num_layers: L, the number of transformer layers.
        hidden_size: E.
        layer: k < L, the lower layer fused with the last one (negative from the end).
        reduction: r, the bottleneck ratio: the inner size is E // r ("compress-expand")
            or E * r ("expand-compress"); E // r must be at least 1.
        conv_order: "compress-expand" (E -> E // r -> E, as SENet; default) or
            "expand-compress" (E -> E * r -> E).
        norm: after each conv: "layernorm" (default), "batchnorm" (BatchNorm1d over the
            channel dim, statistics from real tokens only; the global branch normalises one
            pooled vector per sequence, so training needs at least 2 sequences per batch),
            or "none".
        fusion: "convex" (default): ``Z = A * X + (1 - A) * Y``; "aff":
            ``Z = 2 * A * X + 2 * (1 - A) * Y`` (the AFF reference code), X = H_L, Y = H_k.
        iterative: iAFF: a second AIF (own weights) computes ``A2`` from the first fused
            result ``Z1`` and ``Z = fusion(A2, X, Y)``.
        dropout: dropout probability after the ReLU of each bottleneck.
        gate: "none" (default): Z is the fusion above; "scalar" or "channel": DLFA that
            starts from the baseline, ``Z = X + tanh(g) * (fusion(X, Y) - X)`` with a learned
            gate g (one scalar, or one value per channel, E) initialised to 0, so that Z equals
            the last layer X exactly at initialisation and the lower layer enters as g moves
            away from 0. At g = 0 the gradient reaches g (``dZ/dg = fusion - X``) but not the
            attention branches (their effect is scaled by tanh(g) = 0); they train from the
            first step on which g is nonzero (the ReZero / zero-init residual recipe).
    """

    def __init__(
        self,
        num_layers: int,
        hidden_size: int,
        *,
        layer: int,
        reduction: int = 4,
        conv_order: str = "compress-expand",
        norm: str = "layernorm",
        fusion: str = "convex",
        iterative: bool = False,
        dropout: float = 0.0,
        gate: str = "none",
    ) -> None:
        super().__init__(num_layers, hidden_size)
        self.layer = _resolve_layer(layer, num_layers, below_last=True, strategy="dlfa")
        _check_choice("conv_order", conv_order, CONV_ORDERS)
        _check_choice("norm", norm, NORMS)
        _check_choice("fusion", fusion, FUSIONS)
        _check_choice("gate", gate, GATES)
        if isinstance(reduction, bool) or not isinstance(reduction, int) or reduction < 1:
            raise ValueError(f"dlfa: reduction must be a positive integer, got {reduction!r}")
        if hidden_size // reduction < 1:
            raise ValueError(
                f"dlfa: reduction={reduction} leaves no channel for hidden_size={hidden_size}: "
                f"hidden_size // reduction must be at least 1, so reduction must be in 1..{hidden_size}"
            )
        if not isinstance(iterative, bool):
            raise ValueError(f"dlfa: iterative must be true or false, got {iterative!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dlfa: dropout must be a probability in [0, 1), got {dropout!r}")
        self.reduction = reduction
        self.conv_order = conv_order
        self.norm = norm
        self.fusion = fusion
        self.iterative = iterative
        inner = hidden_size // reduction if conv_order == "compress-expand" else hidden_size * reduction
        self.inner_size = inner
        self.attention = _AttentionalWeights(hidden_size, inner, norm, float(dropout))
        self.second_attention = _AttentionalWeights(hidden_size, inner, norm, float(dropout)) if iterative else None
        self.gate_kind = gate
        gate_size = {"none": 0, "scalar": 1, "channel": hidden_size}[gate]
        self.gate = nn.Parameter(torch.zeros(gate_size)) if gate_size else None

    @property
    def layers_used(self) -> tuple[int, ...]:
        """``(k, L)``."""
        return (self.layer, self.num_layers)

    def fusion_weights(self, hidden_states: Sequence[Tensor], attention_mask: Tensor) -> Tensor:
        """The weights A (B x T x E, in (0, 1)) that multiply H_L in the fusion.

        With ``iterative`` these are the second-pass weights A2. Arguments as ``forward``.
        """
        mask = self._check_inputs(hidden_states, attention_mask)
        x, y = hidden_states[self.num_layers], hidden_states[self.layer]
        return self._weights(x, y, mask)

    def _weights(self, x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
        self._check_batchnorm_batch(mask)
        weights = self.attention(x + y, mask)
        if self.second_attention is not None:
            weights = self.second_attention(self._fuse(weights, x, y), mask)
        return weights

    def _fuse(self, weights: Tensor, x: Tensor, y: Tensor) -> Tensor:
        fused = weights * x + (1.0 - weights) * y
        return 2.0 * fused if self.fusion == "aff" else fused

    def _aggregate(self, hidden_states: Sequence[Tensor], mask: Tensor) -> Tensor:
        x, y = hidden_states[self.num_layers], hidden_states[self.layer]
        fused = self._fuse(self._weights(x, y, mask), x, y)
        if self.gate is None:
            return fused
        return x + torch.tanh(self.gate).to(fused.dtype) * (fused - x)

    def _check_batchnorm_batch(self, mask: Tensor) -> None:
        # Say why here instead of letting BatchNorm1d fail with a bare channel-count message.
        if self.norm == "batchnorm" and self.training and mask.shape[0] < 2:
            raise ValueError(
                "dlfa: norm='batchnorm' needs at least 2 sequences per batch in training "
                f"(the global branch normalises one pooled vector per sequence), got {mask.shape[0]}"
            )

    def extra_repr(self) -> str:
        """The base description plus the AIF options."""
        return (
            f"{super().extra_repr()}, reduction={self.reduction}, conv_order={self.conv_order!r}, "
            f"norm={self.norm!r}, fusion={self.fusion!r}, iterative={self.iterative}, gate={self.gate_kind!r}"
        )


def _check_choice(option: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"dlfa: {option}={value!r} is not one of {', '.join(map(repr, choices))}")


AGGREGATORS: dict[str, type[LayerAggregator]] = {
    "last": LastLayer,
    "layer": SingleLayer,
    "mean": LayerMean,
    "scalar_mix": ScalarMix,
    "concat": ConcatProjection,
    "dlfa": DLFA,
}


def _did_you_mean(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def build_aggregator(strategy: str, *, num_layers: int, hidden_size: int, **options: Any) -> LayerAggregator:
    """The aggregator registered as ``strategy``, built with its ``options``.

    Raises ValueError for an unknown strategy, an option the strategy does not accept, a
    missing required option, or an invalid option value.
    """
    if strategy not in AGGREGATORS:
        raise ValueError(
            f"unknown aggregation strategy {strategy!r}{_did_you_mean(str(strategy), AGGREGATORS)}; "
            f"valid strategies: {', '.join(AGGREGATORS)}"
        )
    cls = AGGREGATORS[strategy]
    accepted = ", ".join(cls.options) or "none"
    for option in options:
        if option not in cls.options:
            raise ValueError(
                f"strategy {strategy!r} does not accept option {option!r}"
                f"{_did_you_mean(option, cls.options)}; accepted options: {accepted}"
            )
    missing = [name for name in cls.required_options if name not in options]
    if missing:
        raise ValueError(f"strategy {strategy!r} requires option(s) {', '.join(missing)}; accepted options: {accepted}")
    return cls(num_layers, hidden_size, **options)


def describe_strategies() -> list[tuple[str, str]]:
    """``(name, formula)`` for every strategy: the first line of its class docstring."""
    return [(name, (cls.__doc__ or "").strip().splitlines()[0]) for name, cls in AGGREGATORS.items()]
