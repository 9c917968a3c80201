"""``mixed_precision: auto`` picks bf16 on a CPU only with native bf16 or a probe that measured it faster, and says why."""

from __future__ import annotations

import json

import pytest

from crossling.utils import precision
from crossling.utils.precision import (
    PROBE_FILE,
    cached_bf16_probe,
    choose_precision,
    cpu_flags,
    measure_bf16_probe,
    native_bf16_flags,
)

# /proc/cpuinfo of a CPU with AVX-512 BW/VL/DQ but no bf16 instructions (Skylake/Cascade Lake-SP):
# oneDNN's _is_mkldnn_bf16_supported() is true there, and bf16 is emulated.
SKYLAKE = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6148\nflags\t\t: fpu sse avx2 avx512f avx512dq avx512bw avx512vl\n"
SAPPHIRE = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512vl avx512_bf16 amx_tile amx_bf16 amx_int8\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.fixture
def cpu(monkeypatch, tmp_path):
    """Pretend to be a CPU-only machine whose /proc/cpuinfo is the given text; returns a setter."""
    monkeypatch.setattr(precision.torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path / "home"))  # a fresh probe cache per test
    choose_precision.cache_clear()

    def use(text: str) -> None:
        info = tmp_path / "cpuinfo"
        info.write_text(text)
        monkeypatch.setattr(precision, "cpu_flags", lambda: cpu_flags(info))
        choose_precision.cache_clear()

    yield use
    choose_precision.cache_clear()


def _fake_probe(monkeypatch, fp32: float, bf16: float) -> list[int]:
    calls: list[int] = []

    def measure(hidden_size: int) -> dict:
        calls.append(hidden_size)
        return {"hidden_size": hidden_size, "fp32_seconds": fp32, "bf16_seconds": bf16}

    monkeypatch.setattr(precision, "measure_bf16_probe", measure)
    return calls


def test_cpu_flags_read_x86_flags_and_arm_features(tmp_path):
    (tmp_path / "x86").write_text(SAPPHIRE)
    (tmp_path / "arm").write_text(GRAVITON3)
    assert native_bf16_flags(cpu_flags(tmp_path / "x86")) == ["amx_bf16", "avx512_bf16"]
    assert native_bf16_flags(cpu_flags(tmp_path / "arm")) == ["bf16"]
    assert cpu_flags(tmp_path / "absent") == set()


def test_native_bf16_cpu_gets_bf16_without_a_probe(cpu, monkeypatch):
    cpu(SAPPHIRE)
    calls = _fake_probe(monkeypatch, fp32=1.0, bf16=2.0)
    choice = choose_precision("auto", 384)
    assert choice.precision == "bf16" and "amx_bf16" in choice.reason and choice.probe is None
    assert calls == []


@pytest.mark.parametrize(("bf16_seconds", "expected"), [(2.0, "no"), (0.95, "no"), (0.5, "bf16")])
def test_avx512_without_bf16_follows_the_probe_with_a_margin(cpu, monkeypatch, bf16_seconds, expected):
    cpu(SKYLAKE)
    _fake_probe(monkeypatch, fp32=1.0, bf16=bf16_seconds)
    choice = choose_precision("auto", 384)
    assert choice.precision == expected
    assert "probe at hidden 384" in choice.reason and choice.probe["bf16_seconds"] == bf16_seconds
    assert choice.as_manifest()["setting"] == "auto"


def test_probe_is_measured_once_per_machine_and_hidden_size(cpu, monkeypatch, tmp_path):
    cpu(SKYLAKE)
    calls = _fake_probe(monkeypatch, fp32=1.0, bf16=2.0)
    cache = tmp_path / PROBE_FILE
    assert cached_bf16_probe(384, cache) == cached_bf16_probe(384, cache)
    cached_bf16_probe(768, cache)
    assert calls == [384, 768]
    recorded = json.loads(cache.read_text())
    assert len(recorded) == 2 and all("torch" in key and "threads" in key for key in recorded)
    cache.write_text("{not json")  # a damaged cache is measured again, not an error
    cached_bf16_probe(384, cache)
    assert calls == [384, 768, 384]


def test_explicit_settings_are_kept(cpu, monkeypatch):
    cpu(SKYLAKE)
    calls = _fake_probe(monkeypatch, fp32=1.0, bf16=0.1)
    assert [choose_precision(s).precision for s in ("no", "bf16", "fp16")] == ["no", "bf16", "fp16"]
    assert choose_precision("no").reason == "set in the config" and calls == []


def test_the_real_probe_times_both_precisions():
    result = measure_bf16_probe(64, tokens=32, rounds=2, repeats=1)
    assert result["fp32_seconds"] > 0 and result["bf16_seconds"] > 0 and result["hidden_size"] == 64
