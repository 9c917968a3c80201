"""Where crossling keeps converted models and feature caches (``CROSSLING_HOME`` or the XDG cache)."""

from __future__ import annotations

import os
from pathlib import Path


def crossling_home() -> Path:
    """Root of crossling's user cache.

    ``$CROSSLING_HOME`` if set, else ``$XDG_CACHE_HOME/crossling``, else ``~/.cache/crossling``.
    """
    if env := os.environ.get("CROSSLING_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base).expanduser() / "crossling"


def models_dir() -> Path:
    """Directory of models that crossling built itself (e.g. the converted offline encoder)."""
    return crossling_home() / "models"


def features_dir() -> Path:
    """Directory of tokenized feature caches (Arrow), one sub-directory per cache key."""
    return crossling_home() / "features"


def stages_dir() -> Path:
    """Directory of trained stages shared by every run, one sub-directory per stage id (``crossling cache``)."""
    return crossling_home() / "stages"


def vectors_dir() -> Path:
    """Directory of cached sentence vectors of retrieval candidate pools (safetensors, keyed by encoder and texts)."""
    return crossling_home() / "vectors"


def image_features_dir() -> Path:
    """Directory of cached image features of vision encoders (safetensors, keyed by encoder and image files)."""
    return crossling_home() / "image-features"
