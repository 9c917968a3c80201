"""The house rule "no module over 600 lines", checked over every module under src/crossling."""

from __future__ import annotations

from pathlib import Path

import crossling

MAX_LINES = 600
SRC = Path(crossling.__file__).resolve().parent


def test_no_module_is_over_600_lines():
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 50, f"found only {len(modules)} modules under {SRC}"
    sizes = {path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines()) for path in modules}
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split them by role): {too_long}"
