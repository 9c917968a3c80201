"""Which mixed precision ``auto`` means on this machine (native bf16, or a measured probe), and why."""

from __future__ import annotations

import functools
import json
import logging
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from crossling.utils.distributed import process_count
from crossling.utils.io import atomic_write_json
from crossling.utils.paths import crossling_home

logger = logging.getLogger(__name__)

#: CPU flags (``/proc/cpuinfo``) that mean bf16 arithmetic in hardware: Intel AMX and AVX512-BF16
#: on x86, the Armv8.6 BF16 extension (``bf16`` in the ``Features`` line) on Arm. AVX-512 BW/VL/DQ
#: alone (what oneDNN's ``_is_mkldnn_bf16_supported`` checks) only emulates bf16, slower than fp32.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")

#: bf16 is chosen by the probe only if it is this much faster than fp32: timing noise on a
#: shared machine must not switch users to a precision that is not clearly faster.
PROBE_MARGIN = 0.9

PROBE_FILE = "precision-probe.json"


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision a run uses and the reason, as recorded in the manifest.

    Args:
        setting: The configured ``training.mixed_precision`` (``auto``, ``bf16``, ``fp16``, ``no``).
        precision: What is used: ``bf16``, ``fp16`` or ``no`` (fp32).
        reason: One line saying why (the native CPU flags, the probe's timings, the GPU, or the config).
        probe: The probe's measurement when one decided (seconds per matmul, hidden size), else None.
    """

    setting: str
    precision: str
    reason: str
    probe: dict[str, Any] | None = None

    def as_manifest(self) -> dict[str, Any]:
        """The choice as a JSON-ready dict."""
        return asdict(self)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (x86 ``flags``, Arm ``Features``); empty where ``/proc/cpuinfo`` is absent."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            flags.update(value.split())
    return flags


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (``/proc/cpuinfo``), else ``platform.processor()``."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bf16_flags(flags: set[str] | None = None) -> list[str]:
    """The flags of :data:`NATIVE_BF16_FLAGS` this CPU has (torch's own check where cpuinfo is unreadable)."""
    flags = cpu_flags() if flags is None else flags
    if not flags:
        checks = {"amx_bf16": "_is_amx_tile_supported", "avx512_bf16": "_is_avx512_bf16_supported"}
        return [flag for flag, name in checks.items() if getattr(torch.cpu, name, lambda: False)()]
    return [flag for flag in NATIVE_BF16_FLAGS if flag in flags]


def _time_matmuls(x: torch.Tensor, weight: torch.Tensor, dtype: torch.dtype | None, repeats: int) -> float:
    """Seconds of one ``x @ weight.T`` (under bf16 autocast when ``dtype`` is given), the fastest of ``repeats``."""
    times = []
    for _ in range(repeats):
        with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            started = time.perf_counter()
            torch.nn.functional.linear(x, weight)
            times.append(time.perf_counter() - started)
    return min(times)


def measure_bf16_probe(hidden_size: int, *, tokens: int = 512, rounds: int = 5, repeats: int = 3) -> dict[str, Any]:
    """Time fp32 against bf16-autocast matmuls of a transformer layer's shape on the CPU.

    The matmul is ``(tokens x H) @ (H x 4H)``, the feed-forward projection that holds most of a
    layer's FLOPs, weights in fp32 as in training (autocast casts them, a cost bf16 training pays
    too). fp32 and bf16 alternate over ``rounds`` so a change in the machine's load hits both;
    each figure is the median over rounds of the fastest of ``repeats`` calls.
    """
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(tokens, hidden_size, generator=generator)
    weight = torch.randn(4 * hidden_size, hidden_size, generator=generator)
    _time_matmuls(x, weight, None, 1)  # warm-up: first calls allocate and pick kernels
    _time_matmuls(x, weight, torch.bfloat16, 1)
    fp32, bf16 = [], []
    for _ in range(rounds):
        fp32.append(_time_matmuls(x, weight, None, repeats))
        bf16.append(_time_matmuls(x, weight, torch.bfloat16, repeats))
    return {
        "hidden_size": hidden_size,
        "tokens": tokens,
        "fp32_seconds": statistics.median(fp32),
        "bf16_seconds": statistics.median(bf16),
        "threads": torch.get_num_threads(),
    }


def _probe_key(hidden_size: int) -> str:
    return f"{cpu_model()} | torch {torch.__version__} | {torch.get_num_threads()} threads | hidden {hidden_size}"


def cached_bf16_probe(hidden_size: int, cache: Path | None = None) -> dict[str, Any]:
    """:func:`measure_bf16_probe`, measured once per machine, torch version, thread count and hidden size.

    Kept in ``$CROSSLING_HOME/precision-probe.json``; an unreadable file is measured again.
    """
    cache = cache or crossling_home() / PROBE_FILE
    key = _probe_key(hidden_size)
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), dict):
        return known[key]
    result = measure_bf16_probe(hidden_size)
    logger.info(
        "precision probe at hidden %d: fp32 %.2f ms, bf16 %.2f ms per matmul",
        hidden_size,
        1e3 * result["fp32_seconds"],
        1e3 * result["bf16_seconds"],
    )
    known[key] = result
    try:
        atomic_write_json(cache, known)
    except OSError as exc:  # a read-only home costs a re-measurement next time, not the run
        logger.warning("could not cache the precision probe in %s: %s", cache, exc)
    return result


