"""One realizer per language: how the shared meanings are worded, inflected and ordered in it."""

from __future__ import annotations

from crossling.data.template.languages import ar, de, en, es, fr, hi, ja, ru, sw, tr, vi, zh
from crossling.data.template.surface import Realizer

#: Language code -> its realizer; the benchmark's language set is this table's keys.
REALIZERS: dict[str, Realizer] = {
    module.CODE: module.REALIZER for module in (en, de, fr, es, ru, ar, hi, tr, ja, zh, sw, vi)
}
