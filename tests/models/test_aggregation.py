"""Tests of the layer-aggregation strategies: shapes, masking, gradients, hand-computed AIF."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from crossling.models.aggregation import (
    AGGREGATORS,
    DLFA,
    LayerAggregator,
    build_aggregator,
    describe_strategies,
)

NUM_LAYERS = 3
HIDDEN = 8
BATCH = 3
TOKENS = 5
LENGTHS = (5, 3, 1)

# (strategy, options) pairs covering every strategy and the dlfa options that change the graph.
CONFIGS = [
    ("last", {}),
    ("layer", {"layer": 1}),
    ("layer", {"layer": -1}),
    ("layer", {"layer": 0}),
    ("mean", {"layer": 1}),
    ("mean", {"layer": -2}),
    ("scalar_mix", {}),
    ("scalar_mix", {"layer": 2}),
    ("concat", {"layer": 1}),
    ("dlfa", {"layer": 1}),
    ("dlfa", {"layer": 0, "reduction": 2, "conv_order": "expand-compress"}),
    ("dlfa", {"layer": -2, "norm": "batchnorm"}),
    ("dlfa", {"layer": 1, "norm": "batchnorm", "iterative": True, "fusion": "aff"}),
    ("dlfa", {"layer": 1, "norm": "none", "fusion": "aff"}),
    ("dlfa", {"layer": 2, "iterative": True}),
    ("dlfa", {"layer": 1, "reduction": HIDDEN, "dropout": 0.1}),
]
CONFIG_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in opts.items()) or 'default'}" for name, opts in CONFIGS]


def make_inputs(
    batch: int = BATCH, tokens: int = TOKENS, lengths: tuple[int, ...] = LENGTHS, seed: int = 0
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """NUM_LAYERS + 1 random hidden states and a mask with the given sequence lengths."""
    generator = torch.Generator().manual_seed(seed)
    states = tuple(torch.randn(batch, tokens, HIDDEN, generator=generator) for _ in range(NUM_LAYERS + 1))
    mask = (torch.arange(tokens).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)).long()
    return states, mask


def with_garbage_padding(
    states: tuple[torch.Tensor, ...], mask: torch.Tensor, extra: int = 4, seed: int = 1
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Append ``extra`` padding tokens and overwrite every padding position with large noise."""
    generator = torch.Generator().manual_seed(seed)
    batch, tokens, hidden = states[0].shape
    padded_mask = torch.cat([mask, mask.new_zeros(batch, extra)], dim=1)
    pad = ~padded_mask.bool()
    garbage_states = []
    for state in states:
        longer = torch.cat([state, torch.zeros(batch, extra, hidden)], dim=1)
        noise = 100.0 * torch.randn(batch, tokens + extra, hidden, generator=generator) + 37.0
        garbage_states.append(torch.where(pad.unsqueeze(-1), noise, longer))
    return tuple(garbage_states), padded_mask


def build(strategy: str, options: dict, seed: int = 0) -> LayerAggregator:
    torch.manual_seed(seed)
    return build_aggregator(strategy, num_layers=NUM_LAYERS, hidden_size=HIDDEN, **options)


# --- shapes and metadata -------------------------------------------------------------------


@pytest.mark.parametrize(("strategy", "options"), CONFIGS, ids=CONFIG_IDS)
def test_output_is_batch_by_tokens_by_output_size(strategy, options):
    aggregator = build(strategy, options)
    states, mask = make_inputs()
    out = aggregator(states, mask)
    assert aggregator.output_size == HIDDEN
    assert out.shape == (BATCH, TOKENS, aggregator.output_size)
    assert torch.isfinite(out[mask.bool()]).all()


def test_hidden_states_may_be_a_list_and_mask_bool_or_float():
    aggregator = build("dlfa", {"layer": 1})
    aggregator.eval()
    states, mask = make_inputs()
    reference = aggregator(states, mask)
    torch.testing.assert_close(aggregator(list(states), mask.bool()), reference)
    torch.testing.assert_close(aggregator(states, mask.float()), reference)


