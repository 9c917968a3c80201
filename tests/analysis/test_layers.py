"""Tests of the layer probes' measures: linear CKA, the language-ID probe, the layer choice, tables and plot."""

from __future__ import annotations

import numpy as np
import pytest

from crossling.analysis.layers import (
    LanguageIdResult,
    LayerScores,
    ProbeResult,
    choose_layer,
    language_id_accuracy,
    linear_cka,
    markdown_table,
    plot_layers,
)
from crossling.errors import DataError


def test_linear_cka_of_a_hand_computed_case():
    # Centred: x = (-1, 0, 1), y = (0, -1, 1); ||y^T x||^2 = 1, ||x^T x|| = ||y^T y|| = 2 -> 1 / 4.
    assert linear_cka(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [0.0], [2.0]])) == pytest.approx(0.25)


def test_linear_cka_is_one_under_an_orthogonal_transform_and_under_scaling():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 8))
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    assert linear_cka(x, x @ q) == pytest.approx(1.0)
    assert linear_cka(x, 3.5 * x) == pytest.approx(1.0)
    assert linear_cka(x, x + 7.0) == pytest.approx(1.0)  # centring removes a shift


def test_linear_cka_of_unrelated_representations_is_small_and_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 6)), rng.normal(size=(400, 5))
    assert linear_cka(x, y) < 0.05
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x))


def test_linear_cka_rejects_mismatched_and_constant_inputs():
    with pytest.raises(ValueError, match="same n"):
        linear_cka(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="constant"):
        linear_cka(np.ones((3, 2)), np.arange(6.0).reshape(3, 2))


def test_a_layer_that_encodes_the_language_gets_full_language_id_and_noise_gets_chance():
    rng = np.random.default_rng(2)
    noise = {lang: rng.normal(size=(120, 10)) for lang in ("en", "de", "ru")}
    coded = {lang: v + 12.0 * np.eye(10)[i] for i, (lang, v) in enumerate(noise.items())}
    full = language_id_accuracy(coded, seeds=(0, 1, 2))
    assert full.mean == 100.0 and full.std == 0.0 and full.per_seed == (100.0, 100.0, 100.0)
    chance = language_id_accuracy(noise, seeds=(0, 1, 2))
    assert chance.mean < 50.0 and len(chance.per_seed) == 3
    assert chance.std == pytest.approx(float(np.std(chance.per_seed, ddof=1)))


def test_language_id_needs_two_languages():
    with pytest.raises(DataError, match="at least two languages"):
        language_id_accuracy({"en": np.zeros((4, 2))}, seeds=(0,))


def _result(retrieval: list[float]) -> ProbeResult:
    """A probe whose layer k retrieves ``retrieval[k]`` % in both directions in one language."""
    layers = tuple(
        LayerScores(k, {"de": {"xx_en": r, "en_xx": r}}, LanguageIdResult(50.0, 1.0, (49.0, 51.0)), {"de": 0.5})
        for k, r in enumerate(retrieval)
    )
    return ProbeResult("toy", {"task": "toy"}, layers, (0, 1))


def test_choose_layer_takes_the_best_lower_layer_and_says_the_premise_holds():
    choice = choose_layer(_result([10.0, 40.0, 70.0, 65.0, 60.0]))
    assert choice.layer == 2 and choice.premise_holds and choice.last_layer_retrieval == 60.0


def test_choose_layer_breaks_ties_toward_the_higher_layer_and_ignores_the_embeddings():
    assert choose_layer(_result([90.0, 50.0, 50.0, 30.0, 40.0])).layer == 2


def test_choose_layer_says_the_premise_fails_when_the_last_layer_retrieves_best():
    choice = choose_layer(_result([10.0, 20.0, 30.0, 80.0, 80.0]))
    assert choice.layer == 3 and not choice.premise_holds
    assert not choose_layer(_result([10.0, 20.0, 30.0, 40.0, 90.0])).premise_holds


def test_choose_layer_needs_a_lower_transformer_layer():
    with pytest.raises(DataError, match="at least 2 transformer layers"):
        choose_layer(_result([10.0, 20.0]))


def test_probe_result_round_trips_through_json_and_renders(tmp_path):
    result = _result([10.0, 40.0, 70.0])
    assert ProbeResult.from_dict(result.as_dict()) == result
    table = markdown_table(result).splitlines()
    assert len(table) == 2 + 3
    assert table[3].startswith("| 1 | 40.0 | 50.0 ± 1.0 | 0.500 | 40.0 / 40.0 |")
    png = plot_layers(result, tmp_path / "layers.png")
    assert png.read_bytes().startswith(b"\x89PNG")
