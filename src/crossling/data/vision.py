"""Image features from a transformers vision encoder (CLIP by default), cached on disk per encoder and image files.

Which vector an image gets:

* a CLIP checkpoint (``clip`` or ``clip_vision_model``, e.g. ``openai/clip-vit-base-patch32``) is
  loaded as ``CLIPVisionModelWithProjection``: ``image_embeds``, the projected embedding CLIP
  aligns with text, when the checkpoint has the projection (``visual_projection``), else
  ``pooler_output`` (the layer-normed CLS state of the vision tower);
* any other vision model (ViT, DINOv2, a SigLIP vision tower, ...) is loaded with ``AutoModel``:
  ``pooler_output``.

A checkpoint missing any other weight is refused (they would be random), and so is a composite
non-CLIP model (name its vision tower). Remote code is never run (``trust_remote_code=False``).
Features are cached as safetensors in ``$CROSSLING_HOME/image-features``, keyed by the SHA-256 of
the encoder's config, image-processor and weight files (``vision_identity``) and the image files'
paths, sizes and modification times, so a second run reads them instead of encoding again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossling.errors import DataError, ModelError
from crossling.utils.digests import cached_sha256
from crossling.utils.io import atomic_path, sha256_json
from crossling.utils.paths import image_features_dir

logger = logging.getLogger(__name__)

#: Bumped whenever what an image's vector is changes, so old caches are never reused.
CACHE_VERSION = "image-features-1"

#: Model types loaded as ``CLIPVisionModelWithProjection``.
CLIP_TYPES = ("clip", "clip_vision_model")

#: The config key named in errors about the encoder.
KEY = "task.params.vision_encoder"


@dataclass
class VisionEncoder:
    """A loaded vision encoder and its image processor.

    Args:
        name: Hub id or local directory it was loaded from.
        model: The ``torch.nn.Module``.
        processor: Its ``AutoImageProcessor``.
        output: The output field used as an image's vector (``image_embeds`` or ``pooler_output``).
    """

    name: str
    model: Any
    processor: Any
    output: str

    def encode(self, images: Sequence[Any]) -> np.ndarray:
        """N x D float32 vectors of PIL ``images`` (no gradients; on the GPU when there is one)."""
        import torch

        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(device).eval()
        pixels = self.processor(images=list(images), return_tensors="pt")["pixel_values"].to(device)
        with torch.no_grad():
            vectors = getattr(self.model(pixel_values=pixels), self.output, None)
        if vectors is None:
            raise ModelError(f"{KEY}: {self.name} ({type(self.model).__name__}) gives no {self.output}")
        return vectors.float().cpu().numpy()

    @property
    def dim(self) -> int:
        """D, measured on one blank image."""
        from PIL import Image

        return int(self.encode([Image.new("RGB", (64, 64))]).shape[1])


#: The files that decide an encoder's image vectors: config, image processor, weights.
IDENTITY_PATTERNS = ("config.json", "preprocessor_config.json", "*.safetensors", "*.safetensors.index.json", "*.bin")


def vision_identity(name: str) -> str | None:
    """SHA-256 of the encoder's config, processor and weight files (local or hub-cached directory).

    ``None`` when they are not on this machine (a hub model never downloaded).
    """
    path = Path(name).expanduser()
    if not path.is_dir():
        with contextlib.suppress(Exception):  # not in the local hub cache: no identity yet
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(name, local_files_only=True))
    files = sorted({p for pattern in IDENTITY_PATTERNS for p in path.glob(pattern) if p.is_file()})
    if not path.is_dir() or not files:
        return None
    return sha256_json([(p.name, cached_sha256(p)) for p in files])


def load_vision_encoder(name: str) -> VisionEncoder:
    """The encoder ``name`` (hub id or local directory) with its image processor; ``ModelError`` in one line."""
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, CLIPVisionModelWithProjection

    try:
        config = AutoConfig.from_pretrained(name, trust_remote_code=False)
        if config.model_type not in CLIP_TYPES and getattr(config, "vision_config", None) is not None:
            raise ModelError(
                f"{KEY}: {name} is a {config.model_type} model with a vision part; save or name its vision tower, "
                "or use a CLIP model"
            )
        processor = AutoImageProcessor.from_pretrained(name, trust_remote_code=False)
        loader = CLIPVisionModelWithProjection if config.model_type in CLIP_TYPES else AutoModel
        if config.model_type == "clip":  # a full CLIP model: its vision tower, with the projection CLIP declares
            projection, config = config.projection_dim, config.vision_config
            config.projection_dim = projection
        model, info = loader.from_pretrained(name, config=config, output_loading_info=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelError(f"{KEY}: cannot load a vision encoder from {name!r} ({_first_line(exc)})") from None
    missing = [key for key in info.get("missing_keys", ()) if not key.startswith("visual_projection.")]
    if missing:
        raise ModelError(f"{KEY}: {name} lacks weights {', '.join(sorted(missing)[:3])} (they would be random)")
    if loader is CLIPVisionModelWithProjection and not info.get("missing_keys"):
        return VisionEncoder(name, model, processor, "image_embeds")
    tower = model.vision_model if loader is CLIPVisionModelWithProjection else model
    return VisionEncoder(name, tower, processor, "pooler_output")


def _first_line(exc: BaseException) -> str:
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)


def open_image(path: Path, where: str) -> Any:
    """``path`` as an RGB PIL image; ``DataError`` naming ``where`` (the caption's ``file:line``) if unreadable."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DataError("reading images needs Pillow: pip install 'crossling[images]'") from None
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"{where}: cannot read image {path} ({_first_line(exc)})") from None


