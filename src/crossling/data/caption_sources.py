"""Image-caption data for image-text alignment: captions JSONL per split, image features precomputed or encoded.

``task.data_dir`` holds ``train.jsonl``, ``dev.jsonl`` and ``test.jsonl`` (any may be absent; a
stage reads only the splits it uses), one caption per line (``crossling.data.formats.captions_jsonl``).
``task.params`` says where the image features come from, exactly one of:

* ``image_features: PATH`` (or a list): precomputed files keyed by image id
  (``crossling.data.image_features``); relative paths are relative to ``task.data_dir``;
* ``vision_encoder: NAME``: a hub id or a local directory (relative: to ``task.data_dir`` if it is
  there) whose model encodes each caption's ``image`` file (``crossling.data.vision``);
  ``vision_batch_size`` (default 32) images per forward pass.

``feature_dim: D`` (optional) states the expected feature length; the data decide it otherwise,
and the alignment head projects onto it.
"""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from crossling.data.formats.captions_jsonl import Caption, read_captions_jsonl
from crossling.data.image_features import ImageFeatures, read_image_features
from crossling.data.records import ImageTextExample
from crossling.data.vision import (
    cached_dim,
    cached_image_features,
    image_cache_key,
    load_vision_encoder,
    vision_identity,
)
from crossling.errors import ConfigError, DataError
from crossling.taskspec import SPLITS, SourceOptions
from crossling.utils.digests import cached_sha256
from crossling.utils.io import sha256_file, sha256_json

#: ``task.params`` keys of the captions source.
PARAMS = ("image_features", "vision_encoder", "vision_batch_size", "feature_dim")


