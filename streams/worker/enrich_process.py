"""The enrich stage in a process of its own.

Enrichment (validation, spaCy, topics, serialisation) is CPU-bound Python that holds the GIL. Run in
a thread of the worker it starves everything else there: the event loop, Faust's Kafka consumer
thread and the index agent wait up to the interpreter's switch interval for each hand-over of the
GIL, so during the enrichment of a burst the index agent got no records and the search engine stood
idle (measured: no index batch for 1.4 s while 1,000 articles were enriched). In a child process the
enrichment runs beside them.

The child builds the Enricher itself (the worker process never loads the models); records go to it as
bytes and the stage's ``Outcome`` comes back, with the documents it passed on reduced to their ids
(the worker only counts them). If the child dies (killed, out of memory, a crash in native code), the
batch fails with ``BrokenProcessPool`` and the next attempt (``delivery.isolated``) starts a new one.
"""

from __future__ import annotations

import asyncio
import logging
import logging.config
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial

from streams.settings import Settings
from streams.worker import stages
from streams.worker.heap import HeapFreezer

log = logging.getLogger("streams.worker")

# In the child: the stage bound to the child's Enricher, and its heap.
_stage: partial | None = None
_heap = HeapFreezer()


def _start_child(settings: Settings, budget_bytes: int) -> None:
    global _stage
    from streams.enrich import Enricher
    from streams.logs import logging_config

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the worker, which then stops this process
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True, name="exit-with-worker").start()
    logging.config.dictConfig(logging_config(settings))
    enricher = Enricher.from_settings(settings)
    _stage = partial(
        stages.enrich, limits=settings.limits, enrich_batch=enricher.enrich_batch, budget_bytes=budget_bytes
    )


def _exit_with(worker_pid: int) -> None:
    """Exit when the worker is gone: a SIGKILLed worker cannot stop this process, and the pool's
    queue would keep it waiting for work forever."""
    while os.getppid() == worker_pid:
        time.sleep(1.0)
    os._exit(0)


def _enrich_in_child(records: Sequence[stages.Record]) -> stages.Outcome:
    assert _stage is not None, "the enrich process was not started"
    outcome = _stage(records)
    _heap.after_batch(outcome.passed)  # the first batch, and any that built a pipeline
    outcome.passed = [{"id": doc.get("id")} for doc in outcome.passed]
    return outcome


class EnrichProcess:
    """``await EnrichProcess(...)(records)``: the enrich stage, run in one child process."""

    def __init__(self, settings: Settings, budget_bytes: int):
        self._args = (settings, budget_bytes)
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the child and wait until it has built its Enricher: a configuration it cannot load
        stops the worker at start, as an Enricher built in this process would."""
        if self._pool is not None:
            return
        pool = ProcessPoolExecutor(
            max_workers=1,
            # spawn: a fork would copy the locks of the worker's other threads (Kafka client, logging)
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_child,
            initargs=self._args,
        )
        try:
            pool.submit(int).result()  # the initializer runs before the first task
        except BrokenProcessPool as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            raise RuntimeError("the enrich process could not build its Enricher (its error is logged above)") from exc
        self._pool = pool

    async def __call__(self, records: Sequence[stages.Record]) -> stages.Outcome:
        loop = asyncio.get_running_loop()
        if self._pool is None:
            await loop.run_in_executor(None, self.start)  # after a death: models load off the event loop
        assert self._pool is not None
        try:
            return await loop.run_in_executor(self._pool, _enrich_in_child, list(records))
        except BrokenProcessPool:
            log.warning("the enrich process died; starting a new one", extra={"event": "enrich_process_died"})
            self.close()
            raise

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
