"""SHA-256 of large files (model weights), remembered in the user cache by path, size and modification time."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from crossling.utils.io import atomic_write_json, read_json, sha256_file, sha256_json
from crossling.utils.paths import crossling_home


def digests_dir() -> Path:
    """Where remembered digests live: one small JSON file per hashed file."""
    return crossling_home() / "digests"


def cached_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of ``path``'s bytes, computed once per (real path, size, mtime) and then read back.

    A 470 MB weights file takes seconds to hash; every run of the same model records its
    digest in the manifest, so the digest is remembered. A file rewritten in place changes size
    or modification time and is hashed again.
    """
    real = Path(path).resolve()
    stat = real.stat()
    stamp = {"path": str(real), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    entry = digests_dir() / f"{sha256_json(stamp)}.json"
    try:
        remembered = read_json(entry)
        if {k: remembered.get(k) for k in stamp} == stamp and isinstance(remembered.get("sha256"), str):
            return remembered["sha256"]
    except (OSError, ValueError):
        pass
    digest = sha256_file(real)
    with contextlib.suppress(OSError):  # a read-only cache only costs the next run the same hashing
        atomic_write_json(entry, {**stamp, "sha256": digest})
    return digest
