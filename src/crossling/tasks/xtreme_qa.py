"""Declarations of the XTREME / XTREME-R extractive QA tasks (SQuAD, XQuAD, MLQA, TyDiQA-GoldP).

Training data, as in XTREME (``scripts/train_qa.sh``): XQuAD and MLQA are evaluated after
training on SQuAD v1.1, so their ``train`` split *is* SQuAD's English train file
(``train-v1.1.json``, looked up in ``task.data_dir`` and then in ``task.params.squad_dir``, or
the file ``task.params.squad_train_file`` names, relative to ``data_dir``; on the hub
``rajpurkar/squad``); TyDiQA-GoldP trains on its own English GoldP train file.
The pipeline therefore runs unchanged: ``crossling run`` with ``task.name: xquad`` trains on
English SQuAD and evaluates every XQuAD language.

Splits per task (local files; the hub source mirrors them):

- ``squad``: train ``train-v1.1.json``; dev and test ``dev-v1.1.json`` (SQuAD's test is hidden).
- ``xquad``: train/dev SQuAD v1.1 (English only); test ``xquad.{lang}.json``.
- ``mlqa``: train SQuAD v1.1 (English only); dev/test ``{split}-context-{c}-question-{q}.json``,
  also under ``{split}/`` or ``MLQA_V1/{split}/``. A language code ``xx`` is the same-language
  pair; ``de-en`` is the cross-language pair with a German context and an English question.
- ``tydiqa``: train ``tydiqa-goldp-v1.1-train/tydiqa.{lang}.train.json`` (XTREME's split of the
  GoldP train file); dev and test ``tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json`` (GoldP's
  dev set is XTREME's test set).

Languages: XQuAD's 11 XTREME languages under both benchmarks (XTREME-R keeps them; XQuAD's
later Romanian file, ``ro``, is read when named in ``task.eval_languages``), MLQA's 7, TyDiQA's 9.
"""

from __future__ import annotations

from crossling.data.qa_sources import SQUAD_TRAIN_FILE_PARAM, HubQASource, HubQASplit, LocalQASource, QAFiles
from crossling.tasks.kinds.qa import EXTRACTIVE_QA
from crossling.tasks.registry import register_task
from crossling.taskspec import TaskSpec

XQUAD_LANGUAGES = ("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi")
MLQA_LANGUAGES = ("en", "es", "de", "ar", "hi", "vi", "zh")
TYDIQA_LANGUAGES = ("en", "ar", "bn", "fi", "id", "ko", "ru", "sw", "te")

#: TyDiQA's language names, the prefix of its question ids (``arabic-2387...-1``).
TYDIQA_NAMES = {
    "en": "english",
    "ar": "arabic",
    "bn": "bengali",
    "fi": "finnish",
    "id": "indonesian",
    "ko": "korean",
    "ru": "russian",
    "sw": "swahili",
    "te": "telugu",
}

#: Maximum sequence length of the QA tasks (XTREME's ``MAXL=384``; doc stride 128, see the featurizer).
QA_MAX_LENGTH = 384

_SQUAD_TRAIN = QAFiles(
    ("train-v1.1.json", "squad/train-v1.1.json"),
    languages=("en",),
    what="SQuAD v1.1 train",
    param=SQUAD_TRAIN_FILE_PARAM,
)
_SQUAD_DEV = QAFiles(("dev-v1.1.json", "squad/dev-v1.1.json"), languages=("en",), what="SQuAD v1.1 dev")
_SQUAD_HUB_TRAIN = HubQASplit("rajpurkar/squad", "train", languages=("en",))
_SQUAD_HUB_DEV = HubQASplit("rajpurkar/squad", "validation", languages=("en",))


def _mlqa_files(split: str) -> QAFiles:
    name = f"{split}-context-{{context}}-question-{{question}}.json"
    return QAFiles((name, f"{split}/{name}", f"MLQA_V1/{split}/{name}"), what=f"MLQA {split}")


