"""Long-lived objects out of the garbage collector's way.

The enricher holds hundreds of thousands of Python objects for as long as the worker runs (spaCy
pipelines and vocabularies, the language detector, the gazetteer's tables). Every full collection
walks all of them: about 0.1 s here, during which the event loop and both agents stand still, a
few times per thousand articles. ``gc.freeze()`` moves the objects alive now to a generation the
collector never walks; they are still freed by reference counting when dropped.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from streams.enrich.entities import pipeline_language


class HeapFreezer:
    """Freezes the heap at start and again after each batch that used a pipeline not seen before
    (pipelines are built on first use): a collection, then a freeze, a handful of times per worker."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.freezes = 0

    def freeze(self) -> None:
        gc.collect()  # garbage is freed first, not frozen with the rest
        gc.freeze()
        self.freezes += 1

    def after_batch(self, docs: Iterable[dict]) -> None:
        used = {pipeline_language(str(doc.get("language") or "")) for doc in docs}
        if used - self.seen:
            self.seen |= used
            self.freeze()
