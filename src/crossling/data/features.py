"""Tokenized features per task kind, cached as Arrow datasets keyed by tokenizer, length, task, language and split."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets

from crossling.data.records import Record
from crossling.errors import DataError
from crossling.taskspec import TaskSpec
from crossling.utils.io import (
    atomic_directory,
    atomic_write_json,
    read_json,
    sha256_file,
    sha256_json,
)
from crossling.utils.paths import features_dir

logger = logging.getLogger(__name__)

#: Bumped whenever a featurizer's output changes, so old caches are never reused.
FEATURES_VERSION = "features-2"


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """SHA-256 of everything that decides a tokenizer's output (vocab, normalizer, templates, specials)."""
    extra = json.dumps(
        {
            "class": type(tokenizer).__name__,
            "special": tokenizer.special_tokens_map,
            "padding_side": tokenizer.padding_side,
            "truncation_side": tokenizer.truncation_side,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256((_tokenizer_state_digest(tokenizer) + extra).encode("utf-8")).hexdigest()


def _tokenizer_state_digest(tokenizer: Any) -> str:
    """SHA-256 of the serialised vocabulary, normalizer and templates, memoised on the tokenizer per vocabulary size.

    Serialising (and hashing) a 250k-piece vocabulary takes seconds, and every feature lookup
    needs the key; the memo is dropped when tokens are added (the size changes).
    """
    memo = getattr(tokenizer, "_crossling_state", None)
    if memo is not None and memo[0] == len(tokenizer):
        return memo[1]
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Calling the tokenizer stores its last truncation/padding arguments in the backend;
        # they are per-call settings, not the tokenizer, and must not change the cache key.
        state = json.dumps(
            {k: v for k, v in json.loads(backend.to_str()).items() if k not in ("truncation", "padding")},
            sort_keys=True,
        )
    else:
        state = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    digest = hashlib.sha256(state.encode("utf-8")).hexdigest()
    with contextlib.suppress(AttributeError):  # a tokenizer that refuses attributes is simply not memoised
        tokenizer._crossling_state = (len(tokenizer), digest)
    return digest


def feature_cache_key(
    task: TaskSpec,
    language: str,
    split: str,
    source_fingerprint: str,
    tokenizer_fp: str,
    max_length: int,
    options: dict[str, Any] | None = None,
) -> str:
    """The cache key of one (task, language, split) under one tokenizer, length and featurizer options."""
    return sha256_json(
        {
            "version": FEATURES_VERSION,
            "task": task.name,
            "kind": str(task.kind),
            "labels": list(task.labels),
            "language": language,
            "split": split,
            "source": source_fingerprint,
            "tokenizer": tokenizer_fp,
            "max_length": max_length,
            "options": options or {},
        }
    )


def _verify_cache(directory: Path) -> bool:
    manifest = directory / "crossling_cache.json"
    if not manifest.is_file():
        return False
    try:
        expected = read_json(manifest)["files"]
        return all(sha256_file(directory / name) == digest for name, digest in expected.items())
    except (OSError, KeyError, ValueError):
        return False


def load_features(
    task: TaskSpec,
    records_loader: Callable[[], Sequence[Record]],
    *,
    language: str,
    split: str,
    source_fingerprint: str,
    tokenizer: Any,
    max_length: int,
    cache: bool = True,
    options: dict[str, Any] | None = None,
) -> datasets.Dataset:
    """Features of (task, language, split), from the Arrow cache when present and intact.

    The task's kind plugin featurizes (``FineTunedKind.featurize``); ``options`` are its keyword
    arguments (part of the cache key).
    ``records_loader`` is called only on a cache miss. A cache entry whose checksums do not
    match (a crash mid-write, a corrupted disk) is rebuilt, never loaded.
    """
    plugin = task.fine_tuned_kind()
    key = feature_cache_key(
        task, language, split, source_fingerprint, tokenizer_fingerprint(tokenizer), max_length, options
    )
    directory = features_dir() / task.name / f"{language}-{split}-{key[:16]}"
    if cache and directory.is_dir():
        if _verify_cache(directory):
            return datasets.load_from_disk(str(directory))
        logger.warning("feature cache %s is corrupt or incomplete; rebuilding", directory)
        shutil.rmtree(directory, ignore_errors=True)
    records = records_loader()
    if not records:
        raise DataError(f"{task.name}: the {split} split of {language!r} is empty")
    try:
        columns = plugin.featurize(records, task.labels, tokenizer, max_length, **(options or {}))
    except DataError as exc:
        raise DataError(f"{task.name}: {exc}") from None
    table = datasets.Dataset.from_dict(columns)
    if not cache:
        return table
    with atomic_directory(directory) as tmp:
        table.save_to_disk(str(tmp))
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        atomic_write_json(tmp / "crossling_cache.json", {"key": key, "files": files})
    return datasets.load_from_disk(str(directory))
