"""Declarations of the XTREME / XTREME-R retrieval tasks evaluated without fine-tuning (Tatoeba, BUCC 2018).

LAReQA and Mewsli-X (XTREME-R, mAP@20) are not declared: their sources and their
question/candidate scoring are not implemented.
"""

from __future__ import annotations

from crossling.data.formats.tatoeba import TATOEBA_CODES
from crossling.data.retrieval_sources import (
    HubTatoebaSource,
    LocalBuccSource,
    LocalTatoebaSource,
)
from crossling.tasks.registry import TaskKind, TaskSpec, register_task

#: The five languages XTREME-R added to XTREME's 36 Tatoeba languages (LASER's aze lit pol ron ukr).
TATOEBA_XTREME_R_ADDITIONS = ("az", "lt", "pl", "ro", "uk")
#: XTREME-R's 41 Tatoeba languages: every language of ``TATOEBA_CODES``.
TATOEBA_XTREME_R_LANGUAGES = tuple(sorted(TATOEBA_CODES.values()))
#: XTREME's 36.
TATOEBA_LANGUAGES = tuple(lang for lang in TATOEBA_XTREME_R_LANGUAGES if lang not in TATOEBA_XTREME_R_ADDITIONS)
BUCC_LANGUAGES = ("de", "fr", "ru", "zh")

register_task(
    TaskSpec(
        name="tatoeba",
        kind=TaskKind.RETRIEVAL,
        labels=(),
        metric="accuracy",
        languages=TATOEBA_LANGUAGES,
        xtreme_r_languages=TATOEBA_XTREME_R_LANGUAGES,
        category="retrieval",
        description="Sentence retrieval against English (LASER's Tatoeba test pairs); accuracy = mean of xx->en and en->xx.",
        default_source="local",
        sources={
            "local": lambda options: LocalTatoebaSource(options),
            "hub": lambda options: HubTatoebaSource(options),
        },
    )
)

register_task(
    TaskSpec(
        name="bucc2018",
        kind=TaskKind.RETRIEVAL,
        labels=(),
        metric="f1",
        languages=BUCC_LANGUAGES,
        category="retrieval",
        description="Bitext mining (BUCC 2018 shared task); F1 with the score threshold chosen on the dev (sample) split.",
        default_source="local",
        sources={"local": lambda options: LocalBuccSource(options)},
    )
)
