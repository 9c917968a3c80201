"""training.dropout_impl: fast dropout keeps 1 - p of the elements at the right scale, is the identity in eval
mode, passes gradients, reaches the model's modules through the config, and trains reproducibly and resumably."""

from __future__ import annotations

import random

import pytest
import torch
from datasets import Dataset
from transformers import BertConfig, BertModel

from crossling.config import build_config
from crossling.config.schema import TrainingConfig
from crossling.data.batching import PaddingCollator
from crossling.errors import ConfigError
from crossling.models.aggregation import build_aggregator
from crossling.models.heads import SequenceClassificationHead
from crossling.models.model import CrossLingualModel
from crossling.training import loop
from crossling.training.dropout import FastDropout, fast_dropout, keep_probability
from crossling.training.dropout_switch import dropout_implementation


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize("p", [0.1, 0.5])
def test_keep_rate_scale_and_mean(dtype, p):
    torch.manual_seed(0)
    x = torch.ones(400_000, dtype=dtype)
    y = fast_dropout(x, p)
    q = keep_probability(p, x.element_size())
    assert y.dtype == dtype and abs(q - (1 - p)) <= 2**-17
    kept = y != 0
    rate = kept.double().mean().item()
    assert abs(rate - q) < 4 * (q * (1 - q) / x.numel()) ** 0.5  # four standard errors
    scale = torch.tensor(1 / q, dtype=dtype)
    assert torch.equal(y[kept], scale.expand(int(kept.sum())))  # every kept element scaled by 1/q in x's dtype
    assert abs(y.double().mean().item() - 1.0) < 0.004  # mean preserved (up to the scale's bf16 rounding)


def test_masks_are_seeded_independent_of_position_and_other_than_torchs():
    torch.manual_seed(3)
    a = fast_dropout(torch.ones(64, 96, dtype=torch.bfloat16), 0.1)
    torch.manual_seed(3)
    b = fast_dropout(torch.ones(64, 96, dtype=torch.bfloat16), 0.1)
    c = fast_dropout(torch.ones(64, 96, dtype=torch.bfloat16), 0.1)
    torch.manual_seed(3)
    reference = torch.nn.functional.dropout(torch.ones(64, 96, dtype=torch.bfloat16), 0.1)
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a != 0, reference != 0)
    columns = (a != 0).double().mean(0)  # no column (bit position within a random word) is favoured
    assert columns.min() > 0.75 and columns.max() < 1.0


def test_other_devices_and_dtypes_use_torchs_dropout(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.nn.functional, "dropout", lambda x, p, training: calls.append(x.device.type) or x)
    assert fast_dropout(torch.ones(4, device="meta"), 0.1).device.type == "meta"
    fast_dropout(torch.ones(4, dtype=torch.complex64), 0.1)
    fast_dropout(torch.ones(4), 0.1)  # CPU float: the fast path
    assert calls == ["meta", "cpu"]


def test_eval_mode_is_the_identity_and_gradients_flow():
    module = FastDropout(0.3)
    x = torch.randn(8, 50, requires_grad=True)
    assert module.eval()(x) is x and fast_dropout(x, 0.0) is x
    y = module.train()(x)
    y.sum().backward()
    kept = y != 0
    assert torch.equal(x.grad, kept * (1 / keep_probability(0.3, 4)))  # d(x * noise)/dx = noise
    assert torch.equal(fast_dropout(x, 1.0), torch.zeros_like(x))


def test_the_switch_replaces_every_nn_dropout_and_puts_them_back():
    model = _model()
    originals = [m for m in model.modules() if type(m) is torch.nn.Dropout]
    with dropout_implementation(model, "fast") as replaced:
        fast = [m for m in model.modules() if isinstance(m, FastDropout)]
        assert replaced == len(originals) == len(fast) > 4
        assert not any(type(m) is torch.nn.Dropout for m in model.modules())
        assert sorted(m.p for m in fast) == sorted(m.p for m in originals)
    assert [m for m in model.modules() if type(m) is torch.nn.Dropout] == originals
    with dropout_implementation(model, "torch") as replaced:
        assert replaced == 0
    with pytest.raises(ValueError, match="training.dropout_impl"), dropout_implementation(model, "slow"):
        pass


def test_the_config_setting_is_validated_and_defaults_to_torch():
    assert TrainingConfig().dropout_impl == "torch"
    assert build_config({"training": {"dropout_impl": "fast"}}).training.dropout_impl == "fast"
    with pytest.raises(ConfigError, match="training.dropout_impl"):
        build_config({"training": {"dropout_impl": "slow"}})


def test_train_stage_uses_fast_dropout_when_set_reproducibly_and_resumably(tmp_path, monkeypatch):
    calls = []
    forward = FastDropout.forward
    monkeypatch.setattr(FastDropout, "forward", lambda self, x: calls.append(self.training) or forward(self, x))
    fast = _train(tmp_path / "fast", "fast")
    assert calls and all(calls)  # used in training; scoring is not part of this stage
    assert not any(isinstance(m, FastDropout) for m in fast.modules())  # the stage put nn.Dropout back
    again = _train(tmp_path / "again", "fast")
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "cut", "fast", stop_after_steps=3)
    resumed = _train(tmp_path / "cut", "fast")
    calls.clear()
    plain = _train(tmp_path / "torch", "torch")
    assert not calls
    for key, value in fast.state_dict().items():
        assert torch.equal(again.state_dict()[key], value) and torch.equal(resumed.state_dict()[key], value), key
    assert any(not torch.equal(plain.state_dict()[k], v) for k, v in fast.state_dict().items())


def _model() -> CrossLingualModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    return CrossLingualModel(
        BertModel(config), build_aggregator("last", num_layers=2, hidden_size=16), SequenceClassificationHead(16, 2)
    )


def _train(work_dir, impl: str, stop_after_steps: int | None = None) -> CrossLingualModel:
    rng = random.Random(0)
    rows = []
    for _ in range(24):
        ids = [2] + [rng.randrange(5, 40) for _ in range(rng.randrange(3, 9))] + [3]
        rows.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": int(7 in ids), "length": len(ids)})
    model = _model()
    config = TrainingConfig(
        max_steps=6, batch_size=4, mixed_precision="no", checkpoint_every_steps=0, select_best=False, dropout_impl=impl
    )
    loop.train_stage(
        model,
        Dataset.from_list(rows),
        config=config,
        seed=0,
        work_dir=work_dir,
        collator=PaddingCollator(0),
        show_progress=False,
        stop_after_steps=stop_after_steps,
    )
    return model
