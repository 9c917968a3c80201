"""File-format readers: each turns one file into typed records and returns ``(records, skipped)``.

Every reader raises ``DataError`` with a one-line ``path:line: what was found, what was
expected`` message, and takes ``skip_bad_lines``: when true, a malformed example (sentence,
question, pair, line) is dropped instead, the count of dropped examples is returned as the
second element and logged as one warning. A file left without examples is always an error.
"""

from crossling.data.formats.conllu_pos import UPOS_TAGS, read_conllu
from crossling.data.formats.copa_jsonl import COPA_QUESTIONS, read_copa_jsonl
from crossling.data.formats.squad_json import mlqa_file_name, parse_mlqa_file_name, read_squad_json
from crossling.data.formats.tagging_tsv import read_tagging_tsv, read_wikiann
from crossling.data.formats.tatoeba import TATOEBA_CODES, TATOEBA_FILE_CODES, read_tatoeba, tatoeba_paths

__all__ = [
    "COPA_QUESTIONS",
    "TATOEBA_CODES",
    "TATOEBA_FILE_CODES",
    "UPOS_TAGS",
    "mlqa_file_name",
    "parse_mlqa_file_name",
    "read_conllu",
    "read_copa_jsonl",
    "read_squad_json",
    "read_tagging_tsv",
    "read_tatoeba",
    "read_wikiann",
    "tatoeba_paths",
]
