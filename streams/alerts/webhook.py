"""Per-alert webhooks, off the indexing path: a bounded queue and one background task that POSTs each
record as JSON with a timeout and retries. A slow or dead receiver only fills the queue; a full queue
drops the delivery with a warning and counts it. The alerts topic stays the record of what matched."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from streams.search.backends import redact_url
from streams.settings import AlertsSettings

log = logging.getLogger("streams.alerts")

Post = Callable[[str, dict[str, Any], float], int]  # (url, record, timeout_s) -> HTTP status


def post_json(url: str, record: dict[str, Any], timeout_s: float) -> int:
    return requests.post(url, json=record, timeout=timeout_s).status_code


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


class Webhooks:
    def __init__(
        self,
        settings: AlertsSettings,
        post: Post = post_json,
        backoff_s: float = 0.5,
        on_outcome: Callable[[str], None] = lambda outcome: None,  # delivered | failed | dropped (metrics)
    ):
        self.timeout_s = settings.webhook_timeout_s
        self.retries = settings.webhook_retries
        self.backoff_s = backoff_s
        self.post = post
        self.on_outcome = on_outcome
        self.queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(settings.webhook_queue_size)
        self.delivered = self.failed = self.dropped = 0
        self._task: asyncio.Task | None = None
        # Its own thread: a receiver that hangs up to the timeout never holds a thread the index agent needs.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts-webhook")

    def submit(self, url: str, record: dict[str, Any]) -> bool:
        """Queue one delivery without waiting; False (dropped, counted) when the queue is full."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="alerts-webhooks")
        try:
            self.queue.put_nowait((url, record))
            return True
        except asyncio.QueueFull:
            self.dropped += 1
            self.on_outcome("dropped")
            log.warning(
                "webhook queue full (%d waiting): dropped the delivery of %s|%s (%d dropped so far)",
                self.queue.qsize(),
                record.get("alert"),
                record.get("article_id"),
                self.dropped,
                extra={"event": "webhook_dropped", "dropped": self.dropped},
            )
            return False

    async def _run(self) -> None:
        while True:
            url, record = await self.queue.get()
            try:
                await self._deliver(url, record)
            finally:
                self.queue.task_done()

    async def _deliver(self, url: str, record: dict[str, Any]) -> bool:
        loop = asyncio.get_running_loop()
        delay = self.backoff_s
        for attempt in range(1, self.retries + 2):
            try:
                status = await loop.run_in_executor(self._pool, self.post, url, record, self.timeout_s)
                problem = None if 200 <= status < 300 else f"HTTP {status}"
                retry = problem is not None and _retryable(status)
            except Exception as exc:  # noqa: BLE001 - a receiver's failure, whatever it is
                problem, retry = f"{type(exc).__name__}: {exc}", True
            if problem is None:
                self.delivered += 1
                self.on_outcome("delivered")
                return True
            if not retry or attempt > self.retries:
                break
            log.info("webhook %s: %s; retry %d in %.1fs", redact_url(url), problem, attempt, delay)
            await asyncio.sleep(delay)
            delay *= 2
        self.failed += 1
        self.on_outcome("failed")
        log.warning(
            "webhook %s failed for %s|%s: %s (after %d attempt(s))",
            redact_url(url),
            record.get("alert"),
            record.get("article_id"),
            problem,
            attempt,
            extra={"event": "webhook_failed"},
        )
        return False

    async def drain(self) -> None:
        """Wait until every queued delivery is done (tests, shutdown)."""
        await self.queue.join()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
