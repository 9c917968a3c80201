"""training.dropout_impl: fast in attention: sdpa's results without dropout, torch's math kernel's with it (fast
dropout on the probabilities), padded keys ignored, and the switch reaches a transformers model and is undone."""

from __future__ import annotations

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from transformers import BertConfig, BertModel

from crossling.training import dropout_switch
from crossling.training.dropout_switch import FAST_DROPOUT_ATTENTION, dropout_implementation, fast_dropout_attention


def _inputs(dtype=torch.bfloat16):
    torch.manual_seed(1)
    q, k, v = (torch.randn(3, 4, 10, 8, dtype=dtype) for _ in range(3))
    mask = (torch.arange(10)[None, :] < torch.tensor([10, 6, 3])[:, None])[:, None, None, :]
    return q, k, v, mask


def test_without_dropout_it_is_sdpa_exactly():
    q, k, v, mask = _inputs()
    module = torch.nn.Module()
    out, weights = fast_dropout_attention(module, q, k, v, mask, dropout=0.0, scaling=0.3)
    want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3).transpose(1, 2)
    assert weights is None and torch.equal(out, want.contiguous())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_with_dropout_it_computes_the_math_kernel_in_float32_and_ignores_padded_keys(monkeypatch, dtype):
    q, k, v, mask = _inputs(dtype)
    monkeypatch.setattr(dropout_switch, "fast_dropout", lambda x, p: x)  # the mask is tested in test_dropout.py
    out, _ = fast_dropout_attention(torch.nn.Module(), q, k, v, mask, dropout=0.1, scaling=0.3)
    with sdpa_kernel(SDPBackend.MATH):
        want = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=0.3).transpose(1, 2)
    assert out.dtype == dtype and out.shape == (3, 10, 4, 8)
    assert torch.allclose(out.float(), want.float(), atol=4e-3 if dtype == torch.bfloat16 else 1e-6)
    v2 = v.clone()
    v2[2, :, 3:] = 1e4  # keys the mask hides in row 2
    again, _ = fast_dropout_attention(torch.nn.Module(), q, k, v2, mask, dropout=0.1, scaling=0.3)
    assert torch.equal(again, out)


def test_with_dropout_some_probabilities_are_dropped_and_gradients_flow():
    q, k, v, mask = _inputs(torch.float32)
    v = v.requires_grad_()
    torch.manual_seed(0)
    first, _ = fast_dropout_attention(torch.nn.Module(), q, k, v, mask, dropout=0.5, scaling=0.3)
    second, _ = fast_dropout_attention(torch.nn.Module(), q, k, v, mask, dropout=0.5, scaling=0.3)
    assert not torch.equal(first, second)
    first.sum().backward()
    assert v.grad is not None and torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


def test_the_switch_reaches_the_encoder_attention_in_training_and_is_undone(monkeypatch):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    model = BertModel(config)
    assert model.config._attn_implementation == "sdpa"  # transformers' default where torch has SDPA
    calls: list[float] = []
    monkeypatch.setattr(dropout_switch, "fast_dropout", lambda x, p: calls.append(p) or x)
    ids = torch.randint(5, 30, (2, 7))
    with dropout_implementation(model, "fast"):
        assert model.config._attn_implementation == FAST_DROPOUT_ATTENTION
        model.train()(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert calls == [config.attention_probs_dropout_prob] * 2  # once per layer
    assert model.config._attn_implementation == "sdpa"
    with dropout_implementation(model, "torch"):
        assert model.config._attn_implementation == "sdpa"
