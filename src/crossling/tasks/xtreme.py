"""Declarations of the XTREME / XTREME-R sentence-pair classification tasks (XNLI, PAWS-X)."""

from __future__ import annotations

from crossling.data.pair_sources import HubPairSource, LocalPairSource, RawPairLayout
from crossling.tasks.registry import TaskKind, TaskSpec, register_task

XNLI_LANGUAGES = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX_LANGUAGES = ("en", "de", "es", "fr", "ja", "ko", "zh")

#: Labels in the order of facebook/xnli's ClassLabel; XTREME's MNLI train file says "contradictory".
XNLI_LABELS = ("entailment", "neutral", "contradiction")
XNLI_ALIASES = {"contradictory": "contradiction"}

_XNLI_RAW = {
    "train": (RawPairLayout("multinli.train.{lang}.tsv", "premise", "hypo", "label"),),
    "dev": (RawPairLayout("xnli.dev.tsv", "sentence1", "sentence2", "gold_label", language_column="language"),),
    "test": (RawPairLayout("xnli.test.tsv", "sentence1", "sentence2", "gold_label", language_column="language"),),
}
_PAWSX_RAW = {
    "train": (
        RawPairLayout("{lang}/train.tsv", "sentence1", "sentence2", "label"),
        RawPairLayout("{lang}/translated_train.tsv", "sentence1", "sentence2", "label"),
    ),
    "dev": (RawPairLayout("{lang}/dev_2k.tsv", "sentence1", "sentence2", "label"),),
    "test": (RawPairLayout("{lang}/test_2k.tsv", "sentence1", "sentence2", "label"),),
}

register_task(
    TaskSpec(
        name="xnli",
        kind=TaskKind.PAIR_CLASSIFICATION,
        labels=XNLI_LABELS,
        metric="accuracy",
        languages=XNLI_LANGUAGES,
        xtreme_r_languages=XNLI_LANGUAGES,
        category="classification",
        description="Natural language inference (MNLI train in English, XNLI dev/test in 15 languages).",
        default_source="local",
        sources={
            "local": lambda options: LocalPairSource("xnli", XNLI_LABELS, options, _XNLI_RAW, XNLI_ALIASES),
            "hub": lambda options: HubPairSource(
                "xnli",
                XNLI_LABELS,
                options,
                dataset="facebook/xnli",
                config="{lang}",
                splits={"train": "train", "dev": "validation", "test": "test"},
                text_a="premise",
                text_b="hypothesis",
                label="label",
            ),
            "hub-xtreme": lambda options: HubPairSource(
                "xnli",
                XNLI_LABELS,
                options,
                dataset="google/xtreme",
                config="XNLI",
                splits={"dev": "validation", "test": "test"},
                text_a="sentence1",
                text_b="sentence2",
                label="gold_label",
                language_column="language",
            ),
        },
    )
)

register_task(
    TaskSpec(
        name="pawsx",
        kind=TaskKind.PAIR_CLASSIFICATION,
        labels=("0", "1"),
        metric="accuracy",
        languages=PAWSX_LANGUAGES,
        xtreme_r_languages=PAWSX_LANGUAGES,
        category="classification",
        description="Adversarial paraphrase identification (PAWS English train, PAWS-X dev/test in 7 languages).",
        default_source="local",
        sources={
            "local": lambda options: LocalPairSource("pawsx", ("0", "1"), options, _PAWSX_RAW),
            "hub": lambda options: HubPairSource(
                "pawsx",
                ("0", "1"),
                options,
                dataset="google-research-datasets/paws-x",
                config="{lang}",
                splits={"train": "train", "dev": "validation", "test": "test"},
                text_a="sentence1",
                text_b="sentence2",
                label="label",
            ),
            "hub-xtreme": lambda options: HubPairSource(
                "pawsx",
                ("0", "1"),
                options,
                dataset="google/xtreme",
                config="PAWS-X.{lang}",
                splits={"train": "train", "dev": "validation", "test": "test"},
                text_a="sentence1",
                text_b="sentence2",
                label="label",
            ),
        },
    )
)