def image_cache_key(identity: str, images: Sequence[Path]) -> str:
    """Cache key of the features of ``images`` under an encoder of ``identity``: files' paths, sizes, mtimes."""
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in images]
    return sha256_json([CACHE_VERSION, identity, stats])


def image_cache_path(identity: str, images: Sequence[Path]) -> Path:
    """The cache file of the features of ``images`` by the encoder of ``identity`` (it may not exist yet)."""
    return image_features_dir() / f"{image_cache_key(identity, images)}.safetensors"


def cached_dim(identity: str, images: Sequence[Path]) -> int | None:
    """The feature length in the cache file of ``images`` (read from its header), ``None`` without one."""
    from safetensors import safe_open

    try:
        with safe_open(str(image_cache_path(identity, images)), framework="numpy") as handle:
            return int(handle.get_slice("features").get_shape()[1])
    except Exception:  # noqa: BLE001 - no cache file, or an unreadable one: unknown
        return None


def cached_image_features(
    identity: str, images: Sequence[tuple[Path, str]], *, batch_size: int, encoder: Any
) -> np.ndarray:
    """N x D features of ``images`` (``(path, where)`` pairs), read from the cache or encoded and cached.

    ``identity`` is the encoder's (``vision_identity``); ``encoder`` a zero-argument callable
    returning the loaded ``VisionEncoder``, called only on a cache miss.
    """
    from safetensors.numpy import load_file, save_file

    paths = [path for path, _ in images]
    cache = image_cache_path(identity, paths)
    with contextlib.suppress(Exception):  # a damaged or foreign cache file is rebuilt
        cached = load_file(str(cache))["features"]
        if cached.ndim == 2 and len(cached) == len(paths):
            return cached
    model = encoder()
    rows = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        rows.append(model.encode([open_image(path, where) for path, where in batch]))
        logger.info("%s: encoded %d/%d images", model.name, start + len(batch), len(images))
    matrix = np.concatenate(rows).astype(np.float32)
    with atomic_path(cache) as tmp:
        save_file({"features": matrix}, str(tmp), metadata={"encoder": model.name, "output": model.output})
    return matrix