@pytest.mark.parametrize(
    ("strategy", "options", "expected"),
    [
        ("last", {}, (3,)),
        ("layer", {"layer": -1}, (3,)),
        ("layer", {"layer": 0}, (0,)),
        ("mean", {"layer": 1}, (1, 2, 3)),
        ("scalar_mix", {}, (0, 1, 2, 3)),
        ("scalar_mix", {"layer": -2}, (2, 3)),
        ("concat", {"layer": -4}, (0, 3)),
        ("dlfa", {"layer": -2}, (2, 3)),
    ],
)
def test_layers_used_resolves_negative_indices(strategy, options, expected):
    assert build(strategy, options).layers_used == expected


def test_simple_strategies_compute_their_formula():
    states, mask = make_inputs()
    torch.testing.assert_close(build("last", {})(states, mask), states[3])
    torch.testing.assert_close(build("layer", {"layer": 1})(states, mask), states[1])
    torch.testing.assert_close(build("mean", {"layer": 1})(states, mask), (states[1] + states[2] + states[3]) / 3)
    mix = build("scalar_mix", {"layer": 2})
    with torch.no_grad():
        mix.scalar_parameters.copy_(torch.tensor([0.0, np.log(3.0)]))
        mix.gamma.fill_(2.0)
    torch.testing.assert_close(mix(states, mask), 2.0 * (0.25 * states[2] + 0.75 * states[3]))
    concat = build("concat", {"layer": 0})
    expected = torch.cat([states[3], states[0]], dim=-1) @ concat.projection.weight.T + concat.projection.bias
    torch.testing.assert_close(concat(states, mask), expected)


def test_scalar_mix_starts_uniform_with_gamma_one():
    mix = build("scalar_mix", {})
    states, mask = make_inputs()
    torch.testing.assert_close(mix(states, mask), torch.stack(states).mean(dim=0))


def test_dlfa_inner_size_follows_conv_order():
    assert build("dlfa", {"layer": 1, "reduction": 4}).inner_size == HIDDEN // 4
    assert build("dlfa", {"layer": 1, "reduction": 3}).inner_size == HIDDEN // 3
    assert build("dlfa", {"layer": 1, "reduction": 2, "conv_order": "expand-compress"}).inner_size == HIDDEN * 2


def test_dlfa_iterative_adds_a_second_attention_with_own_weights():
    single = build("dlfa", {"layer": 1})
    double = build("dlfa", {"layer": 1, "iterative": True})
    assert single.second_attention is None
    assert double.second_attention is not None
    assert sum(p.numel() for p in double.parameters()) == 2 * sum(p.numel() for p in single.parameters())


@pytest.mark.parametrize("fusion", ["convex", "aff"])
def test_dlfa_iterative_runs_and_fuses_with_second_pass_weights(fusion):
    aggregator = build("dlfa", {"layer": 1, "iterative": True, "fusion": fusion})
    states, mask = make_inputs()
    weights = aggregator.fusion_weights(states, mask)
    out = aggregator(states, mask)
    scale = 2.0 if fusion == "aff" else 1.0
    torch.testing.assert_close(out, scale * (weights * states[3] + (1 - weights) * states[1]))
    assert ((weights > 0) & (weights < 1)).all()


# --- masking invariance --------------------------------------------------------------------


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize(("strategy", "options"), CONFIGS, ids=CONFIG_IDS)
def test_real_token_outputs_ignore_padding(strategy, options, train):
    if train and options.get("dropout"):
        pytest.skip("dropout makes two training passes differ regardless of padding")
    aggregator = build(strategy, options)
    aggregator.train(train)
    states, mask = make_inputs()
    garbage_states, garbage_mask = with_garbage_padding(states, mask)
    clean = aggregator(states, mask)
    noisy = aggregator(garbage_states, garbage_mask)
    real = mask.bool()
    torch.testing.assert_close(noisy[:, :TOKENS][real], clean[real], atol=1e-5, rtol=1e-5)


def test_real_token_outputs_ignore_non_finite_padding():
    aggregator = build("dlfa", {"layer": 1, "norm": "batchnorm", "iterative": True})
    states, mask = make_inputs()
    clean = aggregator(states, mask)
    pad = ~mask.bool()
    poisoned = tuple(state.masked_fill(pad.unsqueeze(-1), float("nan")) for state in states)
    torch.testing.assert_close(aggregator(poisoned, mask)[mask.bool()], clean[mask.bool()], atol=1e-5, rtol=1e-5)


