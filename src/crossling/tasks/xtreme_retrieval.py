"""Declarations of the XTREME / XTREME-R retrieval tasks, which fine-tune nothing themselves.

Tatoeba and BUCC 2018 (XTREME), LAReQA and Mewsli-X (XTREME-R, mAP@20). XTREME-R's own
LAReQA and Mewsli-X baselines fine-tune a dual encoder on English data (SQuAD-R, Wikipedia
mention-entity pairs); crossling scores the configured encoder layer as the intermediate
stages left it (or as pretrained), like Tatoeba, so without intermediate stages its figures
are those of the zero-shot, not fine-tuned, setting.
"""

from __future__ import annotations

from crossling.data.formats.tatoeba import TATOEBA_CODES
from crossling.data.retrieval_sources import (
    LAREQA_LANGUAGES,
    MEWSLIX_LANGUAGES,
    HubTatoebaSource,
    LocalBuccSource,
    LocalLareqaSource,
    LocalMewslixSource,
    LocalTatoebaSource,
)
from crossling.tasks.kinds.retrieval import BITEXT_MINING, RANKING, TRANSLATION_RETRIEVAL
from crossling.tasks.registry import register_task
from crossling.taskspec import TaskSpec

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
        kind_plugin=TRANSLATION_RETRIEVAL,
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
        kind_plugin=BITEXT_MINING,
        labels=(),
        metric="f1",
        languages=BUCC_LANGUAGES,
        category="retrieval",
        description="Bitext mining (BUCC 2018 shared task); F1 with the score threshold chosen on the dev (sample) split.",
        default_source="local",
        sources={"local": lambda options: LocalBuccSource(options)},
    )
)

register_task(
    TaskSpec(
        name="lareqa",
        kind_plugin=RANKING,
        labels=(),
        metric="map@20",
        languages=LAREQA_LANGUAGES,
        category="retrieval",
        description="XTREME-R LAReQA (XQuAD-R): questions rank answer sentences of an 11-language pool; mAP@20.",
        default_source="local",
        sources={"local": lambda options: LocalLareqaSource(options)},
    )
)

register_task(
    TaskSpec(
        name="mewslix",
        kind_plugin=RANKING,
        labels=(),
        metric="map@20",
        languages=MEWSLIX_LANGUAGES,
        category="retrieval",
        description="XTREME-R Mewsli-X: WikiNews entity mentions rank ~1M multilingual entity descriptions; mAP@20.",
        default_source="local",
        sources={"local": lambda options: LocalMewslixSource(options)},
    )
)
