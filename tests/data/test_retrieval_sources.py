"""Retrieval sources: Tatoeba from LASER files and the hub, BUCC sentence/gold files and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossling.data.retrieval_sources import (
    HubTatoebaSource,
    LocalBuccSource,
    LocalTatoebaSource,
    read_bucc_gold,
    read_bucc_sentences,
)
from crossling.data.sources import SourceOptions
from crossling.errors import DataError
from crossling.tasks import get_task


def test_tatoeba_languages_are_xtremes_36_and_xtreme_rs_41():
    spec = get_task("tatoeba")
    assert len(spec.languages) == 36 and len(spec.all_languages("xtreme-r")) == 41
    assert set(spec.all_languages("xtreme-r")) - set(spec.languages) == {"az", "lt", "pl", "ro", "uk"}


def _texts(pairs) -> list[tuple[str, str]]:
    return [(p.source, p.target) for p in pairs]


def test_local_tatoeba_reads_every_language_of_the_real_data(shared_data):
    source = LocalTatoebaSource(SourceOptions(data_dir=shared_data / "tatoeba", max_examples=5))
    for language in get_task("tatoeba").all_languages("xtreme-r"):
        pairs = source.load(language, "test")
        assert len(pairs) == 5 and all(p.source and p.target for p in pairs)
    assert _texts(source.load("deu", "test")) == _texts(source.load("de", "test"))
    assert source.fingerprint("de", "test") != source.fingerprint("fr", "test")
    with pytest.raises(DataError, match="only a test split"):
        source.load("de", "dev")
    with pytest.raises(DataError, match="no Tatoeba file code"):
        source.load("xx", "test")


def test_hub_tatoeba_maps_test_to_the_validation_split_of_google_xtreme(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, config, split, revision=None):
        calls.append((name, config, split))
        return [
            {"source_sentence": "Hallo.", "target_sentence": "Hello.", "source_lang": "deu", "target_lang": "eng"},
            {"source_sentence": "Danke.", "target_sentence": "Thanks.", "source_lang": "deu", "target_lang": "eng"},
        ]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    pairs = HubTatoebaSource(SourceOptions()).load("de", "test")
    assert calls == [("google/xtreme", "tatoeba.deu", "validation")]
    assert [(p.source, p.target) for p in pairs] == [("Hallo.", "Hello."), ("Danke.", "Thanks.")]


def test_hub_tatoeba_refuses_non_english_targets(monkeypatch):
    import datasets

    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, **k: [
            {"source_sentence": "Hello.", "target_sentence": "Hallo.", "source_lang": "eng", "target_lang": "deu"}
        ],
    )
    with pytest.raises(DataError, match="expected English targets"):
        HubTatoebaSource(SourceOptions()).load("de", "test")


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bucc_source_reads_xtreme_and_bucc_split_names(tmp_path):
    _write(tmp_path / "de-en.sample.de", "de-000001\tHallo Welt\nde-000002\tGuten Tag\n")
    _write(tmp_path / "de-en.sample.en", "en-000001\tGood day\nen-000002\tHello world\nen-000003\tNoise\n")
    _write(tmp_path / "de-en.sample.gold", "de-000001\ten-000002\nde-000002\ten-000001\n")
    [corpus] = LocalBuccSource(SourceOptions(data_dir=tmp_path)).load("de", "dev")
    assert corpus.source_ids == ("de-000001", "de-000002") and corpus.target_texts[2] == "Noise"
    assert corpus.gold == {("de-000001", "en-000002"), ("de-000002", "en-000001")}


def test_bucc_errors_name_the_file_and_line(tmp_path):
    bad = _write(tmp_path / "a", "de-1\tok\nno tab here\n")
    with pytest.raises(DataError, match=r"a:2: expected 'id<TAB>sentence'"):
        read_bucc_sentences(bad)
    assert read_bucc_sentences(bad, skip_bad_lines=True) == (["de-1"], ["ok"])
    with pytest.raises(DataError, match="duplicate sentence id"):
        read_bucc_sentences(_write(tmp_path / "b", "de-1\tx\nde-1\ty\n"))
    with pytest.raises(DataError, match=r"g:1: expected 'source id<TAB>target id'"):
        read_bucc_gold(_write(tmp_path / "g", "only-one-column\n"))
    _write(tmp_path / "fr-en.test.fr", "fr-1\tBonjour\n")
    _write(tmp_path / "fr-en.test.en", "en-1\tHello\n")
    _write(tmp_path / "fr-en.test.gold", "fr-1\ten-9\n")
    with pytest.raises(DataError, match="names 'en-9'"):
        LocalBuccSource(SourceOptions(data_dir=tmp_path)).load("fr", "test")
    with pytest.raises(DataError, match="no test files for language 'ru'"):
        LocalBuccSource(SourceOptions(data_dir=tmp_path)).load("ru", "test")