def test_batchnorm_running_statistics_come_from_real_tokens_only():
    clean_model = build("dlfa", {"layer": 1, "norm": "batchnorm"})
    noisy_model = build("dlfa", {"layer": 1, "norm": "batchnorm"})
    states, mask = make_inputs()
    clean_model(states, mask)
    noisy_model(*with_garbage_padding(states, mask))
    for clean_buffer, noisy_buffer in zip(clean_model.buffers(), noisy_model.buffers(), strict=True):
        torch.testing.assert_close(noisy_buffer, clean_buffer)


# --- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("mean", {"layer": 1}),
        ("scalar_mix", {"layer": 1}),
        ("concat", {"layer": 1}),
        ("dlfa", {"layer": 1}),
        ("dlfa", {"layer": 1, "norm": "batchnorm", "iterative": True, "fusion": "aff"}),
    ],
)
def test_gradients_reach_last_and_lower_layer(strategy, options):
    aggregator = build(strategy, options)
    states, mask = make_inputs()
    states = tuple(state.clone().requires_grad_(True) for state in states)
    out = aggregator(states, mask)
    out[mask.bool()].pow(2).sum().backward()
    for index in (1, NUM_LAYERS):
        assert states[index].grad is not None and states[index].grad.abs().sum() > 0, f"no gradient to H_{index}"
    assert states[0].grad is None, "H_0 is not used and must get no gradient"
    for name, parameter in aggregator.named_parameters():
        assert parameter.grad is not None, f"no gradient to {name}"


@pytest.mark.parametrize(
    ("strategy", "options"),
    [
        ("last", {}),
        ("layer", {"layer": 1}),
        ("mean", {"layer": 1}),
        ("scalar_mix", {}),
        ("concat", {"layer": 1}),
        ("dlfa", {"layer": 1}),
    ],
)
def test_gradients_reach_a_tiny_bert_encoder(strategy, options):
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=16,
    )
    torch.manual_seed(0)
    encoder = transformers.BertModel(config)
    aggregator = build_aggregator(
        strategy, num_layers=config.num_hidden_layers, hidden_size=config.hidden_size, **options
    )
    input_ids = torch.randint(1, 50, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    outputs = encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
    assert len(outputs.hidden_states) == config.num_hidden_layers + 1
    out = aggregator(outputs.hidden_states, mask)
    assert out.shape == (2, 6, aggregator.output_size)
    out[mask.bool()].pow(2).sum().backward()
    layer_zero = encoder.encoder.layer[0].attention.self.query.weight
    assert layer_zero.grad is not None and layer_zero.grad.abs().sum() > 0
    assert encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0


# --- AIF computed by hand ------------------------------------------------------------------


def _set_linear(linear: nn.Linear, weight: np.ndarray, bias: np.ndarray) -> None:
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        linear.bias.copy_(torch.tensor(bias, dtype=torch.float32))


def _numpy_bottleneck(x: np.ndarray, w1, b1, w2, b2, layernorm: bool) -> np.ndarray:
    def norm(v: np.ndarray) -> np.ndarray:
        if not layernorm:
            return v
        mean = v.mean(axis=-1, keepdims=True)
        var = v.var(axis=-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-5)

    hidden = np.maximum(norm(x @ w1.T + b1), 0.0)
    return norm(hidden @ w2.T + b2)


@pytest.mark.parametrize("norm", ["none", "layernorm"])
@pytest.mark.parametrize("fusion", ["convex", "aff"])
def test_dlfa_fusion_matches_hand_computation(norm, fusion):
    # E = 4, r = 2: local and global bottlenecks 4 -> 2 -> 4 with hand-set weights.
    aggregator = DLFA(num_layers=1, hidden_size=4, layer=0, reduction=2, norm=norm, fusion=fusion)
    local_w1 = np.array([[1.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.5, -1.0]])
    local_b1 = np.array([0.1, -0.2])
    local_w2 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    local_b2 = np.array([0.0, 0.1, -0.1, 0.2])
    global_w1 = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, -0.5]])
    global_b1 = np.array([0.0, 0.3])
    global_w2 = np.array([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0], [1.0, 1.0]])
    global_b2 = np.array([-0.1, 0.0, 0.1, 0.0])
    branches = aggregator.attention
    _set_linear(branches.local_branch.first, local_w1, local_b1)
    _set_linear(branches.local_branch.second, local_w2, local_b2)
    _set_linear(branches.global_branch.first, global_w1, global_b1)
    _set_linear(branches.global_branch.second, global_w2, global_b2)

    y = np.array([[[1.0, 0.0, 2.0, -1.0], [0.5, 0.5, -0.5, 1.0], [9.0, 9.0, 9.0, 9.0]]])
    x = np.array([[[0.0, 1.0, 1.0, 1.0], [2.0, -1.0, 0.0, 0.5], [-9.0, 9.0, -9.0, 9.0]]])
    mask = torch.tensor([[1, 1, 0]])  # the third token is padding

    s = x + y
    pooled = s[:, :2].mean(axis=1, keepdims=True)  # real tokens only
    layernorm = norm == "layernorm"
    local = _numpy_bottleneck(s, local_w1, local_b1, local_w2, local_b2, layernorm)
    global_ = _numpy_bottleneck(pooled, global_w1, global_b1, global_w2, global_b2, layernorm)
    weights = 1.0 / (1.0 + np.exp(-(local + global_)))
    fused = weights * x + (1.0 - weights) * y
    if fusion == "aff":
        fused = 2.0 * fused

    states = (torch.tensor(y, dtype=torch.float32), torch.tensor(x, dtype=torch.float32))
    got_weights = aggregator.fusion_weights(states, mask).detach().numpy()
    got = aggregator(states, mask).detach().numpy()
    np.testing.assert_allclose(got_weights[:, :2], weights[:, :2], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[:, :2], fused[:, :2], rtol=1e-5, atol=1e-6)


