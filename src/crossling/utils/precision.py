"""Mixed-precision setting (``auto``, ``bf16``, ``fp16``, ``no``) resolved for this machine; shared by training and inference."""

from __future__ import annotations

import torch


def resolve_mixed_precision(setting: str) -> str:
    """``auto`` -> ``bf16`` where the device supports bf16 kernels, else ``no``."""
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "no"
