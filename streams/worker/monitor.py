"""What an operator sees of a running worker: /metrics (Prometheus), /health, and a timer that writes
metrics documents (stage, DLQ, lag) to the metrics alias for Kibana. None of it can stop the agents:
each probe runs off the event loop with a timeout, and a failure only logs."""

from __future__ import annotations

import asyncio
import logging

import faust
import faust.web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.kafka.lag import LagReader
from streams.search import SearchBackend
from streams.settings import Settings
from streams.worker.health import HealthState
from streams.worker.metrics import PipelineMetrics

log = logging.getLogger("streams.worker")
PROBE_TIMEOUT_S = 15


def add_monitoring(app: faust.App, settings: Settings, metrics: PipelineMetrics, search: SearchBackend) -> None:
    kafka, interval = settings.kafka, settings.worker.metrics_interval_s
    lag_reader = LagReader(kafka)
    health = HealthState()

    @app.timer(interval, name="metrics")
    async def report_metrics() -> None:
        docs = metrics.take_documents()
        try:
            lags = await asyncio.wait_for(
                asyncio.to_thread(lag_reader.read, kafka.group_id, [kafka.topic_raw, kafka.topic_enriched]),
                PROBE_TIMEOUT_S,
            )
            health.observe_lag(lags)
            docs += metrics.stamp(metrics.lag(kafka.group_id, lags), interval)
        except Exception as exc:  # noqa: BLE001 - metrics must never break the worker
            log.warning("consumer lag not available: %s", exc, extra={"event": "metrics_error"})
        try:
            await asyncio.wait_for(asyncio.to_thread(search.write_metrics, docs), PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics not written (%d docs dropped): %s", len(docs), exc, extra={"event": "metrics_error"})

    @app.page("/metrics")
    async def prometheus(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        # aiohttp refuses a charset inside content_type, so the exposition type goes in as a header.
        return view.bytes(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def health_page(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        report = await health.check(lag_reader, search)
        return view.json(report, status=200 if report["status"] == "ok" else 503)