class CaptionSource:
    """Captions of one language and split with their image's feature vector (``ImageTextExample``).

    A caption's record id is its image id, with ``#2``, ``#3``, ... for further captions of that
    image in the same language and split; ``ImageTextExample.image_id`` keeps the image id, so
    scoring counts retrieving any caption row of the right image as correct.
    """

    def __init__(self, options: SourceOptions) -> None:
        if options.data_dir is None:
            raise ConfigError(
                "task.data_dir: image-captions reads {train,dev,test}.jsonl from a directory; none is set"
            )
        params = dict(options.params)
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise ConfigError(f"task.params: unknown key(s) {unknown} for image-captions; known: {', '.join(PARAMS)}")
        if ("image_features" in params) == ("vision_encoder" in params):
            raise ConfigError("task.params: image-captions needs exactly one of image_features and vision_encoder")
        for key in ("vision_batch_size", "feature_dim"):
            value = params.get(key, 1)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"task.params.{key}: expected a positive integer, got {value!r}")
        self.options = options
        self.data_dir = Path(options.data_dir)
        self.params = params
        self._captions = cache(self._read_captions)
        self._split_features = cache(self._encode_split)
        self._precomputed = cache(self._read_precomputed)
        self._encoder = cache(lambda: load_vision_encoder(self.encoder_name))
        self._dim = cache(self._feature_dim)
        self._identity = cache(self._encoder_identity)

    @property
    def encoder_name(self) -> str:
        """The vision encoder's hub id or directory (a relative directory found under ``data_dir``)."""
        name = str(self.params["vision_encoder"])
        local = self.data_dir / Path(name).expanduser()
        return str(local) if local.is_dir() else name

    def feature_files(self) -> tuple[Path, ...]:
        """The precomputed feature files (``task.params.image_features``), relative to ``data_dir``."""
        value = self.params.get("image_features", ())
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list | tuple) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"task.params.image_features: expected a path or a list of paths, got {value!r}")
        return tuple(self.data_dir / Path(name).expanduser() for name in names)

    def feature_dim(self) -> int:
        """The length of every image's feature vector; ``ConfigError`` if ``params.feature_dim`` says otherwise."""
        return self._dim()

    def _feature_dim(self) -> int:
        if "image_features" in self.params:
            dim, origin = self._precomputed().dim, str(self._precomputed().files[0])
        else:
            dim, origin = self._cached_dim() or self._encoder().dim, self.encoder_name
        declared = self.params.get("feature_dim")
        if declared is not None and declared != dim:
            raise ConfigError(f"task.params.feature_dim is {declared}, but {origin} gives {dim}-dim image features")
        return dim

    def _encoder_identity(self) -> str:
        """``vision_identity`` of the encoder; a hub model not on this machine yet is loaded (downloaded) first."""
        identity = vision_identity(self.encoder_name)
        if identity is None:
            self._encoder()
            identity = vision_identity(self.encoder_name) or f"{self.encoder_name}@unresolved"
        return identity

    def _cached_dim(self) -> int | None:
        """The feature length in the image-feature cache of a split already encoded, so the encoder need not load."""
        for split in SPLITS:
            with contextlib.suppress(DataError):
                if self.captions_path(split).is_file() and (
                    dim := cached_dim(self._identity(), list(self._images(split)))
                ):
                    return dim
        return None

    def captions_path(self, split: str) -> Path:
        """``data_dir/{split}.jsonl``; ``DataError`` for an unknown split."""
        if split not in SPLITS:
            raise DataError(f"image-captions has no split {split!r}; supported: {', '.join(SPLITS)}")
        return self.data_dir / f"{split}.jsonl"

    def _read_captions(self, split: str) -> tuple[Caption, ...]:
        path = self.captions_path(split)
        if not path.is_file():
            raise DataError(f"{path}: file not found (the {split} captions of image-captions)")
        return tuple(read_captions_jsonl(path, skip_bad_lines=self.options.skip_bad_lines)[0])

    def _read_precomputed(self) -> ImageFeatures:
        return read_image_features(self.feature_files())

    def _images(self, split: str) -> dict[Path, str]:
        """Each distinct image file of ``split`` with the ``file:line`` of its first caption; ``DataError`` if missing."""
        path, images, owners = self.captions_path(split), {}, {}
        for caption in self._captions(split):
            where = f"{path}:{caption.line}"
            if not caption.image:
                raise DataError(f"{where}: no 'image' (task.params.vision_encoder encodes each caption's image file)")
            image = (self.data_dir / caption.image).resolve()
            if not image.is_file():
                raise DataError(f"{where}: image file not found: {image}")
            if owners.setdefault(caption.image_id, image) != image:
                raise DataError(
                    f"{where}: image id {caption.image_id!r} names {image}, an earlier line {owners[caption.image_id]}"
                )
            images.setdefault(image, where)
        return images

    def _encode_split(self, split: str) -> dict[Path, np.ndarray]:
        images = self._images(split)
        batch = self.params.get("vision_batch_size", 32)
        matrix = cached_image_features(self._identity(), list(images.items()), batch_size=batch, encoder=self._encoder)
        return dict(zip(images, matrix, strict=True))

    def _vector(self, split: str, caption: Caption) -> np.ndarray:
        where = f"{self.captions_path(split)}:{caption.line}"
        if "vision_encoder" in self.params:
            return self._split_features(split)[(self.data_dir / caption.image).resolve()]
        features = self._precomputed()
        vector = features.vector(caption.image_id)
        if vector is None:
            files = ", ".join(str(f) for f in features.files)
            raise DataError(f"{where}: image id {caption.image_id!r} has no features in {files}")
        return vector

    def load(self, language: str, split: str) -> list[ImageTextExample]:
        """The captions of ``language`` in ``split`` with their image's features; ``DataError`` naming file and line."""
        dim = self.feature_dim()
        seen: dict[str, int] = {}
        records = []
        for caption in self._captions(split):
            if caption.language != language:
                continue
            vector = self._vector(split, caption)
            if len(vector) != dim:
                raise DataError(
                    f"{self.captions_path(split)}:{caption.line}: {len(vector)}-dim features, expected {dim}"
                )
            seen[caption.image_id] = seen.get(caption.image_id, 0) + 1
            rid = caption.image_id if seen[caption.image_id] == 1 else f"{caption.image_id}#{seen[caption.image_id]}"
            records.append(ImageTextExample(rid, caption.text, tuple(float(x) for x in vector), caption.image_id))
        if not records:
            raise DataError(f"{self.captions_path(split)}: no captions in language {language!r}")
        return records[: self.options.max_examples] if self.options.max_examples else records

    def fingerprint(self, language: str, split: str) -> str:
        """SHA-256 of the captions file, the feature files' (or encoder's and image files') identity and the options."""
        path = self.captions_path(split)
        if not path.is_file():
            raise DataError(f"{path}: file not found (the {split} captions of image-captions)")
        return sha256_json(
            {
                "format": "captions-1",
                "captions": sha256_file(path),
                "features": self._features_identity(split),
                "params": {k: v for k, v in self.params.items() if k != "vision_batch_size"},
                "max_examples": self.options.max_examples,
                "language": language,
                "split": split,
            }
        )

    def _features_identity(self, split: str) -> Any:
        if "image_features" in self.params:
            return [cached_sha256(f) if f.is_file() else str(f) for f in self.feature_files()]
        return image_cache_key(self._identity(), list(self._images(split)))