def test_dlfa_global_branch_averages_real_tokens_only():
    # Local branch silenced, global branch an identity on positive inputs: A = sigmoid(mean of S).
    aggregator = DLFA(num_layers=2, hidden_size=4, layer=1, reduction=1, norm="none")
    eye, zeros = np.eye(4), np.zeros(4)
    _set_linear(aggregator.attention.local_branch.first, np.zeros((4, 4)), zeros)
    _set_linear(aggregator.attention.local_branch.second, np.zeros((4, 4)), zeros)
    _set_linear(aggregator.attention.global_branch.first, eye, zeros)
    _set_linear(aggregator.attention.global_branch.second, eye, zeros)
    lower = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [0.3, 0.2, 0.1, 0.0], [50.0, 50.0, 50.0, 50.0]]])
    last = torch.tensor([[[0.2, 0.0, 0.1, 0.0], [0.0, 0.4, 0.1, 0.2], [60.0, 60.0, 60.0, 60.0]]])
    embeddings = torch.zeros_like(last)
    mask = torch.tensor([[1, 1, 0]])
    # S over the two real tokens: [0.3, 0.2, 0.4, 0.4] and [0.3, 0.6, 0.2, 0.2]; mean [0.3, 0.4, 0.3, 0.3].
    expected = torch.sigmoid(torch.tensor([0.3, 0.4, 0.3, 0.3])).expand(1, 3, 4)
    weights = aggregator.fusion_weights((embeddings, lower, last), mask)
    torch.testing.assert_close(weights, expected)


def test_dlfa_sequence_without_real_tokens_gives_finite_output():
    aggregator = build("dlfa", {"layer": 1})
    states, _ = make_inputs()
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]])
    assert torch.isfinite(aggregator(states, mask)).all()


def test_dlfa_batchnorm_runs_under_bfloat16_autocast():
    aggregator = build("dlfa", {"layer": 1, "norm": "batchnorm"})
    states, mask = make_inputs()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = aggregator(tuple(state.bfloat16() for state in states), mask)
    assert out.shape == (BATCH, TOKENS, HIDDEN)
    assert torch.isfinite(out[mask.bool()].float()).all()


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "layer", "fragments"),
    [
        ("layer", 4, ["layer=4", "0..3", "-4..-1"]),
        ("layer", -5, ["layer=-5", "0..3"]),
        ("mean", -1, ["layer=-1", "last layer", "0..2"]),
        ("dlfa", 3, ["layer=3", "last layer", "0..2", "-4..-2"]),
        ("concat", 3, ["layer=3", "last layer"]),
        ("dlfa", 1.5, ["integer", "1.5"]),
        ("scalar_mix", True, ["integer", "True"]),
    ],
)
def test_bad_layer_index_is_rejected_with_the_valid_range(strategy, layer, fragments):
    with pytest.raises(ValueError) as info:
        build(strategy, {"layer": layer})
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    assert strategy in message


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"reduction": 0}, ["reduction", "positive integer", "0"]),
        ({"reduction": 9}, ["reduction=9", "hidden_size=8", "1..8"]),
        ({"reduction": 2.0}, ["reduction", "2.0"]),
        ({"conv_order": "expand"}, ["conv_order='expand'", "compress-expand", "expand-compress"]),
        ({"norm": "groupnorm"}, ["norm='groupnorm'", "layernorm", "batchnorm", "none"]),
        ({"fusion": "sum"}, ["fusion='sum'", "convex", "aff"]),
        ({"iterative": "yes"}, ["iterative", "'yes'"]),
        ({"dropout": 1.0}, ["dropout", "[0, 1)", "1.0"]),
    ],
)
def test_bad_dlfa_option_is_rejected(options, fragments):
    with pytest.raises(ValueError) as info:
        build("dlfa", {"layer": 1, **options})
    for fragment in fragments:
        assert fragment in str(info.value)


