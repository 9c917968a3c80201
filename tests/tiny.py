"""Test helpers: a tiny BERT built from a config with a WordPiece tokenizer trained in the test, toy pair and tagging data."""

from __future__ import annotations

import random
import types
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts: list[str], vocab_size: int = 200) -> PreTrainedTokenizerFast:
    """A WordPiece tokenizer trained on ``texts`` with BERT's special tokens and pair template."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=128,
    )


def make_tiny_model_dir(path: Path, texts: list[str], *, hidden: int = 64, layers: int = 3, seed: int = 0) -> Path:
    """Save a randomly initialised tiny BERT (safetensors) and a tokenizer trained on ``texts`` into ``path``."""
    tokenizer = train_tokenizer(texts)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=hidden * 2,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


WORDS = {
    "en": ["red", "blue", "green", "cat", "dog", "bird", "tree", "house", "river", "stone", "sun", "moon"],
    "xx": ["rot", "blau", "grun", "katze", "hund", "vogel", "baum", "haus", "fluss", "stein", "sonne", "mond"],
}


#: Toy language -> its vocabulary in ``WORDS``: pair-task files are written for a language the
#: task declares (``de``), with the second toy vocabulary.
TOY_VOCABULARY = {"de": "xx"}


def toy_pair_rows(language: str, n: int, seed: int) -> list[tuple[str, str, str]]:
    """Pairs labelled 1 when both sentences start with the same word (one of three), else 0.

    The label depends on both sentences, so the model must relate them. The second language
    uses a disjoint vocabulary; zero-shot transfer is not expected there, only that it is
    evaluated and reported.
    """
    rng = random.Random(seed)
    words = WORDS[TOY_VOCABULARY.get(language, language)]
    heads, rest = words[:3], words[3:]
    rows = []
    for i in range(n):
        first = rng.choice(heads)
        other = first if i % 2 else rng.choice([h for h in heads if h != first])
        a = [first] + rng.sample(rest, 1)
        b = [other] + rng.sample(rest, 1)
        rows.append((" ".join(a), " ".join(b), "1" if i % 2 else "0"))
    return rows


def write_pawsx_layout(directory: Path, *, train: int = 600, dev: int = 100, test: int = 100) -> Path:
    """Write toy data in XTREME's ``{split}-{lang}.tsv`` layout (English train/dev/test, ``de`` test)."""
    directory.mkdir(parents=True, exist_ok=True)
    splits = {("train", "en"): train, ("dev", "en"): dev, ("test", "en"): test, ("test", "de"): test}
    for seed, ((split, lang), n) in enumerate(splits.items()):
        rows = toy_pair_rows(lang, n, seed=seed + 1)
        (directory / f"{split}-{lang}.tsv").write_text(
            "".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows), encoding="utf-8"
        )
    return directory


#: Word class of every word: the tag is a function of the word alone, so a tiny model can learn it.
LEXICON = {
    "en": {
        "DET": ["the", "a", "every"],
        "ADJ": ["red", "blue", "green", "big"],
        "NOUN": ["cat", "dog", "bird", "tree"],
        "VERB": ["sees", "likes", "chases"],
        "ADP": ["near", "under"],
        "PUNCT": [".", ","],
    },
    "xx": {
        "DET": ["le", "un", "chaque"],
        "ADJ": ["rot", "blau", "grun", "gross"],
        "NOUN": ["katze", "hund", "vogel", "baum"],
        "VERB": ["sieht", "mag", "jagt"],
        "ADP": ["pres", "sous"],
        "PUNCT": [".", ","],
    },
}
#: One clause: DET ADJ NOUN VERB DET NOUN ADP DET NOUN; sentences join one to four clauses with ",".
CLAUSE = ("DET", "ADJ", "NOUN", "VERB", "DET", "NOUN", "ADP", "DET", "NOUN")


def toy_sentence(rng: random.Random, language: str) -> list[tuple[str, str]]:
    """A sentence of one to four clauses (9 to 40 words) with its tags."""
    words: list[tuple[str, str]] = []
    for clause in range(rng.choice([1, 1, 1, 2, 4])):
        if clause:
            words.append((",", "PUNCT"))
        words += [(rng.choice(LEXICON[language][tag]), tag) for tag in CLAUSE]
    return words + [(".", "PUNCT")]


def write_tagging_layout(directory: Path, sizes: dict[tuple[str, str], int]) -> Path:
    """XTREME's ``{split}-{lang}.tsv``: ``word<TAB>tag`` lines, a blank line between sentences."""
    directory.mkdir(parents=True, exist_ok=True)
    for seed, ((split, language), n) in enumerate(sizes.items()):
        rng = random.Random(seed)
        sentences = ["".join(f"{w}\t{t}\n" for w, t in toy_sentence(rng, language)) for _ in range(n)]
        (directory / f"{split}-{language}.tsv").write_text("\n".join(sentences), encoding="utf-8")
    return directory


