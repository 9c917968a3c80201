"""Reader for image-caption JSON Lines: one ``{"id", "caption", "language", "image"?}`` object per line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossling.data.formats.common import BadExample, SkipPolicy, json_object, open_text, split_lines

#: Keys that may carry a caption's image id, in the order they are looked up.
ID_KEYS = ("id", "image_id")


@dataclass(frozen=True)
class Caption:
    """One caption of an image, as read from its line.

    Args:
        line: 1-based line number in the JSONL file (named in errors).
        image_id: The image's id (``id`` or ``image_id``): the key of its precomputed features.
        text: The caption.
        language: Its language code.
        image: Path of the image file relative to the JSONL's directory, or ``""`` when not given.
    """

    line: int
    image_id: str
    text: str
    language: str
    image: str = ""


def read_captions_jsonl(path: str | Path, *, skip_bad_lines: bool = False) -> tuple[list[Caption], int]:
    """Read captions JSON Lines: ``{"id" | "image_id", "caption", "language", "image"?}`` per line.

    Several captions may share an image id (other languages, other captions of one image);
    ``image`` is the image file relative to the file's directory (needed only when a vision
    encoder computes the features). Blank lines and extra keys are ignored.

    Returns:
        ``(captions, skipped)``: the captions, and how many malformed lines were skipped (0
        unless ``skip_bad_lines``).

    Raises:
        DataError: naming ``path:line`` for invalid JSON, a line without id, caption or language,
            a missing file, or a file without captions.
    """
    path = Path(path)
    policy = SkipPolicy(path, skip_bad_lines, "caption")
    captions: list[Caption] = []
    for number, line in enumerate(split_lines(open_text(path)), start=1):
        if not line.strip():
            continue
        with policy.example():
            captions.append(_caption(json_object(line, number), number))
    return policy.finish(captions)


def _caption(item: dict[str, Any], number: int) -> Caption:
    image_id = next((item[key] for key in ID_KEYS if item.get(key) not in (None, "")), None)
    if isinstance(image_id, int) and not isinstance(image_id, bool):
        image_id = str(image_id)
    if not isinstance(image_id, str):
        raise BadExample(number, f"expected an image id ('id' or 'image_id', a string or integer), found {image_id!r}")
    for key in ("caption", "language"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise BadExample(number, f"expected a non-empty string {key!r}, found {item.get(key)!r}")
    image = item.get("image", "")
    if not isinstance(image, str):
        raise BadExample(number, f"expected 'image' to be a path relative to the file, found {image!r}")
    return Caption(number, image_id, item["caption"], item["language"], image)