_TYDIQA_DEV = QAFiles(
    ("tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json", "tydiqa.goldp.{lang}.dev.json", "tydiqa.{lang}.dev.json"),
    what="TyDiQA-GoldP dev",
)
_TYDIQA_HUB = "google-research-datasets/tydiqa"

#: One row per task: name, metric, languages, description, local files per split, hub splits.
QA_TASKS = (
    (
        "squad",
        "squad",
        ("en",),
        "SQuAD v1.1 (English extractive QA; the training set of XQuAD and MLQA).",
        {"train": _SQUAD_TRAIN, "dev": _SQUAD_DEV, "test": _SQUAD_DEV},
        {"train": _SQUAD_HUB_TRAIN, "dev": _SQUAD_HUB_DEV, "test": _SQUAD_HUB_DEV},
    ),
    (
        "xquad",
        "squad",
        XQUAD_LANGUAGES,
        "XQuAD: SQuAD v1.1 train in English, 1190 translated questions per language.",
        {"train": _SQUAD_TRAIN, "dev": _SQUAD_DEV, "test": QAFiles(("xquad.{lang}.json",), what="XQuAD")},
        {
            "train": _SQUAD_HUB_TRAIN,
            "dev": _SQUAD_HUB_DEV,
            "test": HubQASplit("google/xquad", "validation", config="xquad.{lang}"),
        },
    ),
    (
        "mlqa",
        "mlqa",
        MLQA_LANGUAGES,
        "MLQA: SQuAD v1.1 train in English, MLQA dev/test (context-question pairs).",
        {"train": _SQUAD_TRAIN, "dev": _mlqa_files("dev"), "test": _mlqa_files("test")},
        {
            "train": _SQUAD_HUB_TRAIN,
            "dev": HubQASplit("facebook/mlqa", "validation", config="mlqa.{context}.{question}"),
            "test": HubQASplit("facebook/mlqa", "test", config="mlqa.{context}.{question}"),
        },
    ),
    (
        "tydiqa",
        "squad",
        TYDIQA_LANGUAGES,
        "TyDiQA-GoldP: English GoldP train, GoldP dev (XTREME's test) in 9 languages.",
        {
            "train": QAFiles(
                (
                    "tydiqa-goldp-v1.1-train/tydiqa.{lang}.train.json",
                    "tydiqa-goldp-v1.1-train/tydiqa.goldp.{lang}.train.json",
                    "tydiqa.goldp.{lang}.train.json",
                    "tydiqa.{lang}.train.json",
                ),
                what="TyDiQA-GoldP train",
            ),
            "dev": _TYDIQA_DEV,
            "test": _TYDIQA_DEV,
        },
        {
            "train": HubQASplit(_TYDIQA_HUB, "train", config="secondary_task", id_prefix="{name}-"),
            "dev": HubQASplit(_TYDIQA_HUB, "validation", config="secondary_task", id_prefix="{name}-"),
            "test": HubQASplit(_TYDIQA_HUB, "validation", config="secondary_task", id_prefix="{name}-"),
        },
    ),
)


def _local(name: str, files: dict[str, QAFiles]):
    return lambda options: LocalQASource(name, options, files)


def _hub(name: str, splits: dict[str, HubQASplit]):
    return lambda options: HubQASource(name, options, splits, language_names=TYDIQA_NAMES)


for _name, _metric, _languages, _description, _files, _hub_splits in QA_TASKS:
    register_task(
        TaskSpec(
            name=_name,
            kind_plugin=EXTRACTIVE_QA,
            labels=(),
            metric=_metric,
            languages=_languages,
            xtreme_r_languages=_languages,
            max_length=QA_MAX_LENGTH,
            category="qa",
            description=_description,
            default_source="local",
            sources={"local": _local(_name, _files), "hub": _hub(_name, _hub_splits)},
        )
    )
