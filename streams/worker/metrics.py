"""Pipeline metrics: Prometheus series for scraping, and periodic documents for Kibana.

The agents report each batch here (plain method calls, no I/O). A Faust timer turns the window since
the last tick into metrics documents (``kind`` = stage | dlq | lag; the contract lives in
``streams.search.template``) and writes them to the metrics alias. Writing metrics never blocks or
breaks the pipeline: it runs off the agents' path, with a timeout, and a failure only logs.
"""

from __future__ import annotations

import logging
import socket
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client import Counter as PromCounter

from streams.contracts.dates import epoch_from_iso, utc_now_iso

log = logging.getLogger("streams.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


@dataclass
class _Window:
    """What happened in one stage since the last tick."""

    articles_in: int = 0
    articles_out: int = 0
    dlq: int = 0
    batch_sizes: list[int] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    e2e_s: list[float] = field(default_factory=list)


class PipelineMetrics:
    def __init__(self, worker_id: str | None = None):
        self.worker_id = worker_id or f"{socket.gethostname()}-{id(self):x}"
        self.registry = CollectorRegistry()
        r = self.registry
        self.p_in = PromCounter("newsstreams_articles_in", "Articles read by a stage", ["stage"], registry=r)
        self.p_out = PromCounter("newsstreams_articles_out", "Articles a stage passed on", ["stage"], registry=r)
        self.p_dlq = PromCounter("newsstreams_dlq", "Records sent to the DLQ", ["stage", "reason"], registry=r)
        self.p_batch = Histogram(
            "newsstreams_batch_seconds", "Time to process one batch", ["stage"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.p_e2e = Histogram(
            "newsstreams_produce_to_indexed_seconds", "Produce-to-indexed latency", buckets=LATENCY_BUCKETS, registry=r
        )
        self.p_lag = Gauge(
            "newsstreams_consumer_lag", "End offset minus committed offset", ["group", "topic", "partition"], registry=r
        )
        self._windows: dict[str, _Window] = defaultdict(_Window)
        self._dlq: Counter[tuple[str, str]] = Counter()
        self._last_tick = time.monotonic()

    # -- called by the agents ----------------------------------------------------------------
    def batch(self, stage: str, n_in: int, n_out: int, seconds: float) -> None:
        w = self._windows[stage]
        w.articles_in += n_in
        w.articles_out += n_out
        w.batch_sizes.append(n_in)
        w.latencies_s.append(seconds)
        self.p_in.labels(stage).inc(n_in)
        self.p_out.labels(stage).inc(n_out)
        self.p_batch.labels(stage).observe(seconds)

    def dead_letter(self, stage: str, reason: str) -> None:
        self._windows[stage].dlq += 1
        self._dlq[(stage, reason)] += 1
        self.p_dlq.labels(stage, reason).inc()

    def indexed(self, docs: list[dict]) -> None:
        """Produce-to-indexed latency of each indexed document (from ``pipeline.ingested_at``)."""
        now = time.time()
        for doc in docs:
            seconds = max(0.0, now - _ingested_epoch(doc))
            self._windows["index"].e2e_s.append(seconds)
            self.p_e2e.observe(seconds)

    def lag(self, group: str, lags: dict[tuple[str, int], tuple[int, int]]) -> list[dict]:
        """Record lag per (topic, partition) -> (committed, end_offset); return the lag documents."""
        docs = []
        for (topic, partition), (committed, end) in sorted(lags.items()):
            lag = max(end - committed, 0)
            self.p_lag.labels(group, topic, str(partition)).set(lag)
            docs.append(
                {
                    "kind": "lag",
                    "group": group,
                    "topic": topic,
                    "partition": partition,
                    "committed": committed,
                    "end_offset": end,
                    "lag": lag,
                }
            )
        return docs

    # -- called by the timer -----------------------------------------------------------------
    def take_documents(self) -> list[dict]:
        """The stage and DLQ documents of the window since the last call; starts a new window."""
        now = time.monotonic()
        interval, self._last_tick = now - self._last_tick, now
        windows, self._windows = self._windows, defaultdict(_Window)
        dlq, self._dlq = self._dlq, Counter()
        docs = [_stage_doc(stage, w) for stage, w in sorted(windows.items())]
        docs += [
            {"kind": "dlq", "stage": stage, "reason": reason, "count": n} for (stage, reason), n in sorted(dlq.items())
        ]
        return self.stamp(docs, interval)

    def stamp(self, docs: list[dict], interval: float) -> list[dict]:
        common = {"@timestamp": utc_now_iso(), "worker_id": self.worker_id, "interval_s": round(interval, 3)}
        return [{**common, **doc} for doc in docs]


def _stage_doc(stage: str, w: _Window) -> dict:
    doc = {
        "kind": "stage",
        "stage": stage,
        "articles_in": w.articles_in,
        "articles_out": w.articles_out,
        "dlq": w.dlq,
        "batches": len(w.batch_sizes),
        "batch_size_avg": round(statistics.fmean(w.batch_sizes), 2) if w.batch_sizes else 0.0,
        "batch_size_max": max(w.batch_sizes, default=0),
    }
    doc.update(_percentiles("latency", w.latencies_s))
    if stage == "index":
        doc.update(_percentiles("e2e", w.e2e_s))
    return doc


def _percentiles(prefix: str, seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    ordered = sorted(seconds)

    def pick(q: float) -> float:  # nearest rank: exact for small windows, no interpolation surprises
        return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000, 2)

    return {f"{prefix}_p50_ms": pick(0.50), f"{prefix}_p95_ms": pick(0.95), f"{prefix}_p99_ms": pick(0.99)}


def _ingested_epoch(doc: dict) -> float:
    try:
        return epoch_from_iso(doc["pipeline"]["ingested_at"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return time.time()  # unknown: counts as 0 s rather than breaking the batch
