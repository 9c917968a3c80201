"""CoNLL-U, XTREME tagging TSV and raw WikiANN readers: counts on the real files, every malformed case."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from crossling.data.formats import UPOS_TAGS, read_conllu, read_tagging_tsv, read_wikiann
from crossling.errors import DataError

# (file under ud/, sentences, words with an integer ID) -- MANIFEST.md, section 1.
UD_COUNTS = [
    ("en/en_ewt-ud-test.conllu", 2077, 25094),
    ("en/en_ewt-ud-dev.conllu", 2001, 25147),
    ("fi/fi_tdt-ud-test.conllu", 1555, 21070),
    ("fr/fr_gsd-ud-test.conllu", 416, 10018),
    ("el/el_gdt-ud-test.conllu", 456, 10672),
    ("zh/zh_gsd-ud-test.conllu", 500, 12010),
]

CONLLU_OK = """\
# sent_id = s1
# text = Du vin.
1-2\tDu\t_\t_\t_\t_\t_\t_\t_\t_
1\tDe\tde\tADP\t_\t_\t3\tcase\t_\t_
2\tle\tle\tDET\t_\t_\t3\tdet\t_\t_
3\tvin\tvin\tNOUN\t_\t_\t0\troot\t_\t_
3.1\tvin\t_\t_\t_\t_\t_\t_\t3:conj\t_
4\t.\t.\tPUNCT\t_\t_\t3\tpunct\t_\t_

# sent_id = s2
1\tOui\toui\tINTJ\t_\t_\t0\troot\t_\t_
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _count_blocks(path: Path) -> tuple[int, int]:
    """Independent count: (blank-line separated blocks, non-blank lines)."""
    blocks, lines, in_block = 0, 0, False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.strip():
            lines += 1
            blocks += not in_block
            in_block = True
        else:
            in_block = False
    return blocks, lines


@pytest.mark.parametrize(("name", "sentences", "words"), UD_COUNTS)
def test_conllu_reader_counts_the_sentences_and_words_of_real_treebanks(shared_data, name, sentences, words):
    examples, skipped = read_conllu(shared_data / "ud" / name)
    assert (len(examples), sum(len(e.tokens) for e in examples), skipped) == (sentences, words, 0)
    assert all(len(e.tokens) == len(e.tags) for e in examples)
    assert {tag for e in examples for tag in e.tags} <= set(UPOS_TAGS)
    assert len({e.id for e in examples}) == sentences


def test_conllu_reader_takes_ids_from_sent_id_and_words_from_integer_ids(shared_data):
    examples, _ = read_conllu(shared_data / "ud" / "en" / "en_ewt-ud-test.conllu")
    first = examples[0]
    assert first.id.startswith("weblog-blogspot.com_zentelligence_")
    assert first.tokens == ("What", "if", "Google", "Morphed", "Into", "GoogleOS", "?")
    assert first.tags == ("PRON", "SCONJ", "PROPN", "VERB", "ADP", "PROPN", "PUNCT")


def test_conllu_reader_skips_multiword_ranges_and_empty_nodes(tmp_path):
    examples, skipped = read_conllu(_write(tmp_path, "x.conllu", CONLLU_OK))
    assert skipped == 0
    assert [e.id for e in examples] == ["s1", "s2"]
    assert examples[0].tokens == ("De", "le", "vin", ".")
    assert examples[0].tags == ("ADP", "DET", "NOUN", "PUNCT")


def test_conllu_reader_skips_the_multiword_and_empty_node_lines_of_real_finnish(shared_data):
    path = shared_data / "ud" / "fi" / "fi_tdt-ud-test.conllu"
    lines = path.read_text(encoding="utf-8").split("\n")
    ranges = sum(1 for line in lines if line and line.split("\t")[0].count("-") == 1 and not line.startswith("#"))
    empties = sum(1 for line in lines if line and "." in line.split("\t")[0] and not line.startswith("#"))
    assert (ranges, empties) == (27, 29)  # MANIFEST.md
    examples, _ = read_conllu(path)
    assert sum(len(e.tokens) for e in examples) == 21070


