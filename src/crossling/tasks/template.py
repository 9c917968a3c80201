"""Declarations of the built-in template benchmark tasks (``tmpl-*``): generated offline in 12 languages."""

from __future__ import annotations

from crossling.data.sources import SourceOptions
from crossling.data.template.logic import NLI_LABELS
from crossling.data.template.realize import LANGUAGES
from crossling.data.template.source import TemplateSource
from crossling.data.template.surface import NER_TAGS, UPOS
from crossling.data.template.tasks import DEFAULT_FEATURE_DIM
from crossling.tasks.registry import TaskKind, TaskSpec, register_task

#: One row per task: (name, generator task, kind, labels, metric, category, description).
#: ``tmpl-image`` is sentence <-> scene-vector alignment (the multimodal intermediate task).
TEMPLATE_TASKS = (
    (
        "tmpl-nli",
        "nli",
        TaskKind.PAIR_CLASSIFICATION,
        NLI_LABELS,
        "accuracy",
        "classification",
        "Template NLI: contradictions by role swap, changed attribute or negation; entailment by dropping modifiers.",
    ),
    (
        "tmpl-paws",
        "paws",
        TaskKind.PAIR_CLASSIFICATION,
        ("0", "1"),
        "accuracy",
        "classification",
        "Template paraphrase identification: reordered paraphrases vs. same-word role swaps (PAWS-style).",
    ),
    (
        "tmpl-ner",
        "ner",
        TaskKind.TOKEN_CLASSIFICATION,
        NER_TAGS,
        "f1",
        "structured prediction",
        "Template NER: persons, cities and organisations with BIO tags (seqeval F1).",
    ),
    (
        "tmpl-pos",
        "pos",
        TaskKind.TOKEN_CLASSIFICATION,
        UPOS,
        "pos_accuracy",
        "structured prediction",
        "Template POS tagging: the 17 UPOS tags, word tokens (ja/zh segmented).",
    ),
    (
        "tmpl-qa",
        "qa",
        TaskKind.EXTRACTIVE_QA,
        (),
        "squad",
        "qa",
        "Template extractive QA: who/where/what questions over contexts of 3-6 facts (SQuAD form).",
    ),
    (
        "tmpl-retrieval",
        "retrieval",
        TaskKind.RETRIEVAL,
        (),
        "accuracy",
        "retrieval",
        "Template sentence retrieval: each sentence's English translation among all English targets.",
    ),
    (
        "tmpl-image",
        "image",
        TaskKind.IMAGE_TEXT_ALIGNMENT,
        (),
        "accuracy",
        "multimodal",
        "Template image-text alignment: match each sentence to the scene vector of its meaning.",
    ),
)


def _factory(generator_task: str):
    def build(options: SourceOptions) -> TemplateSource:
        """The generated source of ``generator_task`` with ``options``."""
        return TemplateSource(generator_task, options)

    return build


for _name, _task, _kind, _labels, _metric, _category, _description in TEMPLATE_TASKS:
    register_task(
        TaskSpec(
            name=_name,
            kind=_kind,
            labels=_labels,
            metric=_metric,
            languages=LANGUAGES,
            sources={"generated": _factory(_task)},
            default_source="generated",
            category=_category,
            description=_description,
            output_dim=DEFAULT_FEATURE_DIM if _kind is TaskKind.IMAGE_TEXT_ALIGNMENT else 0,
        )
    )
