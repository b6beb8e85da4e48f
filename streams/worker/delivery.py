"""The worker's edges: run a stage without letting one record stop the batch, index with retries,
and deliver a batch's outputs and dead letters so that nothing is acknowledged before it is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from tenacity import AsyncRetrying, retry_if_exception, retry_if_exception_type, stop_never, wait_exponential_jitter

from streams.contracts.dates import utc_now_iso
from streams.search import DocError, SearchBackend, SearchError, TransientSearchError
from streams.settings import WorkerSettings
from streams.worker.metrics import PipelineMetrics
from streams.worker.stages import DeadLetter, Outcome, Record, dead_letter_message, describe_error

log = logging.getLogger("streams.worker")

T = TypeVar("T")
_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)


# --- isolation ------------------------------------------------------------------------------------


async def isolated(
    stage: str, records: Sequence[Record], run: Callable[[Sequence[Record]], Awaitable[Outcome]], worker: WorkerSettings
) -> Outcome:
    """``run`` over the batch. An exception that escapes it (a bug, not a record's own failure, which
    the stage turns into a dead letter) is retried ``worker.batch_attempts`` times with backoff; then
    the records go one by one and each that still fails becomes a ``<stage>_failed`` dead letter.
    Never raises: no crash loop, no partition whose offset stops."""
    delay = worker.retry_backoff_initial_s
    for attempt in range(1, worker.batch_attempts + 1):
        try:
            return await run(records)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.warning(
                "%s batch of %d failed (%s); attempt %d/%d",
                stage,
                len(records),
                describe_error(exc),
                attempt,
                worker.batch_attempts,
                extra={"event": "batch_error", "stage": stage, "attempt": attempt},
                exc_info=exc,
            )
            if attempt < worker.batch_attempts:
                await asyncio.sleep(delay)
                delay = min(2 * delay, worker.retry_backoff_max_s)
    outcome = Outcome()
    for record in records:
        try:
            outcome += await run([record])
        except Exception as exc:  # noqa: BLE001
            outcome.dead.append(DeadLetter(record, f"{stage}_failed", stage, describe_error(exc)))
    return outcome


# --- indexing -------------------------------------------------------------------------------------


async def index_documents(search: SearchBackend, docs: list[dict], worker: WorkerSettings) -> list[DocError]:
    """Index the documents; the engine's refusals come back as DocErrors (positions into ``docs``).

    Transient failures (engine down, timeout, 429, 5xx) and whole-request refusals (bad
    credentials, missing alias: an operator's fix) are retried with backoff and jitter, never
    dropped. A request too large for the engine (413) is split in halves until it fits; a single
    document still too large is refused like any other."""
    try:
        return await _bulk_until_accepted(search, docs, worker)
    except SearchError as exc:  # only 413 gets here
        if len(docs) == 1:
            return [DocError(str(docs[0]["id"]), 413, f"too large for one bulk request: {exc}", 0)]
        half = len(docs) // 2
        log.warning(
            "bulk of %d docs too large for the engine; splitting",
            len(docs),
            extra={"event": "split", "stage": "index", "docs": len(docs)},
        )
        first = await index_documents(search, docs[:half], worker)
        second = await index_documents(search, docs[half:], worker)
        return first + [DocError(e.doc_id, e.status, e.reason, e.position + half) for e in second]


async def _bulk_until_accepted(search: SearchBackend, docs: list[dict], worker: WorkerSettings) -> list[DocError]:
    if not docs:
        return []
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, SearchError) and exc.status != 413),
        wait=wait_exponential_jitter(multiplier=worker.retry_backoff_initial_s, max=worker.retry_backoff_max_s),
        stop=stop_never,
        before_sleep=lambda state: log.warning(
            "bulk of %d docs not accepted (%s); retry %d in %.1fs",
            len(docs),
            state.outcome.exception(),
            state.attempt_number,
            state.next_action.sleep,
            extra={
                "event": "retry",
                "stage": "index",
                "attempt": state.attempt_number,
                "docs": len(docs),
                "wait_s": round(state.next_action.sleep, 2),
            },
        ),
        reraise=True,
    ):
        with attempt:
            indexed_at = utc_now_iso()
            for doc in docs:
                doc.setdefault("pipeline", {})["indexed_at"] = indexed_at
            return await asyncio.to_thread(search.bulk_index, docs)
    return []  # unreachable: stop_never


async def until_answered(call: Callable[[], T], what: str, worker: WorkerSettings) -> T:
    """``call()`` in a thread, retried with backoff and jitter while the engine is unreachable or busy
    (TransientSearchError): a lookup waits for the engine as indexing does, it never fails a batch."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(TransientSearchError),
        wait=wait_exponential_jitter(multiplier=worker.retry_backoff_initial_s, max=worker.retry_backoff_max_s),
        stop=stop_never,
        before_sleep=lambda state: log.warning(
            "%s failed (%s); retry %d in %.1fs",
            what,
            state.outcome.exception(),
            state.attempt_number,
            state.next_action.sleep,
            extra={"event": "retry", "stage": "index", "attempt": state.attempt_number},
        ),
        reraise=True,
    ):
        with attempt:
            return await asyncio.to_thread(call)
    raise AssertionError("unreachable: stop_never")


