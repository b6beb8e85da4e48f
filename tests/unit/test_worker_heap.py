"""The worker freezes its long-lived heap once per pipeline it starts using, not per batch."""

from __future__ import annotations

import gc

from streams.worker.heap import HeapFreezer


def test_the_heap_is_frozen_after_the_first_batch_and_after_each_new_pipeline() -> None:
    heap = HeapFreezer()
    try:
        heap.after_batch([{"language": "nl"}, {"language": "nl"}])
        assert heap.freezes == 1 and gc.get_freeze_count() > 0
        heap.after_batch([{"language": "nl"}])
        heap.after_batch([])
        assert heap.freezes == 1  # nothing new: no collection, no freeze
        heap.after_batch([{"language": "und"}, {"language": "nl"}])  # the multi-language pipeline
        heap.after_batch([{"language": None}])  # no language: also the multi-language one
        assert heap.freezes == 2
    finally:
        gc.unfreeze()
