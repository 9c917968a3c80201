"""Typological distances between languages from URIEL (lang2vec's data files), for choosing intermediate-task languages.

A language's vector is its row of URIEL's k-NN-predicted features as lang2vec ships them in
``feature_predictions.npz`` (``syntax``: the 103 ``S_`` features, lang2vec's ``syntax_knn``;
``phonology``: ``P_``; ``inventory``: ``INV_``), complete for all 7,970 languages. The distance of
two languages is the cosine distance of their vectors, ``1 - u.v / (|u| |v|)``, as URIEL's
precomputed syntactic distance is defined.

The files are read with numpy (plain arrays, no pickle); lang2vec itself is not imported (its
module needs ``pkg_resources``, gone from setuptools 81), only located through its distribution's
metadata: ``pip install 'crossling[typology]'`` installs it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from crossling.errors import ConfigError

#: XTREME's ISO 639-1 codes -> URIEL's ISO 639-3 (macro-language codes where URIEL has both).
ISO639_3: dict[str, str] = {
    "af": "afr", "ar": "ara", "az": "aze", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "en": "eng",
    "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fr": "fra", "gu": "guj", "he": "heb",
    "hi": "hin", "ht": "hat", "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat",
    "kk": "kaz", "ko": "kor", "lt": "lit", "ml": "mal", "mr": "mar", "ms": "msa", "my": "mya", "nl": "nld",
    "pa": "pan", "pl": "pol", "pt": "por", "qu": "que", "ro": "ron", "ru": "rus", "sw": "swa", "ta": "tam",
    "te": "tel", "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie", "wo": "wol",
    "yo": "yor", "zh": "zho",
}  # fmt: skip

#: Feature set name -> prefix of its features in ``feature_predictions.npz``.
FEATURE_SETS: dict[str, str] = {"syntax": "S_", "phonology": "P_", "inventory": "INV_"}


def uriel_data_dir() -> Path:
    """lang2vec's ``data`` folder, found through its installed distribution; ``ConfigError`` saying how to install it.

    Located through ``importlib.metadata``, not the import system: the distribution also installs
    a ``bin/lang2vec.py`` script, which shadows the package on ``sys.path`` when crossling runs
    as a console script from the same ``bin`` directory.
    """
    try:
        distribution = metadata.distribution("lang2vec")
    except metadata.PackageNotFoundError:
        raise ConfigError(
            "typology needs lang2vec's URIEL data: pip install 'crossling[typology]' (lang2vec==1.1.2)"
        ) from None
    directory = Path(distribution.locate_file("lang2vec/data"))
    if not (directory / "feature_predictions.npz").is_file():
        raise ConfigError(f"{directory}: lang2vec is installed without its feature_predictions.npz")
    return directory


@functools.cache
def _feature_table(feature_set: str) -> tuple[dict[str, int], np.ndarray]:
    """``(ISO 639-3 code -> row, languages x features matrix)`` of one feature set."""
    if feature_set not in FEATURE_SETS:
        raise ConfigError(f"unknown URIEL feature set {feature_set!r}; known: {', '.join(FEATURE_SETS)}")
    with np.load(uriel_data_dir() / "feature_predictions.npz", allow_pickle=False) as archive:
        columns = [i for i, name in enumerate(archive["feats"].tolist()) if name.startswith(FEATURE_SETS[feature_set])]
        matrix = archive["data"][:, columns, 0].astype(np.float64)
        rows = {code: i for i, code in enumerate(archive["langs"].tolist())}
    return rows, matrix


def typology_vector(language: str, feature_set: str = "syntax") -> np.ndarray:
    """URIEL's predicted feature vector of ``language`` (an ISO 639-1 code of ``ISO639_3`` or an ISO 639-3 code)."""
    rows, matrix = _feature_table(feature_set)
    code = ISO639_3.get(language, language)
    if code not in rows:
        raise ConfigError(
            f"language {language!r} is not in URIEL (as {code!r}); use an ISO 639-3 code "
            "or one of the ISO 639-1 codes crossling maps"
        )
    return matrix[rows[code]]


def typological_distance(a: str, b: str, feature_set: str = "syntax") -> float:
    """Cosine distance ``1 - cos(u_a, u_b)`` of the two languages' URIEL vectors (0: identical features)."""
    u, v = typology_vector(a, feature_set), typology_vector(b, feature_set)
    norm = float(np.linalg.norm(u) * np.linalg.norm(v))
    return 1.0 - float(u @ v) / norm if norm else 1.0


def rank_by_similarity(target: str, candidates: Sequence[str], feature_set: str = "syntax") -> list[tuple[str, float]]:
    """``(candidate, distance to target)`` nearest first (ties in the candidates' order); the target itself is skipped."""
    scored = [(c, typological_distance(target, c, feature_set)) for c in candidates if c != target]
    return sorted(scored, key=lambda pair: pair[1])