# --- delivery -------------------------------------------------------------------------------------


class Deliver:
    """Writes a batch's outputs and dead letters. Returns only when every one is acknowledged by the
    broker (acks=all), so the caller may then acknowledge the batch.

    Outputs and dead letters go out together and each failed send is retried on its own: a refused
    output never costs a dead letter. An output the broker refuses as too large becomes a
    ``too_large_enriched`` dead letter (with the record's raw payload); dead letters are cut to fit
    the DLQ topic. Other failures (broker down, leader moving) wait and retry: never dropped."""

    def __init__(self, dlq: Any, worker: WorkerSettings, metrics: PipelineMetrics, max_message_bytes: int):
        self.dlq = dlq
        self.worker = worker
        self.metrics = metrics
        self.max_bytes = max_message_bytes

    async def __call__(self, outcome: Outcome, to: Any | None = None) -> None:
        dead = list(outcome.dead)
        sends = [self._send(to, o.key, o.value) for o in outcome.out]
        refused = await asyncio.gather(*sends)
        for output, too_large in zip(outcome.out, refused, strict=True):
            if too_large:
                dead.append(
                    DeadLetter(
                        output.record,
                        "too_large_enriched",
                        "enrich",
                        f"the broker refused the enriched record of {len(output.value)} bytes: {too_large}",
                    )
                )
        await asyncio.gather(*(self._dead_letter(d) for d in dead))

    async def _dead_letter(self, dead: DeadLetter) -> None:
        rec = dead.record
        log.warning(
            "dead letter: %s at %s: %s",
            dead.reason,
            dead.stage,
            dead.error[:300],
            extra={
                "event": "dlq",
                "stage": dead.stage,
                "reason": dead.reason,
                "topic": rec.topic,
                "partition": rec.partition,
                "offset": rec.offset,
            },
        )
        limit = self.max_bytes
        while True:
            key, value = dead_letter_message(dead, limit)
            too_large = await self._send(self.dlq, key, value)
            if not too_large:
                break
            limit //= 4  # the DLQ topic's own limit is lower than ours: cut harder
        self.metrics.dead_letter(dead.stage, dead.reason)

    async def _send(self, topic: Any, key: bytes | None, value: bytes) -> str | None:
        """Send until acknowledged; the error text if the broker refuses the record as too large."""
        delay = self.worker.retry_backoff_initial_s
        attempt = 0
        while True:
            attempt += 1
            try:
                fut = await topic.send(key=key, value=value, force=True)
                await fut
                return None
            except Exception as exc:  # noqa: BLE001 - classified below
                if _is_too_large(exc):
                    return describe_error(exc)
                log.warning(
                    "send to %s failed (%s); retry %d in %.1fs",
                    topic.get_topic_name(),
                    describe_error(exc),
                    attempt,
                    delay,
                    extra={"event": "retry", "stage": "deliver", "attempt": attempt},
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, self.worker.retry_backoff_max_s)


def _is_too_large(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, _TOO_LARGE):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
