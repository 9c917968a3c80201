"""Word-overlap check: a bag-of-words logistic regression on the English pair tasks (should stay far below 80%)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from crossling.data.records import PairExample
from crossling.data.template.source import TemplateSource
from crossling.taskspec import SourceOptions

#: Registry task name -> template task of the pair tasks this baseline applies to.
PAIR_TASKS = {"tmpl-nli": "nli", "tmpl-paws": "paws", "nli": "nli", "paws": "paws"}


def pair_features(vectorizer: CountVectorizer, examples: list[PairExample]):
    """``[A, B, A*B, |A-B|]`` for binary bag-of-words rows ``A`` of text_a and ``B`` of text_b.

    ``A*B`` marks the words the two sentences share, ``|A-B|`` the words only one has.
    """
    a = vectorizer.transform([e.text_a for e in examples])
    b = vectorizer.transform([e.text_b for e in examples])
    return hstack([a, b, a.multiply(b), abs(a - b)]).tocsr()


def bag_of_words_baseline(task: str = "tmpl-nli", language: str = "en", *, params: dict | None = None) -> float:
    """Test accuracy in percent of a bag-of-words logistic regression trained on English train.

    The model sees ``pair_features`` (binary ``CountVectorizer`` over both texts, their
    overlap and difference). It is scored on ``language``'s test split, so with the default
    ``language="en"`` it measures how far word overlap alone solves the task.

    Args:
        task: ``tmpl-nli`` or ``tmpl-paws``.
        language: Test language.
        params: Template-source params (``train_size``, ``test_size``, ``seed``, ...).
    """
    if task not in PAIR_TASKS:
        raise ValueError(f"the bag-of-words baseline needs a pair task, one of tmpl-nli, tmpl-paws; got {task!r}")
    source = TemplateSource(PAIR_TASKS[task], SourceOptions(params=dict(params or {})))
    train = source.load("en", "train")
    test = source.load(language, "test")
    vectorizer = CountVectorizer(binary=True, token_pattern=r"(?u)\b\w+\b", lowercase=True)
    vectorizer.fit([e.text_a for e in train] + [e.text_b for e in train])
    model = LogisticRegression(max_iter=2000, C=1.0)
    model.fit(pair_features(vectorizer, train), [e.label for e in train])
    predictions = model.predict(pair_features(vectorizer, test))
    return 100.0 * float(np.mean(predictions == np.array([e.label for e in test])))
