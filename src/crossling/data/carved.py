"""Train, dev and test splits carved example by example out of one split, for data that has only that split.

``task.carve: {from: S, train: N, dev: D}`` reads every language's split ``S`` of the task's
source as three: ``train`` = its first N examples, ``dev`` = the next D, ``test`` = the rest.
XNLI's and PAWS-X's dev files and XQuAD's test files are translations of one another example by
example (XNLI and PAWS-X line by line, XQuAD question by question), so an example in one
language's test part was not trained on, nor selected on, in any language (XQuAD's questions on
one paragraph may fall on both sides of a boundary: that context is then also seen in training).
``../shared/data`` holds only dev files of XNLI, PAWS-X and PAN-X and only test files of XQuAD.

``disjoint: true`` (for a task trained in several languages of translated files): the i-th training
language's train part is the i-th block of N examples instead of the first N, and dev and test
follow all the blocks, so no example is trained on in two languages. Without it, 12 languages x 100
pairs are 100 meanings in 12 translations, not 1,200 meanings: a multilingual intermediate task
would then differ from an English one of the same size in content as well as in languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossling.errors import DataError
from crossling.taskspec import DataSource


@dataclass
class CarvedSource:
    """A source whose three splits are consecutive parts of one split of another source.

    Args:
        inner: The task's configured source (only its ``split`` is read).
        split: The split carved (``dev`` or ``test``).
        train: Examples of the train part (the first ones).
        dev: Examples of the dev part (the next ones); the test part is the rest.
        disjoint_languages: With ``disjoint: true``, the training languages in order: the i-th one's
            train part is the i-th block of ``train`` examples, and dev and test follow all blocks.
    """

    inner: DataSource
    split: str
    train: int
    dev: int
    disjoint_languages: tuple[str, ...] = ()

    def _part(self, language: str, split: str) -> slice:
        blocks = max(1, len(self.disjoint_languages))
        start = self.train * blocks
        if split == "train":
            block = self._block(language)
            return slice(block * self.train, (block + 1) * self.train)
        if split == "dev":
            return slice(start, start + self.dev)
        return slice(start + self.dev, None)

    def _block(self, language: str) -> int:
        """Which block of ``train`` examples is ``language``'s train part (0 without ``disjoint``)."""
        if not self.disjoint_languages:
            return 0
        if language not in self.disjoint_languages:
            raise DataError(
                f"task.carve: disjoint: {language} is not one of the training languages "
                f"{', '.join(self.disjoint_languages)}, so it has no train block"
            )
        return self.disjoint_languages.index(language)

    def load(self, language: str, split: str) -> list[Any]:
        """The ``split`` part of ``language``'s examples of the carved split; ``DataError`` when that part is empty."""
        records = list(self.inner.load(language, self.split))
        bounds = self._part(language, split)
        part = records[bounds]
        if not part or (split == "train" and len(part) < self.train):
            raise DataError(
                f"task.carve: the {language} {self.split} data has {len(records)} examples, too few for its "
                f"{split} part [{bounds.start}:{'' if bounds.stop is None else bounds.stop}] "
                f"({self.train} train x {max(1, len(self.disjoint_languages))} block(s), then {self.dev} dev)"
            )
        return part

    def fingerprint(self, language: str, split: str) -> str:
        """The carved split's fingerprint and the part's bounds."""
        part = self._part(language, split)
        return f"{self.inner.fingerprint(language, self.split)}:carved[{part.start}:{part.stop}]"
