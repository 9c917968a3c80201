"""URIEL typology from lang2vec's data files: distances behave as typology says, errors name the fix."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from crossling.errors import ConfigError
from crossling.utils.typology import (
    rank_by_similarity,
    typological_distance,
    typology_vector,
    uriel_data_dir,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("lang2vec") is None,
    reason="lang2vec (URIEL data) is not installed: pip install 'crossling[typology]'",
)


def test_vectors_are_uriels_103_predicted_syntax_features():
    vector = typology_vector("de")
    assert vector.shape == (103,) and np.all((vector >= 0) & (vector <= 1))
    assert np.array_equal(vector, typology_vector("deu"))  # ISO 639-3 accepted as is
    assert typology_vector("de", "phonology").shape == (28,)


def test_distances_follow_known_typology():
    assert typological_distance("de", "de") == pytest.approx(0.0, abs=1e-12)
    assert typological_distance("de", "en") == pytest.approx(typological_distance("en", "de"))
    # German is closer to English than to Japanese; Japanese's nearest are the other SOV languages.
    assert typological_distance("de", "en") < typological_distance("de", "ja")
    ranked = [language for language, _ in rank_by_similarity("ja", ["en", "fr", "tr", "hi", "sw", "ja"])]
    assert ranked[:2] == ["tr", "hi"] and ranked[-1] == "sw" and "ja" not in ranked


def test_unknown_languages_and_feature_sets_are_config_errors():
    with pytest.raises(ConfigError, match="not in URIEL"):
        typology_vector("xx")
    with pytest.raises(ConfigError, match="known: syntax"):
        typology_vector("de", "semantics")
    assert (uriel_data_dir() / "feature_predictions.npz").is_file()