@pytest.mark.parametrize(
    ("bad_line", "line_no", "fragment"),
    [
        ("1\tOui\toui\tINTJ\t_\t_\t0\troot\t_", 11, "expected 10 tab-separated CoNLL-U columns, found 9"),
        ("x\tOui\toui\tINTJ\t_\t_\t0\troot\t_\t_", 11, "expected an ID like 7, 3-4 or 8.1, found 'x'"),
        ("2\tOui\toui\tINTJ\t_\t_\t0\troot\t_\t_", 11, "expected word ID 1, found 2"),
        ("1\tOui\toui\t_\t_\t_\t0\troot\t_\t_", 11, "expected a UPOS tag"),
        ("1\tOui\toui\tINTERJ\t_\t_\t0\troot\t_\t_", 11, "unknown UPOS tag 'INTERJ'"),
    ],
)
def test_conllu_reader_names_file_and_line_of_a_malformed_line(tmp_path, bad_line, line_no, fragment):
    text = CONLLU_OK.replace("1\tOui\toui\tINTJ\t_\t_\t0\troot\t_\t_", bad_line)
    path = _write(tmp_path, "bad.conllu", text)
    with pytest.raises(DataError, match=rf"bad\.conllu:{line_no}: ") as info:
        read_conllu(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    examples, skipped = read_conllu(path, skip_bad_lines=True)
    assert ([e.id for e in examples], skipped) == (["s1"], 1)


def test_conllu_reader_rejects_a_duplicate_sent_id_and_can_skip_it(tmp_path):
    path = _write(tmp_path, "dup.conllu", CONLLU_OK.replace("sent_id = s2", "sent_id = s1"))
    with pytest.raises(DataError, match=r"dup\.conllu:10: duplicate sentence id 's1' \(first at line 1\)"):
        read_conllu(path)
    assert read_conllu(path, skip_bad_lines=True)[1] == 1


def test_conllu_reader_accepts_any_tag_without_a_tag_set(tmp_path):
    path = _write(tmp_path, "x.conllu", CONLLU_OK.replace("\tINTJ\t", "\tINTERJ\t"))
    examples, _ = read_conllu(path, tag_set=None)
    assert examples[1].tags == ("INTERJ",)


def test_conllu_reader_gives_positional_ids_to_sentences_without_sent_id(tmp_path):
    path = _write(tmp_path, "x.conllu", CONLLU_OK.replace("# sent_id = s2\n", ""))
    assert [e.id for e in read_conllu(path, id_prefix="fr-")[0]] == ["s1", "fr-1"]


@pytest.mark.parametrize("reader", [read_conllu, read_tagging_tsv, read_wikiann])
def test_tagging_readers_reject_an_empty_file_and_a_missing_file(tmp_path, reader):
    empty = _write(tmp_path, "empty.txt", "\n\n")
    with pytest.raises(DataError, match=r"empty\.txt:1: expected at least one sentence, found none"):
        reader(empty)
    with pytest.raises(DataError, match=r"missing\.txt: file not found"):
        reader(tmp_path / "missing.txt")


UDPOS_SENTENCES = {
    "train-en": 21253, "dev-en": 3974, "test-en": 5440, "test-fr": 5009, "test-es": 3147, "test-ru": 8976,
    "test-ar": 1680, "test-hi": 2684, "test-tr": 4785, "test-ja": 2372, "test-zh": 3455, "test-fi": 4422,
    "test-vi": 800, "test-ko": 4276, "test-th": 1000, "test-el": 456, "test-bg": 1116, "test-ur": 535,
}  # fmt: skip
PANX_SENTENCES = {
    "ar": 10000, "de": 10000, "en": 10000, "es": 10000, "fr": 10000, "hi": 1000, "ja": 10000, "kk": 1000,
    "ru": 10000, "sw": 1000, "ta": 1000, "te": 1000, "tr": 10000, "ur": 1000, "yo": 100,
}  # fmt: skip
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")


@pytest.mark.parametrize(("stem", "sentences"), sorted(UDPOS_SENTENCES.items()))
def test_tagging_tsv_reader_counts_udpos_sentences_and_tokens(shared_data, stem, sentences):
    path = shared_data / "udpos" / f"{stem}.tsv"
    examples, skipped = read_tagging_tsv(path, tag_set=UPOS_TAGS)
    assert (len(examples), skipped) == (sentences, 0)
    assert (len(examples), sum(len(e.tokens) for e in examples)) == _count_blocks(path)


@pytest.mark.parametrize(("lang", "sentences"), sorted(PANX_SENTENCES.items()))
def test_tagging_tsv_reader_counts_panx_sentences_and_tokens(shared_data, lang, sentences):
    path = shared_data / "panx" / f"dev-{lang}.tsv"
    examples, _ = read_tagging_tsv(path, tag_set=PANX_TAGS, id_prefix=f"{lang}-dev-")
    assert len(examples) == sentences
    assert (len(examples), sum(len(e.tokens) for e in examples)) == _count_blocks(path)
    assert examples[0].id == f"{lang}-dev-0"


def test_tagging_tsv_reader_keeps_the_japanese_space_marker_and_first_german_entity(shared_data):
    ja, _ = read_tagging_tsv(shared_data / "panx" / "dev-ja.tsv")
    assert sum(e.tokens.count("#") for e in ja) == 13213  # MANIFEST.md
    de, _ = read_tagging_tsv(shared_data / "panx" / "dev-de.tsv")
    assert de[0].tokens[:2] == ("Anton", "Wilhelm") and de[0].tags[:2] == ("B-PER", "I-PER")


def test_tagging_tsv_reader_strips_a_language_prefix_present_on_every_token(tmp_path):
    prefixed = _write(tmp_path, "p.tsv", "en:Paris\tB-LOC\nen:is\tO\n\nen:http://x.org\tO\n")
    assert [e.tokens for e in read_tagging_tsv(prefixed)[0]] == [("Paris", "is"), ("http://x.org",)]
    assert read_tagging_tsv(prefixed, lang_prefix=None)[0][0].tokens == ("en:Paris", "en:is")
    mixed = _write(tmp_path, "m.tsv", "en:Paris\tB-LOC\n12:30\tO\n")
    assert read_tagging_tsv(mixed)[0][0].tokens == ("en:Paris", "12:30")


def test_tagging_tsv_reader_requires_an_explicit_prefix_on_every_token(tmp_path):
    path = _write(tmp_path, "p.tsv", "en:Paris\tB-LOC\nis\tO\n")
    with pytest.raises(DataError, match=r"p\.tsv:2: expected a 'lang:token' WikiANN token, found 'is'"):
        read_tagging_tsv(path, lang_prefix="en")


@pytest.mark.parametrize(
    ("text", "line_no", "fragment"),
    [
        ("a\tO\nb\tO\tX\n\nc\tO\n", 2, "expected 2 tab-separated columns (token, tag), found 3"),
        ("a\tO\nb\n\nc\tO\n", 2, "expected 2 tab-separated columns (token, tag), found 1"),
        ("a\tO\nb\t\n\nc\tO\n", 2, "expected a non-empty token and tag"),
        ("a\tO\nb\tB-MISC\n\nc\tO\n", 2, "unknown tag 'B-MISC'"),
    ],
)
def test_tagging_tsv_reader_names_file_and_line_of_a_malformed_line(tmp_path, caplog, text, line_no, fragment):
    path = _write(tmp_path, "bad.tsv", text)
    with pytest.raises(DataError, match=rf"bad\.tsv:{line_no}: ") as info:
        read_tagging_tsv(path, tag_set=PANX_TAGS)
    assert fragment in str(info.value) and "skip_bad_lines" in str(info.value)
    with caplog.at_level(logging.WARNING):
        examples, skipped = read_tagging_tsv(path, tag_set=PANX_TAGS, skip_bad_lines=True)
    assert ([e.tokens for e in examples], skipped) == ([("c",)], 1)
    assert "skipped 1 malformed sentence(s)" in caplog.text


def test_tagging_tsv_reader_treats_crlf_and_repeated_blank_lines_as_plain_breaks(tmp_path):
    path = _write(tmp_path, "crlf.tsv", "a\tO\r\nb\tO\r\n\r\n\r\n\r\nc\tB-PER\r\n")
    examples, _ = read_tagging_tsv(path)
    assert [(e.id, e.tokens, e.tags) for e in examples] == [("0", ("a", "b"), ("O", "O")), ("1", ("c",), ("B-PER",))]


def test_tagging_tsv_reader_fails_when_every_sentence_is_skipped(tmp_path):
    path = _write(tmp_path, "allbad.tsv", "a\n\nb\n")
    with pytest.raises(DataError, match=r"allbad\.tsv:1: expected at least one sentence, found none \(2 malformed"):
        read_tagging_tsv(path, skip_bad_lines=True)


def test_wikiann_reader_strips_the_prefix_up_to_the_first_colon(tmp_path):
    path = _write(tmp_path, "wikiann-en.bio", "en:Paris\tB-LOC\nen:10:30\tO\n\nen:Ann\tB-PER\n")
    examples, skipped = read_wikiann(path, language="en", tag_set=PANX_TAGS)
    assert [e.tokens for e in examples] == [("Paris", "10:30"), ("Ann",)]
    assert skipped == 0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("en:Paris\tB-LOC\nParis\tO\n\nen:x\tO\n", "expected a 'lang:token' WikiANN token, found 'Paris'"),
        ("en:Paris\tB-LOC\nde:Paris\tO\n\nen:x\tO\n", "expected the language prefix 'en:', found 'de:'"),
        ("en:Paris\tB-LOC\nen:\tO\n\nen:x\tO\n", "expected a 'lang:token' WikiANN token, found 'en:'"),
    ],
)
def test_wikiann_reader_names_file_and_line_of_a_bad_prefix(tmp_path, text, fragment):
    path = _write(tmp_path, "wikiann-en.bio", text)
    with pytest.raises(DataError, match=r"wikiann-en\.bio:2: ") as info:
        read_wikiann(path, language="en")
    assert fragment in str(info.value)
    assert read_wikiann(path, language="en", skip_bad_lines=True)[1] == 1