def _cpu_choice(hidden_size: int) -> PrecisionChoice:
    native = native_bf16_flags()
    if native:
        return PrecisionChoice("auto", "bf16", f"CPU has native bf16 ({', '.join(native)})")
    if process_count() > 1:  # each process's timings would differ, and all must train in one precision
        return PrecisionChoice("auto", "no", "no native bf16 flags (several processes: no timing probe)")
    probe = cached_bf16_probe(hidden_size)
    fp32_ms, bf16_ms = 1e3 * probe["fp32_seconds"], 1e3 * probe["bf16_seconds"]
    measured = f"probe at hidden {hidden_size}: bf16 {bf16_ms:.2f} ms vs fp32 {fp32_ms:.2f} ms per matmul"
    if probe["bf16_seconds"] < PROBE_MARGIN * probe["fp32_seconds"]:
        return PrecisionChoice("auto", "bf16", f"no native bf16 flags, but bf16 measured faster ({measured})", probe)
    return PrecisionChoice("auto", "no", f"no native bf16 flags and bf16 not measured faster ({measured})", probe)


@functools.cache
def choose_precision(setting: str, hidden_size: int = 768) -> PrecisionChoice:
    """What ``training.mixed_precision: setting`` means here: bf16, fp16 or fp32 (``no``), with the reason.

    An explicit setting is kept. ``auto``: on a CUDA GPU bf16 where supported, else fp16; on a
    CPU bf16 where the CPU has native bf16 instructions (:data:`NATIVE_BF16_FLAGS`), else bf16
    only if a short probe of matmuls at ``hidden_size`` (:func:`cached_bf16_probe`) measured it
    at least 10% faster than fp32, else fp32 (fp32 without the probe when launched on several
    processes, which must agree). Computed once per process.
    """
    if setting != "auto":
        return PrecisionChoice(setting, setting, "set in the config")
    if torch.cuda.is_available():
        if torch.cuda.is_bf16_supported():
            return PrecisionChoice(setting, "bf16", f"GPU {torch.cuda.get_device_name(0)} supports bf16")
        return PrecisionChoice(
            setting, "fp16", f"GPU {torch.cuda.get_device_name(0)} has no bf16; fp16 with a gradient scaler"
        )
    return _cpu_choice(hidden_size)


def resolve_mixed_precision(setting: str, hidden_size: int = 768) -> str:
    """``auto`` -> ``bf16``, ``fp16`` or ``no`` as :func:`choose_precision` decides; other settings unchanged."""
    return choose_precision(setting, hidden_size).precision


def hidden_size_of(model: torch.nn.Module, default: int = 768) -> int:
    """The hidden size in a model's (or its ``encoder``'s) HF config; ``default`` where there is none."""
    config = getattr(getattr(model, "encoder", model), "config", None)
    return int(getattr(config, "hidden_size", None) or getattr(config, "d_model", None) or default)


def pretrained_hidden_size(name_or_path: str, *, revision: str | None = None, default: int = 768) -> int:
    """The hidden size in a pretrained model's ``config.json`` (local or cached); ``default`` if unreadable."""
    from transformers import AutoConfig

    try:
        # Never custom code (nor transformers' interactive prompt about it) just to read a size.
        config = AutoConfig.from_pretrained(name_or_path, revision=revision, trust_remote_code=False)
    except (OSError, ValueError):
        return default
    return int(getattr(config, "hidden_size", None) or getattr(config, "d_model", None) or default)
