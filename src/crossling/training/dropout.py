"""A cheaper dropout (``training.dropout_impl: fast``): masks from 16 random bits per bf16 element, one multiply."""

from __future__ import annotations

import functools

import torch
from torch import nn

#: The integer dtype of each float width: a keep decision compares that many random bits with a threshold, and the
#: noise (0 or the scale) is written as that integer's bit pattern, so every step stays in one dtype.
_INT_OF_WIDTH = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def keep_probability(p: float, width: int = 2) -> float:
    """The probability ``fast_dropout`` keeps an element of ``width`` bytes: ``1 - p`` rounded to a multiple of
    2^-(8 * width) (within 2^-17 for bf16 and fp16)."""
    levels = 1 << (8 * width)
    return 1.0 - round(p * levels) / levels


def dropout_noise(x: torch.Tensor, p: float) -> torch.Tensor:
    """A tensor like ``x`` (contiguous, same dtype) holding ``1 / keep_probability`` with probability
    ``keep_probability(p, width)`` and 0 otherwise, independently per element.

    One 64-bit random word (torch's ``randint`` on the device's default generator, so
    ``torch.manual_seed`` and checkpointed RNG states govern it) gives the bits of 8 / width
    elements; each element's bits, read as a signed integer, are compared with a threshold into
    an integer tensor (0 or 1) that is multiplied by the bit pattern of the scale and read back as
    floats. On CPU this is several times faster than ``bernoulli_``, which draws a double per
    element, and than a boolean mask, whose mixed-dtype multiply takes a slow casting path.
    """
    width = x.element_size()
    itype = _INT_OF_WIDTH[width]
    count = x.numel()
    words = torch.randint(-(2**63), 2**63 - 1, ((count * width + 7) // 8,), dtype=torch.int64, device=x.device)
    random = words.view(itype)[:count].view(x.shape)
    threshold, scale = _noise_constants(p, x.dtype)
    noise = torch.empty(x.shape, dtype=itype, device=x.device)
    torch.ge(random, threshold, out=noise)
    return noise.mul_(scale).view(x.dtype)


@functools.lru_cache(maxsize=64)
def _noise_constants(p: float, dtype: torch.dtype) -> tuple[int, int]:
    """``dropout_noise``'s threshold on the signed random bits and the bit pattern of its scale in ``dtype``."""
    width = torch.empty((), dtype=dtype).element_size()
    bits = 8 * width
    threshold = round(p * (1 << bits)) - (1 << (bits - 1))
    scale = torch.tensor(1.0 / keep_probability(p, width), dtype=dtype).view(_INT_OF_WIDTH[width]).item()
    return threshold, int(scale)


def fast_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of ``x`` in its own dtype: ``x * noise`` (``dropout_noise``), the mean preserved in expectation up to
    the rounding of the scale to ``x``'s dtype (as torch's dropout in bf16).

    Autograd saves the noise (as torch's dropout saves its mask); the gradient is ``grad * noise``.
    Its random stream differs from torch's ``nn.Dropout`` (other masks for the same seed).
    Tensors of other dtypes, and tensors off the CPU (CUDA's dropout is one fused kernel already; this
    one is measured on CPU only), fall back to ``torch.nn.functional.dropout``.
    """
    if p <= 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    if x.device.type != "cpu" or not x.is_floating_point() or x.element_size() not in _INT_OF_WIDTH:
        return nn.functional.dropout(x, p, training=True)
    return x * dropout_noise(x, p)


class FastDropout(nn.Module):
    """Drop-in for ``nn.Dropout`` using ``fast_dropout`` in training mode and the identity in eval mode.

    Keeps ``p`` as an attribute: transformers' attention layers read ``self.dropout.p`` and
    pass it to scaled-dot-product attention, whose attention-probability dropout stays torch's.

    Args:
        p: Probability of zeroing an element.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``fast_dropout(x, p)`` when training, else ``x``."""
        return fast_dropout(x, self.p) if self.training else x

    def extra_repr(self) -> str:
        return f"p={self.p}"