class LanguageCopyEncoder(torch.nn.Module):
    """A hand-built 2-layer "encoder" over ``WORDS`` whose hidden states are known exactly (for the layer probe).

    * ``H_0``: a fixed random vector per *meaning*: a word and its translation (same index in
      ``WORDS["en"]`` and ``WORDS["xx"]``) get the same vector, so the sentence vectors of
      translations are identical and carry no language signal;
    * ``H_1 = H_0 + 10 * (language code)``: the last two channels are one-hot en / xx, a
      copy of the language ID, so a linear probe identifies the language exactly;
    * ``H_2``: a fixed random vector per *token id* (language-specific, unrelated to meaning).

    Special tokens are zeros in every layer. It has the ``config.num_hidden_layers`` /
    ``hidden_size`` and the ``forward`` signature crossling reads from an encoder.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerFast, hidden: int = 16, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        meaning, language, token = (torch.zeros(len(tokenizer), hidden) for _ in range(3))
        meanings = torch.randn(len(WORDS["en"]), hidden - 2, generator=generator)
        for code, words in enumerate(WORDS.values()):
            for index, word in enumerate(words):
                ids = tokenizer(word, add_special_tokens=False)["input_ids"]
                if len(ids) != 1:
                    raise ValueError(f"toy word {word!r} is not one token: {ids}")
                meaning[ids[0], : hidden - 2] = meanings[index]
                language[ids[0], hidden - 2 + code] = 10.0
                token[ids[0]] = torch.randn(hidden, generator=generator)
        self.config = types.SimpleNamespace(num_hidden_layers=2, hidden_size=hidden, model_type="toy")
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # gives the module a device
        self.register_buffer("meaning", meaning)
        self.register_buffer("language", language)
        self.register_buffer("token", token)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: object
    ) -> types.SimpleNamespace:
        """``hidden_states``: the three B x T x E states described above."""
        h0 = self.meaning[input_ids]
        states = (h0, h0 + self.language[input_ids], self.token[input_ids])
        return types.SimpleNamespace(hidden_states=states, last_hidden_state=states[-1])


def toy_parallel_sentences(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``(xx sentences, their English translations)``: n distinct 3-word sets, the same word order on both sides."""
    rng = random.Random(seed)
    chosen: list[tuple[int, ...]] = []
    while len(chosen) < n:
        words = tuple(sorted(rng.sample(range(len(WORDS["en"])), 3)))
        if words not in chosen:
            chosen.append(words)
    return (
        [" ".join(WORDS["xx"][i] for i in c) for c in chosen],
        [" ".join(WORDS["en"][i] for i in c) for c in chosen],
    )


def stage_weights(run_dir: Path, index: int, task: str) -> Path:
    """The kept weights of a run's stage ``index``, in the stage cache its ``stages/NN-task.json`` names."""
    import json

    pointer = json.loads((run_dir / "stages" / f"{index:02d}-{task}.json").read_text(encoding="utf-8"))
    return Path(pointer["directory"]) / "model.safetensors"


def shared_stage_study(
    model: Path, data: Path, out: Path, *, checkpoint_every_steps: int = 2, **extra: object
) -> dict[str, object]:
    """A three-run study on toy PAWS-X: ``inter-a`` and ``inter-b`` share an intermediate stage, which is
    also ``direct``'s target stage (same task, training and seed); ``inter-b``'s target differs in learning rate."""
    task = {"name": "pawsx", "source": "local", "data_dir": str(data), "eval_languages": ["en", "de"]}
    training = {
        "epochs": 2,
        "batch_size": 16,
        "learning_rate": 1e-3,
        "checkpoint_every_steps": checkpoint_every_steps,
        "mixed_precision": "no",
    }
    config: dict[str, object] = {
        "name": "study",
        "output_dir": str(out),
        "seed": 13,
        "model": {"name_or_path": str(model)},
        "task": task,
        "training": training,
        "evaluation": {"batch_size": 32},
        "variants": {
            "direct": {},
            "inter-a": {"intermediate": [{"task": task, "training": training}]},
            "inter-b": {"intermediate": [{"task": task, "training": training}], "training.learning_rate": 2e-3},
        },
    }
    config.update(extra)
    return config


def write_yaml(path: Path, config: dict) -> Path:
    """``config`` as YAML at ``path`` (parents created)."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
