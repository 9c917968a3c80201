"""image-captions: captions JSONL with precomputed image features (.npy, safetensors, Parquet) and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import save_file

from crossling.config.schema import TaskConfig
from crossling.errors import ConfigError, DataError
from crossling.tasks import get_task
from crossling.tasks.loading import TaskData
from crossling.taskspec import SourceOptions

IMAGES = ("img-a", "img-b", "img-c")
VECTORS = np.arange(12, dtype=np.float32).reshape(3, 4) + 1


def write_captions(directory: Path, split: str = "train", lines: list | None = None) -> Path:
    """``split.jsonl`` with an English and a German caption per image (or the given raw lines)."""
    directory.mkdir(parents=True, exist_ok=True)
    if lines is None:
        rows = [{"id": i, "caption": f"picture {i}", "language": "en"} for i in IMAGES]
        rows += [{"image_id": i, "caption": f"Bild {i}", "language": "de"} for i in IMAGES]
        lines = [json.dumps(row) for row in rows]
    path = directory / f"{split}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_features(directory: Path, fmt: str, vectors: np.ndarray = VECTORS, ids=IMAGES, name: str = "feats") -> str:
    """Features of ``ids`` in ``fmt`` (npy + ids file, safetensors keyed by id, Parquet); the file's name."""
    if fmt == "npy":
        np.save(directory / f"{name}.npy", vectors)
        (directory / f"{name}.ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
        return f"{name}.npy"
    if fmt == "safetensors":
        save_file({i: v for i, v in zip(ids, vectors, strict=True)}, str(directory / f"{name}.safetensors"))
        return f"{name}.safetensors"
    table = pa.table({"image_id": list(ids), "embedding": [list(map(float, v)) for v in vectors]})
    pq.write_table(table, directory / f"{name}.parquet")
    return f"{name}.parquet"


def source(directory: Path, **params):
    """The image-captions source over ``directory``."""
    return get_task("image-captions").build_source("local", SourceOptions(data_dir=directory, params=params))


@pytest.mark.parametrize("fmt", ["npy", "safetensors", "parquet"])
def test_precomputed_features_are_read_per_language(tmp_path, fmt):
    write_captions(tmp_path)
    captions = source(tmp_path, image_features=write_features(tmp_path, fmt))
    assert captions.feature_dim() == 4
    english, german = captions.load("en", "train"), captions.load("de", "train")
    assert [r.id for r in english] == list(IMAGES) and len(german) == 3
    assert german[1].text == "Bild img-b" and german[1].features == tuple(float(x) for x in VECTORS[1])


def test_safetensors_matrix_with_ids_file_and_several_files(tmp_path):
    write_captions(tmp_path)
    save_file({"features": VECTORS[:2]}, str(tmp_path / "part1.safetensors"))
    (tmp_path / "part1.ids.txt").write_text("img-a\nimg-b\n", encoding="utf-8")
    second = write_features(tmp_path, "parquet", VECTORS[2:], IMAGES[2:], name="part2")
    records = source(tmp_path, image_features=["part1.safetensors", second]).load("en", "train")
    assert [r.features[0] for r in records] == [1.0, 5.0, 9.0]


def test_head_size_comes_from_the_data(tmp_path):
    write_captions(tmp_path)
    config = TaskConfig(
        name="image-captions", data_dir=tmp_path, params={"image_features": write_features(tmp_path, "npy")}
    )
    data = TaskData.from_config(config)
    assert data.spec.num_labels == 4 and data.featurizer_options() == {"vector_size": 4}
    template = TaskData.from_config(TaskConfig(name="tmpl-image", params={"feature_dim": 16, "train_size": 8}))
    assert template.spec.num_labels == 16 and len(template.records("en", "train")[0].features) == 16


def test_repeated_captions_of_one_image_get_numbered_ids(tmp_path):
    rows = [{"id": "img-a", "caption": c, "language": "en"} for c in ("one", "two")]
    write_captions(tmp_path, lines=[json.dumps(r) for r in rows])
    records = source(tmp_path, image_features=write_features(tmp_path, "npy")).load("en", "train")
    assert [(r.id, r.image_id) for r in records] == [("img-a", "img-a"), ("img-a#2", "img-a")]


def test_fingerprint_follows_the_feature_file(tmp_path):
    write_captions(tmp_path)
    name = write_features(tmp_path, "npy")
    before = source(tmp_path, image_features=name).fingerprint("en", "train")
    write_features(tmp_path, "npy", VECTORS * 2)
    assert source(tmp_path, image_features=name).fingerprint("en", "train") != before


def _error(tmp_path, lines, fmt="npy", **features):
    write_captions(tmp_path, lines=lines)
    name = write_features(tmp_path, fmt, **features)
    with pytest.raises((DataError, ConfigError)) as info:
        source(tmp_path, image_features=name).load("en", "train")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_caption_without_id_names_the_line(tmp_path):
    lines = [
        json.dumps({"id": "img-a", "caption": "x", "language": "en"}),
        json.dumps({"caption": "y", "language": "en"}),
    ]
    assert _error(tmp_path, lines).startswith(f"{tmp_path / 'train.jsonl'}:2: expected an image id ('id' or 'image_id'")


def test_unreadable_line_names_the_line(tmp_path):
    lines = ['{"id": "img-a", "caption": "x", "language": "en"}', '{"id": "img-b", "caption": ']
    assert "train.jsonl:2: expected a JSON object, found invalid JSON" in _error(tmp_path, lines)


def test_caption_whose_image_has_no_features(tmp_path):
    lines = [json.dumps({"id": "img-z", "caption": "x", "language": "en"})]
    message = _error(tmp_path, lines)
    assert (
        message.startswith(f"{tmp_path / 'train.jsonl'}:1: image id 'img-z' has no features in ")
        and "feats.npy" in message
    )


def test_feature_dimension_mismatch_between_files_and_with_the_config(tmp_path):
    write_captions(tmp_path)
    first = write_features(tmp_path, "npy", VECTORS[:2], IMAGES[:2], name="a")
    second = write_features(tmp_path, "npy", np.ones((1, 5), np.float32), IMAGES[2:], name="b")
    with pytest.raises(DataError, match=r"b\.npy: 5-dim image features, but .*a\.npy has 4-dim ones"):
        source(tmp_path, image_features=[first, second]).load("en", "train")
    with pytest.raises(ConfigError, match=r"task.params.feature_dim is 8, but .*feats\.npy gives 4-dim image features"):
        source(tmp_path, image_features=write_features(tmp_path, "npy"), feature_dim=8).feature_dim()


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({}, "exactly one of image_features and vision_encoder"),
        ({"image_features": "f.npy", "vision_encoder": "m"}, "exactly one of"),
        ({"image_features": "f.npy", "imagefeatures": 1}, r"unknown key\(s\) \['imagefeatures'\]"),
        ({"image_features": "missing.npy"}, r"missing\.npy: image feature file not found"),
    ],
)
def test_bad_params_are_one_line_errors(tmp_path, params, pattern):
    write_captions(tmp_path)
    with pytest.raises((ConfigError, DataError), match=pattern):
        source(tmp_path, **params).feature_dim()


def test_npy_without_ids_file_and_ragged_parquet(tmp_path):
    write_captions(tmp_path)
    np.save(tmp_path / "bare.npy", VECTORS)
    with pytest.raises(DataError, match=r"bare\.npy: no ids file bare\.ids\.txt beside it"):
        source(tmp_path, image_features="bare.npy").feature_dim()
    pq.write_table(pa.table({"id": ["a", "b"], "features": [[1.0, 2.0], [3.0]]}), tmp_path / "ragged.parquet")
    with pytest.raises(DataError, match=r"ragged\.parquet: row 2 \(id 'b'\) has 1 features, row 1 has 2"):
        source(tmp_path, image_features="ragged.parquet").feature_dim()
