"""Atomic, crash-safe file writes (temp file + fsync + rename) and small JSON helpers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crossling.errors import CorruptFile


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry so that a rename inside it survives a power loss."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    """The process umask (read from /proc where it can be, since reading it otherwise means setting it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, directory: bool = False) -> None:
    """Give ``path`` the mode a plain ``open()``/``mkdir()`` would (0666/0777 less the umask).

    Temporary files are created 0600 (``mkstemp``, safetensors); renamed into place as they are,
    results on a shared server would be unreadable to the group.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


#: How a library written in Rust (safetensors, tokenizers) reports an OS error: "... (os error 28)".
_RUST_OS_ERROR = re.compile(r"\(os error (\d+)\)")


def _naming(exc: BaseException, target: Path) -> BaseException:
    """``exc``, or for an OS error that names no file (a failed ``write``: disk full), an ``OSError`` naming ``target``.

    safetensors raises its own ``SafetensorError`` for a failed write ("I/O error: No space left on
    device (os error 28)"); it becomes an ``OSError`` too, so the command ends in one line naming the file.
    """
    if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(target))
    rust = None if isinstance(exc, OSError) else _RUST_OS_ERROR.search(str(exc))
    if rust is not None:
        errno_value = int(rust.group(1))
        return OSError(errno_value, os.strerror(errno_value), str(target))
    return exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success, fsync it and rename it onto ``path``.

    Readers see either the old file or the complete new one, never a partial write. On an
    exception the temporary file is removed and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        _publish_mode(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise _naming(exc, target) from exc


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> None:
    """Serialise ``obj`` as JSON (UTF-8, keys in insertion order) and write it atomically."""
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; on success, rename it onto ``path``.

    An existing ``path`` is replaced. Used for multi-file artefacts (feature caches,
    checkpoints) so that a crash never leaves a half-written directory under the final name.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                with open(file, "rb+") as handle:
                    os.fsync(handle.fileno())
            _publish_mode(file, directory=file.is_dir())
        _publish_mode(tmp, directory=True)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _naming(exc, target) from exc


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file (UTF-8); ``CorruptFile`` (a ``ValueError``) naming the file and line if it is not JSON."""
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as exc:
            raise CorruptFile(
                f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg}); "
                "the file is damaged or incomplete"
            ) from None
        except UnicodeDecodeError:
            raise CorruptFile(f"{path}: not valid JSON (not UTF-8 text); the file is damaged") from None


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks by ``hashlib.file_digest``."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of a canonical JSON encoding of ``obj`` (sorted keys), for cache keys."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