def test_unknown_strategy_lists_valid_ones_and_the_nearest():
    with pytest.raises(ValueError) as info:
        build_aggregator("dfla", num_layers=2, hidden_size=4)
    message = str(info.value)
    assert "'dfla'" in message and "did you mean 'dlfa'" in message
    for name in AGGREGATORS:
        assert name in message


def test_unknown_option_names_it_and_the_accepted_ones():
    with pytest.raises(ValueError) as info:
        build_aggregator("dlfa", num_layers=2, hidden_size=4, layer=1, reductio=2)
    message = str(info.value)
    assert "'reductio'" in message and "did you mean 'reduction'" in message
    assert "conv_order" in message and "iterative" in message
    with pytest.raises(ValueError, match=r"'last' does not accept option 'layer'.*none"):
        build_aggregator("last", num_layers=2, hidden_size=4, layer=1)


def test_missing_required_layer_is_rejected():
    with pytest.raises(ValueError, match=r"'concat' requires option\(s\) layer"):
        build_aggregator("concat", num_layers=2, hidden_size=4)


@pytest.mark.parametrize(("num_layers", "hidden_size"), [(0, 4), (2, 0), (2, 4.0)])
def test_bad_sizes_are_rejected(num_layers, hidden_size):
    with pytest.raises(ValueError, match="positive integer"):
        build_aggregator("last", num_layers=num_layers, hidden_size=hidden_size)


def test_wrong_number_of_hidden_states_is_rejected():
    aggregator = build("dlfa", {"layer": 1})
    states, mask = make_inputs()
    with pytest.raises(ValueError, match=r"expected 4 hidden states .* got 3"):
        aggregator(states[1:], mask)
    with pytest.raises(ValueError, match=r"sequence of 4 tensors.*got Tensor"):
        aggregator(torch.stack(states), mask)


def test_mismatched_hidden_state_shapes_are_rejected():
    aggregator = build("mean", {"layer": 1})
    states, mask = make_inputs()
    wrong_hidden = states[:2] + (torch.randn(BATCH, TOKENS, HIDDEN + 1),) + states[3:]
    with pytest.raises(ValueError, match=r"hidden state 2 .*\(3, 5, 8\).*hidden_size 8.*got shape \(3, 5, 9\)"):
        aggregator(wrong_hidden, mask)
    wrong_tokens = states[:3] + (torch.randn(BATCH, TOKENS + 1, HIDDEN),)
    with pytest.raises(ValueError, match=r"hidden state 3 .*\(3, 5, 8\).*got shape \(3, 6, 8\)"):
        aggregator(wrong_tokens, mask)
    with pytest.raises(ValueError, match=r"hidden state 0 must be a B x T x E tensor, got shape \(3, 5\)"):
        aggregator((torch.randn(BATCH, TOKENS),) + states[1:], mask)


def test_mismatched_mask_shape_is_rejected():
    aggregator = build("last", {})
    states, mask = make_inputs()
    with pytest.raises(ValueError, match=r"attention_mask must have shape B x T = \(3, 5\), got shape \(3, 4\)"):
        aggregator(states, mask[:, :4])
    with pytest.raises(ValueError, match=r"attention_mask .* got NoneType"):
        aggregator(states, None)
    with pytest.raises(ValueError, match="attention_mask"):
        build("dlfa", {"layer": 1}).fusion_weights(states, mask.unsqueeze(-1))


