"""Declarations of the XTREME-R multiple-choice tasks: XCOPA (trained on English COPA) and SIQA.

Training data, as in XTREME-R (``scripts/train_xcopa.sh``): XCOPA is evaluated after training
on English COPA, so the ``en`` train and dev splits of ``xcopa`` *are* COPA's train and val
files (in the XCOPA folder: ``en/train-en.jsonl``, ``en/val-en.jsonl``, or XTREME's flat
``train.en.jsonl``). XTREME-R first trains on SIQA; here that is an intermediate stage
(``intermediate: [{task: {name: siqa}}]``), whose encoder the XCOPA stage continues from.

Local layout of ``xcopa`` (``task.data_dir``): the XCOPA repository's ``{lang}/{val,test}.{lang}.jsonl``
or XTREME's flat ``{val,test}.{lang}.jsonl``; dev = ``val``, test = ``test``. There is no
labelled English test (SuperGLUE hides COPA's test labels), so English is a training language only.
SIQA is declared with its hub source only (``allenai/social_i_qa``, English).
"""

from __future__ import annotations

from crossling.data.choice_sources import (
    HubChoiceSource,
    HubChoiceSplit,
    LocalCopaSource,
)
from crossling.tasks.registry import TaskKind, TaskSpec, register_task

XCOPA_LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")

#: Maximum sequence length of the choice tasks (XTREME-R's ``MAXL=128``).
CHOICE_MAX_LENGTH = 128

_XCOPA_FILES = {
    "train": ("{lang}/train-{lang}.jsonl", "train.{lang}.jsonl", "{lang}/train.{lang}.jsonl", "train-{lang}.jsonl"),
    "dev": ("{lang}/val.{lang}.jsonl", "val.{lang}.jsonl", "{lang}/val-{lang}.jsonl", "val-{lang}.jsonl"),
    "test": ("{lang}/test.{lang}.jsonl", "test.{lang}.jsonl", "{lang}/test-{lang}.jsonl", "test-{lang}.jsonl"),
}
_COPA = "aps/super_glue"
_XCOPA_HUB = {
    "train": (HubChoiceSplit(_COPA, "train", config="copa", languages=("en",)),),
    "dev": (
        HubChoiceSplit(_COPA, "validation", config="copa", languages=("en",)),
        HubChoiceSplit("cambridgeltl/xcopa", "validation", config="{lang}"),
    ),
    "test": (HubChoiceSplit("cambridgeltl/xcopa", "test", config="{lang}"),),
}
_SIQA = {
    "premise": "context",
    "question": "question",
    "choices": ("answerA", "answerB", "answerC"),
    "label": "label",
    "label_base": 1,
    "languages": ("en",),
}
_SIQA_HUB = {
    "train": (HubChoiceSplit("allenai/social_i_qa", "train", **_SIQA),),
    "dev": (HubChoiceSplit("allenai/social_i_qa", "validation", **_SIQA),),
    "test": (HubChoiceSplit("allenai/social_i_qa", "validation", **_SIQA),),
}


register_task(
    TaskSpec(
        name="xcopa",
        kind=TaskKind.MULTIPLE_CHOICE,
        labels=(),
        metric="accuracy",
        languages=XCOPA_LANGUAGES,
        xtreme_r_languages=XCOPA_LANGUAGES,
        max_length=CHOICE_MAX_LENGTH,
        category="classification",
        description="XCOPA causal commonsense reasoning: English COPA train, 2-choice test in 11 languages.",
        default_source="local",
        sources={
            "local": lambda options: LocalCopaSource("xcopa", options, _XCOPA_FILES),
            "hub": lambda options: HubChoiceSource("xcopa", options, _XCOPA_HUB),
        },
    )
)

register_task(
    TaskSpec(
        name="siqa",
        kind=TaskKind.MULTIPLE_CHOICE,
        labels=(),
        metric="accuracy",
        languages=("en",),
        max_length=CHOICE_MAX_LENGTH,
        category="classification",
        description="Social IQa (English, 3 choices): XTREME-R's intermediate task before XCOPA.",
        default_source="hub",
        sources={
            "hub": lambda options: HubChoiceSource("siqa", options, _SIQA_HUB),
        },
    )
)
