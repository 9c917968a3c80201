"""Resolve ``"package.module:attribute"`` references, so registries can be tables of names loaded on demand."""

from __future__ import annotations

import importlib
from typing import Any


def resolve(reference: str) -> Any:
    """Import ``package.module`` and return its ``attribute`` for a ``"package.module:attribute"`` reference."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attribute!r}") from None
