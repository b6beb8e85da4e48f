"""The alerts stage of the index agent: after a batch is indexed and before it is acknowledged,
percolate it and deliver one record per (alert, article) to the alerts topic, exactly once.

Per batch: one percolate request; one ledger lookup; the new pairs are claimed in the ledger
("pending", with the partition the record goes to and that partition's end offset), sent, and marked
"sent" once the broker acknowledged them. A pair left "pending" (a worker died between claim and mark)
is taken over (compare-and-set) and resolved by reading that partition from the recorded offset:
the record found -> mark sent; not found -> send, then mark. docs/ALERTS.md gives the argument.

The stage retries until the batch's alerts are delivered: a failing percolate, ledger or send keeps
the batch unacknowledged (it is replayed after a crash) and never sends an article to the DLQ.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from streams.alerts import records
from streams.alerts.ledger import PENDING, Entry, Ledger, plan
from streams.alerts.topic import AlertsTopic
from streams.alerts.webhook import Webhooks
from streams.contracts.dates import utc_now_iso
from streams.search import SearchBackend, SearchError
from streams.settings import Settings

log = logging.getLogger("streams.alerts")
MAX_PASSES = 3  # ledger lookups per attempt: a pair lost to another worker's claim is pending at the next


@dataclass
class Match:
    alert: str
    webhook: str | None
    doc: dict[str, Any]


@dataclass
class BatchReport:
    matches: int = 0  # (alert, article) pairs the batch matched
    sent: int = 0  # records this call sent
    found: int = 0  # pending pairs whose record was already on the topic
    already: int = 0  # pairs the ledger had as sent
    sent_keys: list[str] = field(default_factory=list)


class _Wait(Exception):
    """Pairs claimed by another worker that may still be sending them: look again later."""

    def __init__(self, seconds: float):
        super().__init__(f"pairs claimed by another worker; their lease ends in {seconds:.1f}s")
        self.seconds = seconds


def matches_of(percolated: list[tuple[dict, list[int]]], docs: list[dict]) -> dict[str, Match]:
    """Record key -> match, one per (alert, article) however often the batch holds the article."""
    out: dict[str, Match] = {}
    for alert, slots in percolated:
        for slot in slots:
            doc = docs[slot]
            key = records.record_key(alert["name"], str(doc["id"]))
            out.setdefault(key, Match(alert["name"], alert.get("webhook"), doc))
    return out


class AlertsStage:
    def __init__(
        self,
        settings: Settings,
        search: SearchBackend,
        topic: AlertsTopic | None = None,
        registry: CollectorRegistry | None = None,  # the worker's /metrics
    ):
        self.settings = settings
        self.alerts = settings.alerts
        self.search = search
        self.ledger = Ledger(search, self.alerts.ledger_index)
        self.topic = topic or AlertsTopic(settings.kafka, self.alerts)
        registry = registry or CollectorRegistry()  # not the global one: a name registers once per registry
        self.p_sent = Counter("newsstreams_alerts_sent", "Alert records sent to the alerts topic", registry=registry)
        self.p_hooks = Counter("newsstreams_alert_webhooks", "Webhook deliveries", ["outcome"], registry=registry)
        self.webhooks = Webhooks(self.alerts, on_outcome=lambda outcome: self.p_hooks.labels(outcome).inc())
        self.owner = f"{uuid.uuid4().hex[:12]}"  # this process: a claim of its own needs no lease
        self._warned_missing = False

    async def __call__(self, docs: list[dict]) -> BatchReport:
        """Deliver the batch's alerts; retries with backoff until done (never raises but on cancel)."""
        worker = self.settings.worker
        delay = worker.retry_backoff_initial_s
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self.deliver(docs)
            except _Wait as wait:
                pause = min(max(wait.seconds, 0.1), worker.retry_backoff_max_s)
                log.info("alerts: %s; waiting %.1fs", wait, pause)
                await asyncio.sleep(pause)
            except Exception as exc:  # noqa: BLE001 - engine or broker away: keep the batch, retry
                log.warning(
                    "alerts for a batch of %d failed (%s: %s); retry %d in %.1fs",
                    len(docs),
                    type(exc).__name__,
                    exc,
                    attempt,
                    delay,
                    extra={"event": "retry", "stage": "alerts", "attempt": attempt},
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, worker.retry_backoff_max_s)

    async def deliver(self, docs: list[dict]) -> BatchReport:
        """One attempt; raises on any failure (``_Wait`` when another worker holds some pairs)."""
        report = BatchReport()
        if not docs:
            return report
        percolated = await self._percolate(docs)
        matches = matches_of(percolated, docs)
        report.matches = len(matches)
        if not matches:
            return report
        matched_at = utc_now_iso()
        remaining = list(matches)
        for _ in range(MAX_PASSES):
            if not remaining:
                return report
            entries = await asyncio.to_thread(self.ledger.lookup, remaining)
            todo = plan(remaining, entries, self.owner, time.time(), self.alerts.pending_lease_s)
            report.already += len(todo.done)
            lost = await self._send_new([matches[k] for k in todo.new], matched_at, report)
            lost += await self._resolve(todo.resolve, matches, report)
            if todo.waiting:
                now = time.time()
                raise _Wait(min(e.claimed_at + self.alerts.pending_lease_s - now for e in todo.waiting))
            remaining = lost  # claimed or taken over by another worker meanwhile: look again
        if remaining:  # the ledger changed under us pass after pass: back off and start over
            raise RuntimeError(f"{len(remaining)} alert pair(s) still unsettled after {MAX_PASSES} passes")
        return report

    async def _percolate(self, docs: list[dict]) -> list[tuple[dict, list[int]]]:
        try:
            return await asyncio.to_thread(self.search.percolate, self.alerts.index, docs)
        except SearchError as exc:
            if exc.status == 413 and len(docs) > 1:  # too large for one request: halves (as bulk does)
                half = len(docs) // 2
                first, second = await self._percolate(docs[:half]), await self._percolate(docs[half:])
                return first + [(alert, [slot + half for slot in slots]) for alert, slots in second]
            if exc.error_type != "index_not_found_exception":
                raise
            if not self._warned_missing:  # no alerts index: no alerts (`newsstreams setup` makes it)
                log.warning("alerts index %r does not exist: no alerts are percolated", self.alerts.index)
                self._warned_missing = True
            return []

    async def _send_new(self, new: list[Match], matched_at: str, report: BatchReport) -> list[str]:
        """Claim, send, mark sent; the keys someone else claimed first."""
        if not new:
            return []
        partitions = await self.topic.partitions()
        keyed = {records.record_key(m.alert, str(m.doc["id"])): m for m in new}
        where = {key: records.partition_for(key, partitions) for key in keyed}
        ends = await self.topic.end_offsets(set(where.values()))
        now = time.time()
        claims = [
            Entry(key, PENDING, p, ends[p], self.owner, now, records.alert_record(m.alert, m.doc, matched_at))
            for key, m in keyed.items()
            for p in [where[key]]
        ]
        claimed = await asyncio.to_thread(self.ledger.claim, claims)
        mine = [e for e in claims if e.key in claimed]
        await self._send(mine)
        await asyncio.to_thread(self.ledger.mark_sent, mine)
        report.sent += len(mine)
        report.sent_keys += [e.key for e in mine]
        for entry in mine:
            self._webhook(keyed[entry.key], entry.record)
        return [key for key in keyed if key not in claimed]

    async def _resolve(self, pending: list[Entry], matches: dict[str, Match], report: BatchReport) -> list[str]:
        """Pending pairs: taken over (compare-and-set), then each record found on the topic (mark sent)
        or sent (then marked). The keys another worker took over first."""
        if not pending:
            return []
        mine = []
        for entry in pending:
            taken = await asyncio.to_thread(self.ledger.take_over, entry, self.owner)
            if taken is not None:
                mine.append(taken)
        starts: dict[int, int] = {}
        for e in mine:
            starts[e.partition] = min(e.offset, starts.get(e.partition, e.offset))
        found = await self.topic.find(starts, {e.key.encode("utf-8") for e in mine})
        unsent = [e for e in mine if e.key.encode("utf-8") not in found]
        others = {e.owner for e in pending if e.owner != self.owner}
        log.info(
            "alerts: %d pending pair(s) (claimed by %s): %d found on the topic, %d not: sending them",
            len(mine),
            ", ".join(sorted(others)) or "this worker",
            len(mine) - len(unsent),
            len(unsent),
            extra={"event": "alerts_resolved", "found": len(mine) - len(unsent), "unsent": len(unsent)},
        )
        await self._send(unsent)
        await asyncio.to_thread(self.ledger.mark_sent, mine)
        report.found += len(mine) - len(unsent)
        report.sent += len(unsent)
        report.sent_keys += [e.key for e in unsent]
        for e in unsent:
            self._webhook(matches[e.key], e.record)
        taken = {e.key for e in mine}
        return [e.key for e in pending if e.key not in taken]

    async def _send(self, entries: list[Entry]) -> None:
        if entries:
            await self.topic.send([(e.partition, e.key.encode("utf-8"), records.encode(e.record)) for e in entries])
            self.p_sent.inc(len(entries))

    def _webhook(self, match: Match, record: dict[str, Any]) -> None:
        if match.webhook:
            self.webhooks.submit(match.webhook, record)

    async def close(self) -> None:
        self.webhooks.close()
        await self.topic.close()


def alerts_stage_for(
    settings: Settings, search: SearchBackend, registry: CollectorRegistry | None = None
) -> Callable[[list[dict]], Awaitable[Any]]:
    """What the index agent awaits with the documents it indexed, before acknowledging the batch."""
    if not settings.alerts.enabled:

        async def disabled(docs: list[dict]) -> None:
            return None

        return disabled
    return AlertsStage(settings, search, registry=registry)
