"""Extractive-QA answer scoring: the official SQuAD v1.1 and MLQA normalizations, exact match and token F1.

``normalize_squad`` is SQuAD v1.1's ``normalize_answer`` (used by XTREME for XQuAD and
TyDiQA-GoldP); ``normalize_mlqa`` is MLQA's ``mlqa_evaluation_v1.py`` (used by XTREME for
MLQA), including its quirks, so that scores equal the published ones.
"""

from __future__ import annotations

import functools
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable

_SQUAD_PUNCT = frozenset(string.punctuation)
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")


@functools.cache
def mlqa_punctuation() -> frozenset[str]:
    """MLQA's punctuation: every code point whose Unicode category starts with "P", plus ASCII punctuation."""
    unicode_punct = (chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P"))
    return frozenset(unicode_punct) | _SQUAD_PUNCT


#: MLQA's article patterns per answer language (replaced by a space). ``hi`` and ``zh`` have none.
#: The Arabic pattern is MLQA's verbatim: its first alternative never matches, so every
#: occurrence of "ال" is removed, also inside words.
MLQA_ARTICLES: dict[str, re.Pattern[str] | None] = {
    "en": re.compile(r"\b(a|an|the)\b"),
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "hi": None,
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "ar": re.compile(r"\sال^|ال"),
    "zh": None,
}

#: Languages MLQA tokenizes on whitespace; the others (``zh``) use mixed segmentation.
MLQA_WHITESPACE_LANGUAGES = frozenset({"en", "es", "hi", "vi", "de", "ar"})
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def normalize_squad(text: str) -> str:
    """SQuAD v1.1 normalization: lowercase, drop ASCII punctuation, drop a/an/the, collapse whitespace."""
    text = "".join(char for char in text.lower() if char not in _SQUAD_PUNCT)
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def mixed_segmentation(text: str) -> list[str]:
    """MLQA's segmentation for Chinese: each CJK character (U+4E00-U+9FA5) and punctuation mark is a token,
    other runs are split on whitespace."""
    punct = mlqa_punctuation()
    tokens: list[str] = []
    run = ""
    for char in text:
        if _CJK.match(char) or char in punct:
            tokens.extend(run.split())
            run = ""
            tokens.append(char)
        else:
            run += char
    tokens.extend(run.split())
    return tokens


def normalize_mlqa(text: str, language: str) -> str:
    """MLQA normalization for an answer in ``language`` (en es hi vi de ar zh).

    Steps, in MLQA's order: lowercase; drop every Unicode punctuation character
    (``mlqa_punctuation()``); replace the language's articles (``MLQA_ARTICLES``) by a space;
    tokenize (whitespace, or ``mixed_segmentation`` for ``zh``) and join with single spaces.

    Raises:
        ValueError: for a language MLQA does not define.
    """
    if language not in MLQA_ARTICLES:
        raise ValueError(f"MLQA defines no normalization for language {language!r}; known: {sorted(MLQA_ARTICLES)}")
    punct = mlqa_punctuation()
    text = "".join(char for char in text.lower() if char not in punct)
    articles = MLQA_ARTICLES[language]
    if articles is not None:
        text = articles.sub(" ", text)
    tokens = text.split() if language in MLQA_WHITESPACE_LANGUAGES else mixed_segmentation(text)
    return " ".join(token for token in tokens if token.strip())


def exact_match(prediction: str, gold: str, normalize: Callable[[str], str]) -> float:
    """1.0 if the normalized strings are equal, else 0.0."""
    return float(normalize(prediction) == normalize(gold))


def token_f1(prediction: str, gold: str, normalize: Callable[[str], str]) -> float:
    """Bag-of-tokens F1 of the normalized strings: ``2PR / (P + R)``, 0.0 when no token is shared.

    ``P = |pred ∩ gold| / |pred|`` and ``R = |pred ∩ gold| / |gold|``, with multiset
    intersection over whitespace tokens; an empty prediction or gold scores 0.0.
    """
    pred_tokens = normalize(prediction).split()
    gold_tokens = normalize(gold).split()
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(
    score: Callable[[str, str, Callable[[str], str]], float],
    prediction: str,
    golds: Iterable[str],
    normalize: Callable[[str], str],
) -> float:
    """``max`` of ``score(prediction, gold)`` over the gold answers (0.0 when there is none)."""
    return max((score(prediction, gold, normalize) for gold in golds), default=0.0)