def test_batchnorm_training_on_one_sequence_says_why_it_fails():
    aggregator = build("dlfa", {"layer": 1, "norm": "batchnorm"})
    states, mask = make_inputs(batch=1, lengths=(4,))
    with pytest.raises(ValueError, match="at least 2 sequences"):
        aggregator(states, mask)
    aggregator.eval()
    assert aggregator(states, mask).shape == (1, TOKENS, HIDDEN)


# --- registry ------------------------------------------------------------------------------


def test_describe_strategies_gives_each_formula_line():
    described = dict(describe_strategies())
    assert list(described) == list(AGGREGATORS)
    assert described["last"].startswith("``Z = H_L``")
    assert "softmax(w)" in described["scalar_mix"]
    assert "sigmoid(local(S) + global(S))" in described["dlfa"]
    for line in described.values():
        assert line and "\n" not in line


def test_every_strategy_documents_args_and_declares_options():
    for name, cls in AGGREGATORS.items():
        assert "Args:" in (cls.__doc__ or ""), name
        assert set(cls.required_options) <= set(cls.options)
        for option in cls.options:
            assert option in cls.__doc__, f"{name} does not document option {option}"
    assert DLFA.options == ("layer", "reduction", "conv_order", "norm", "fusion", "iterative", "dropout", "gate")
    assert DLFA.required_options == ("layer",)
    assert DLFA.option_defaults()["reduction"] == 4
    assert AGGREGATORS["scalar_mix"].option_defaults() == {"layer": 0}


# --- DLFA that starts from the baseline (gate) -----------------------------------------------


@pytest.mark.parametrize("gate", ["scalar", "channel"])
@pytest.mark.parametrize("options", [{}, {"iterative": True, "fusion": "aff"}, {"norm": "batchnorm"}])
def test_gated_dlfa_equals_the_last_layer_exactly_at_initialisation(gate, options):
    states, mask = make_inputs()
    gated = build("dlfa", {"layer": 1, "gate": gate, **options})
    last = build("last", {})
    assert torch.equal(gated(states, mask), last(states, mask))
    assert gated.gate is not None and gated.gate.shape == ((1,) if gate == "scalar" else (HIDDEN,))


def test_ungated_dlfa_differs_from_the_last_layer():
    states, mask = make_inputs()
    assert not torch.equal(build("dlfa", {"layer": 1})(states, mask), states[NUM_LAYERS])
    assert build("dlfa", {"layer": 1}).gate is None


@pytest.mark.parametrize("gate", ["scalar", "channel"])
def test_gradient_reaches_the_gate_and_then_the_attention_branches(gate):
    states, mask = make_inputs()
    target = torch.randn(BATCH, TOKENS, HIDDEN, generator=torch.Generator().manual_seed(5))
    gated = build("dlfa", {"layer": 1, "gate": gate})
    loss = ((gated(states, mask) - target) ** 2 * mask.unsqueeze(-1)).sum()
    loss.backward()
    # dZ/dg = fusion - X at g = 0: nonzero; the branches' effect is scaled by tanh(0) = 0.
    assert gated.gate.grad is not None and bool((gated.gate.grad != 0).all())
    assert all(p.grad is None or not p.grad.any() for p in gated.attention.parameters())
    optimizer = torch.optim.SGD(gated.parameters(), lr=0.1)
    optimizer.step()
    optimizer.zero_grad()
    moved = gated(states, mask)
    assert not torch.equal(moved, states[NUM_LAYERS])
    ((moved - target) ** 2 * mask.unsqueeze(-1)).sum().backward()
    assert any(p.grad is not None and p.grad.any() for p in gated.attention.parameters())


def test_gated_dlfa_follows_the_formula_for_a_nonzero_gate():
    states, mask = make_inputs()
    gated = build("dlfa", {"layer": 1, "gate": "channel"})
    plain = build("dlfa", {"layer": 1})
    plain.load_state_dict({k: v for k, v in gated.state_dict().items() if k != "gate"})
    with torch.no_grad():
        gated.gate.copy_(torch.linspace(-2.0, 2.0, HIDDEN))
    x = states[NUM_LAYERS]
    expected = x + torch.tanh(gated.gate) * (plain(states, mask) - x)
    torch.testing.assert_close(gated(states, mask), expected)


def test_unknown_gate_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match="gate='zero'.*'none', 'scalar', 'channel'"):
        build("dlfa", {"layer": 1, "gate": "zero"})
