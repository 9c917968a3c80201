"""Precomputed image features keyed by image id: ``.npy`` (+ ids file), safetensors or Parquet.

The formats a researcher's own feature-extraction script writes with one call:

* ``NAME.npy``: a 2-D float array, one row per image, and ``NAME.ids.txt`` beside it with the
  image id of each row, one per line (``np.save`` + writing the ids).
* ``NAME.safetensors``: either one 1-D tensor per image, named by its id
  (``save_file({id: vector, ...})``), or a 2-D tensor ``features`` with ``NAME.ids.txt`` beside it.
* ``NAME.parquet``: an id column (``id`` or ``image_id``) and a feature column (``features``, or
  the table's only list column) of equal-length float lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crossling.data.formats.captions_jsonl import ID_KEYS
from crossling.errors import DataError

#: Suffixes of the feature files read here.
FEATURE_SUFFIXES = (".npy", ".safetensors", ".parquet")


@dataclass(frozen=True)
class ImageFeatures:
    """Feature vectors of images, one row each, and where each id's row came from.

    Args:
        matrix: N x D float32 features.
        index: Image id -> row.
        files: The files read, in order (named in errors).
    """

    matrix: np.ndarray
    index: dict[str, int]
    files: tuple[Path, ...]

    @property
    def dim(self) -> int:
        """D, the length of every vector."""
        return int(self.matrix.shape[1])

    def vector(self, image_id: str) -> np.ndarray | None:
        """The features of ``image_id``, or ``None`` when no file has them."""
        row = self.index.get(image_id)
        return None if row is None else self.matrix[row]


def read_image_features(paths: Sequence[Path]) -> ImageFeatures:
    """The features of every file of ``paths``, merged; ``DataError`` naming the file for any problem.

    Every file must hold vectors of one length, and an id may appear in one file only.
    """
    matrices, index, dims = [], {}, {}
    for path in paths:
        ids, matrix = read_feature_file(path)
        if dims and matrix.shape[1] != next(iter(dims.values())):
            first, dim = next(iter(dims.items()))
            raise DataError(
                f"{path}: {matrix.shape[1]}-dim image features, but {first} has {dim}-dim ones (one length for all files)"
            )
        dims[path] = matrix.shape[1]
        offset = sum(len(m) for m in matrices)
        for row, image_id in enumerate(ids):
            if image_id in index:
                raise DataError(
                    f"{path}: image id {image_id!r} (row {row + 1}) already has features in an earlier row or file"
                )
            index[image_id] = offset + row
        matrices.append(matrix)
    return ImageFeatures(np.concatenate(matrices).astype(np.float32, copy=False), index, tuple(paths))


def read_feature_file(path: Path) -> tuple[list[str], np.ndarray]:
    """``(ids, N x D matrix)`` of one feature file (see the module docstring for the formats)."""
    if not path.is_file():
        raise DataError(f"{path}: image feature file not found (task.params.image_features)")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        ids, matrix = _read_npy(path)
    elif suffix == ".safetensors":
        ids, matrix = _read_safetensors(path)
    elif suffix == ".parquet":
        ids, matrix = _read_parquet(path)
    else:
        raise DataError(f"{path}: unknown image feature format; expected one of {', '.join(FEATURE_SUFFIXES)}")
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise DataError(f"{path}: expected a non-empty N x D array of image features, found shape {matrix.shape}")
    if len(ids) != len(matrix):
        raise DataError(f"{path}: {len(matrix)} feature rows but {len(ids)} ids")
    if not np.issubdtype(matrix.dtype, np.number) or not np.isfinite(matrix).all():
        raise DataError(f"{path}: image features must be finite numbers, found dtype {matrix.dtype} or NaN/inf values")
    return ids, matrix.astype(np.float32, copy=False)


def ids_file(path: Path) -> Path:
    """The ids file beside a feature array: ``NAME.ids.txt`` for ``NAME.npy`` / ``NAME.safetensors``."""
    return path.with_name(f"{path.stem}.ids.txt")


def _sidecar_ids(path: Path) -> list[str]:
    sidecar = ids_file(path)
    if not sidecar.is_file():
        raise DataError(f"{path}: no ids file {sidecar.name} beside it (one image id per line, in row order)")
    ids = sidecar.read_text(encoding="utf-8").splitlines()
    while ids and not ids[-1].strip():
        ids.pop()
    for number, image_id in enumerate(ids, start=1):
        if not image_id.strip():
            raise DataError(f"{sidecar}:{number}: empty image id")
    return [image_id.strip() for image_id in ids]


def _read_npy(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        matrix = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from None
    return _sidecar_ids(path), matrix


def _read_safetensors(path: Path) -> tuple[list[str], np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable safetensors file ({exc})") from None
    if "features" in tensors and tensors["features"].ndim == 2:
        return _sidecar_ids(path), tensors["features"]
    shapes = {name: tensor.shape for name, tensor in tensors.items() if tensor.ndim != 1}
    if shapes:
        name, shape = next(iter(shapes.items()))
        raise DataError(
            f"{path}: tensor {name!r} has shape {shape}; expected one 1-D tensor per image id, or a 2-D 'features'"
        )
    lengths = {len(tensor) for tensor in tensors.values()}
    if len(lengths) > 1:
        raise DataError(f"{path}: image feature vectors of different lengths {sorted(lengths)}")
    ids = sorted(tensors)
    return ids, np.stack([tensors[i] for i in ids]) if ids else np.zeros((0, 0), np.float32)


def _read_parquet(path: Path) -> tuple[list[str], np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    id_column = next((key for key in ID_KEYS if key in table.column_names), None)
    lists = [f.name for f in table.schema if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type)]
    column = "features" if "features" in table.column_names else (lists[0] if len(lists) == 1 else None)
    if id_column is None or column is None:
        raise DataError(
            f"{path}: expected an id column ({' or '.join(ID_KEYS)}) and a feature column ('features' or the only "
            f"list column); found columns {table.column_names}"
        )
    ids = [str(value) for value in table.column(id_column).to_pylist()]
    rows = table.column(column).to_pylist()
    lengths = {len(row) if row is not None else 0 for row in rows}
    if len(lengths) > 1:
        short = next(i for i, row in enumerate(rows) if len(row or ()) != len(rows[0] or ()))
        raise DataError(
            f"{path}: row {short + 1} (id {ids[short]!r}) has {len(rows[short] or ())} features, row 1 has {len(rows[0] or ())}"
        )
    return ids, np.asarray(rows, dtype=np.float32) if rows else np.zeros((0, 0), np.float32)
