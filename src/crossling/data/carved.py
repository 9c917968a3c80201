"""Train, dev and test splits carved example by example out of one split, for data that has only that split.

``task.carve: {from: S, train: N, dev: D}`` reads every language's split ``S`` of the task's
source as three: ``train`` = its first N examples, ``dev`` = the next D, ``test`` = the rest.
XNLI's and PAWS-X's dev files and XQuAD's test files are translations of one another example by
example (XNLI and PAWS-X line by line, XQuAD question by question), so an example in one
language's test part was not trained on, nor selected on, in any language (XQuAD's questions on
one paragraph may fall on both sides of a boundary: that context is then also seen in training).
``../shared/data`` holds only dev files of XNLI, PAWS-X and PAN-X and only test files of XQuAD.
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
    """

    inner: DataSource
    split: str
    train: int
    dev: int

    def _part(self, split: str) -> slice:
        bounds = {"train": (0, self.train), "dev": (self.train, self.train + self.dev)}
        return slice(*bounds.get(split, (self.train + self.dev, None)))

    def load(self, language: str, split: str) -> list[Any]:
        """The ``split`` part of ``language``'s examples of the carved split; ``DataError`` when that part is empty."""
        records = list(self.inner.load(language, self.split))
        part = records[self._part(split)]
        if not part:
            raise DataError(
                f"task.carve: the {language} {self.split} data has {len(records)} examples, none left for its "
                f"{split} part after the first {self.train} (train) and {self.dev} (dev)"
            )
        return part

    def fingerprint(self, language: str, split: str) -> str:
        """The carved split's fingerprint and the part's bounds."""
        part = self._part(split)
        return f"{self.inner.fingerprint(language, self.split)}:carved[{part.start}:{part.stop}]"
