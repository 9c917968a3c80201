"""Declarations of the XTREME / XTREME-R structured-prediction tasks: UD-POS tagging and PAN-X (WikiANN) NER."""

from __future__ import annotations

from crossling.data.formats.conllu_pos import UPOS_TAGS
from crossling.data.tagging_sources import HubTaggingSource, LocalTaggingSource
from crossling.tasks.registry import TaskKind, TaskSpec, register_task

#: XTREME's 33 UD-POS languages (google-research/xtreme, UD v2.5).
UDPOS_LANGUAGES = (
    "af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
    "ja", "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh",
)  # fmt: skip
#: XTREME-R's 38: XTREME's plus Lithuanian, Polish, Romanian, Ukrainian and Wolof.
UDPOS_XTREME_R_LANGUAGES = UDPOS_LANGUAGES + ("lt", "pl", "ro", "uk", "wo")

#: XTREME's 40 PAN-X languages (WikiANN with the balanced splits of Rahimi et al., 2019).
PANX_LANGUAGES = (
    "af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
    "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr",
    "ur", "vi", "yo", "zh",
)  # fmt: skip
#: XTREME-R's 48: XTREME's plus Azerbaijani, Gujarati, Lithuanian, Punjabi, Polish, Quechua, Romanian, Ukrainian.
PANX_XTREME_R_LANGUAGES = PANX_LANGUAGES + ("az", "gu", "lt", "pa", "pl", "qu", "ro", "uk")

#: PAN-X's IOB2 tags, in the order of google/xtreme's ``ner_tags`` ClassLabel.
PANX_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

#: google/xtreme names its UD-POS configs ``udpos.<English language name>``.
UDPOS_HUB_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}  # fmt: skip

#: UD treebanks as released: ``{data_dir}/{lang}/<treebank>-ud-{split}.conllu``, merged per language.
UD_CONLLU_PATTERN = "{lang}/*-ud-{split}.conllu"
#: Raw WikiANN (Rahimi et al.) files: as XTREME's download script renames them, or one folder per language.
WIKIANN_PATHS = ("{lang}-{split}", "{lang}/{split}")

register_task(
    TaskSpec(
        name="udpos",
        kind=TaskKind.TOKEN_CLASSIFICATION,
        labels=UPOS_TAGS,
        metric="f1",
        languages=UDPOS_LANGUAGES,
        xtreme_r_languages=UDPOS_XTREME_R_LANGUAGES,
        category="structured prediction",
        description="Universal POS tagging (UD English train; XTREME's seqeval F1, plus token accuracy).",
        default_source="local",
        sources={
            "local": lambda options: LocalTaggingSource("udpos", UPOS_TAGS, options, conllu_pattern=UD_CONLLU_PATTERN),
            "hub": lambda options: HubTaggingSource(
                "udpos",
                UPOS_TAGS,
                options,
                dataset="google/xtreme",
                config="udpos.{name}",
                language_names=UDPOS_HUB_NAMES,
                tokens="tokens",
                tags="pos_tags",
            ),
        },
    )
)

register_task(
    TaskSpec(
        name="panx",
        kind=TaskKind.TOKEN_CLASSIFICATION,
        labels=PANX_LABELS,
        metric="f1",
        languages=PANX_LANGUAGES,
        xtreme_r_languages=PANX_XTREME_R_LANGUAGES,
        category="structured prediction",
        description="Named entity recognition on WikiANN (PAN-X): PER/ORG/LOC in IOB2, seqeval entity F1.",
        default_source="local",
        sources={
            "local": lambda options: LocalTaggingSource("panx", PANX_LABELS, options, wikiann_paths=WIKIANN_PATHS),
            "hub": lambda options: HubTaggingSource(
                "panx",
                PANX_LABELS,
                options,
                dataset="google/xtreme",
                config="PAN-X.{lang}",
                tokens="tokens",
                tags="ner_tags",
            ),
        },
    )
)
