"""Declaration of ``image-captions``: image-text alignment on your own captions and images (the RQ3 intermediate task)."""

from __future__ import annotations

from crossling.data.caption_sources import CaptionSource
from crossling.tasks.kinds.image_text import IMAGE_TEXT_ALIGNMENT
from crossling.tasks.registry import register_task
from crossling.taskspec import TaskSpec

#: Crossmodal-3600's 36 languages (Thapliyal et al., 2022); captions in others need task.extra_languages.
XM3600_LANGUAGES = (
    "en", "ar", "bn", "cs", "da", "de", "el", "es", "fa", "fi", "fil", "fr", "he", "hi", "hr", "hu", "id", "it",
    "ja", "ko", "mi", "nl", "no", "pl", "pt", "quz", "ro", "ru", "sv", "sw", "te", "th", "tr", "uk", "vi", "zh",
)  # fmt: skip

register_task(
    TaskSpec(
        name="image-captions",
        kind_plugin=IMAGE_TEXT_ALIGNMENT,
        labels=(),
        metric="accuracy",
        languages=XM3600_LANGUAGES,
        sources={"local": CaptionSource},
        default_source="local",
        category="multimodal",
        max_length=64,
        description="Image-text alignment on captions JSONL with image features (precomputed, or a vision encoder's).",
    )
)
