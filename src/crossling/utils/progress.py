"""Progress bars for long loops (rich), one helper so that every stage looks and switches off the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Called with the number of items just finished.
Advance = Callable[[int], None]


@contextmanager
def progress(description: str, total: int, *, enabled: bool = True) -> Iterator[Advance]:
    """A transient rich bar ``description [####  ] n/total eta`` while the block runs; yields ``advance(n)``.

    With ``enabled=False`` (tests, ``--quiet``) nothing is drawn and ``advance`` does nothing.
    """
    if not enabled or total <= 0:
        yield lambda _n: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
