"""``training.dropout_impl: fast`` on a model: ``FastDropout`` modules, and attention with fast dropout on its probabilities."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from crossling.training.dropout import FastDropout, fast_dropout

#: ``training.dropout_impl`` values: torch's ``nn.Dropout`` (the default), or ``FastDropout``.
DROPOUT_IMPLS = ("torch", "fast")

#: The name under which the attention (and sdpa's mask function, whose masks it reads) is registered in transformers.
FAST_DROPOUT_ATTENTION = "crossling_fast_dropout"


def fast_dropout_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' ``sdpa`` attention, except with dropout (training) on a plain encoder attention: then the
    computation of torch's math kernel (which SDPA uses on CPU when there is dropout) with ``fast_dropout``.

    Like that kernel it works in float32 for bf16/fp16 inputs (autocast off): ``softmax(q k^T * scale
    + mask)``, dropout of the probabilities, times ``v``, cast back to the input's dtype. Grouped-query,
    causal, soft-capped or position-biased attention, and attention on a GPU (whose fused SDPA kernels
    apply dropout themselves), keeps sdpa's own path. Returns
    ``(B x T x H x D output, None)`` as ``sdpa_attention_forward`` does.
    """
    special = kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None or kwargs.get("is_causal")
    grouped = getattr(module, "num_key_value_groups", 1) > 1
    # On a GPU, SDPA's fused kernels apply dropout themselves: only CPU falls back to the math kernel.
    if dropout <= 0.0 or special or grouped or getattr(module, "is_causal", False) or query.device.type != "cpu":
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    with torch.autocast(query.device.type, enabled=False):
        scores = torch.matmul(query.float(), key.float().transpose(-1, -2)).mul_(scale)
        if attention_mask is not None:
            if attention_mask.dtype == torch.bool:
                scores = scores.masked_fill_(~attention_mask, float("-inf"))
            else:
                scores = scores + attention_mask.float()
        probabilities = fast_dropout(torch.softmax(scores, dim=-1), dropout)
        output = torch.matmul(probabilities, value.float()).to(value.dtype)
    return output.transpose(1, 2).contiguous(), None


AttentionInterface.register(FAST_DROPOUT_ATTENTION, fast_dropout_attention)
AttentionMaskInterface.register(FAST_DROPOUT_ATTENTION, sdpa_mask)


@contextlib.contextmanager
def fast_dropout_attention_within(model: nn.Module) -> Iterator[int]:
    """Within the block, the transformers models inside ``model`` that use ``sdpa`` attention use
    ``fast_dropout_attention`` instead (yields how many configs were switched); restored afterwards."""
    switched: dict[int, Any] = {}
    for module in model.modules():
        config = getattr(module, "config", None)
        if isinstance(module, PreTrainedModel) and getattr(config, "_attn_implementation", None) == "sdpa":
            switched.setdefault(id(config), config)
    for config in switched.values():
        config._attn_implementation = FAST_DROPOUT_ATTENTION
    try:
        yield len(switched)
    finally:
        for config in switched.values():
            config._attn_implementation = "sdpa"


@contextlib.contextmanager
def dropout_implementation(model: nn.Module, impl: str) -> Iterator[int]:
    """Within the block, every ``nn.Dropout`` of ``model`` is a ``FastDropout`` of the same ``p`` when ``impl`` is
    ``fast`` (yields how many were replaced); the original modules are put back afterwards.

    The transformers models inside that use ``sdpa`` attention use ``fast_dropout_attention`` within
    the block too (``fast_dropout_attention_within``). Dropout modules hold no parameters or buffers,
    so the state dict, checkpoints and saved weights are the same either way. ``torch`` leaves the
    model alone (yields 0).
    """
    if impl not in DROPOUT_IMPLS:
        raise ValueError(f"training.dropout_impl: expected one of {', '.join(DROPOUT_IMPLS)}, got {impl!r}")
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    if impl == "fast":
        for parent in list(model.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is nn.Dropout:
                    fast = FastDropout(child.p)
                    fast.train(child.training)
                    setattr(parent, name, fast)
                    swapped.append((parent, name, child))
    with fast_dropout_attention_within(model) if impl == "fast" else contextlib.nullcontext():
        try:
            yield len(swapped)
        finally:
            for parent, name, child in swapped:
                child.train(getattr(parent, name).training)
                setattr(parent, name, child)
