r"""The Faust app: two agents joined by a topic.

    articles.raw --enrich--> articles.enriched --index--> search engine
           \__________________________ articles.dlq <______/

Both agents take batches with ``noack_take`` and acknowledge a batch only after its output is safely
written (enriched records delivered with acks=all; bulk request accepted by the engine), so a crash or
SIGKILL replays the batch instead of losing it. Writes are idempotent (``_id`` = article id), which
turns at-least-once delivery into an exactly-once effect in the index.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime


import faust
import faust.web
from faust.types import EventT
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tenacity import AsyncRetrying, retry_if_exception, stop_never, wait_exponential_jitter

from streams.enrich import BatchEnrichError, Enricher
from streams.health import HealthState
from streams.metrics import PipelineMetrics
from streams.models import InvalidArticle, dlq_record, dumps_article, parse_raw, utc_now_iso
from streams.search import DocError, SearchBackend, SearchError, make_backend
from streams.settings import Settings
from streams.topics import MAX_MESSAGE_BYTES, LagReader

log = logging.getLogger("streams.app")


def create_app(settings: Settings, backend: SearchBackend | None = None,
               enricher: Enricher | None = None) -> faust.App:
    kafka, worker = settings.kafka, settings.worker
    app = faust.App(
        kafka.group_id,  # the app id is the consumer group: more workers with it share partitions
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        web_port=worker.web_port,
        web_host="127.0.0.1" if worker.web_host is None else worker.web_host,
        datadir=str(worker.data_dir),
        producer_acks=-1,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        # An enriched article is ~10 KB: the 16 KB default batch would mean one request per record.
        producer_max_batch_size=1024 * 1024,
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=kafka.replication_factor,
    )
    raw = app.topic(kafka.topic_raw, key_type=bytes, value_type=bytes, value_serializer="raw",
                    key_serializer="raw")
    enriched = app.topic(kafka.topic_enriched, key_type=bytes, value_type=bytes,
                         value_serializer="raw", key_serializer="raw")
    dlq = app.topic(kafka.topic_dlq, key_type=bytes, value_type=bytes, value_serializer="raw",
                    key_serializer="raw")
    search = backend or make_backend(settings.search)
    nlp = enricher or Enricher.from_settings(settings)

    metrics = PipelineMetrics()
    lag_reader = LagReader(kafka)
    health = HealthState()

    async def send_all(topic: faust.TopicT, records: list[tuple[bytes | None, bytes]]) -> None:
        """Send and wait until the broker has every record (acks=all)."""
        futures = [await topic.send(key=key, value=value, force=True) for key, value in records]
        await asyncio.gather(*futures)

    def to_dlq(event: EventT, reason: str, stage: str, error: str) -> tuple[bytes | None, bytes]:
        msg = event.message
        log.warning("dead letter: %s at %s: %s", reason, stage, error, extra={
            "event": "dlq", "stage": stage, "reason": reason, "topic": msg.topic,
            "partition": msg.partition, "offset": msg.offset})
        metrics.dead_letter(stage, reason)
        record = dlq_record(msg.value, reason, stage, error, msg.topic, msg.partition, msg.offset)
        return msg.key, json.dumps(record, ensure_ascii=False).encode()

    @app.agent(raw, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(worker.enrich_batch_size, within=worker.enrich_batch_wait_s):
            started = time.monotonic()
            # Parsing and enrichment are CPU work: off the event loop, which keeps Kafka I/O moving.
            good, failed = await asyncio.to_thread(validate, events, settings)
            failed = [to_dlq(ev, *why) for ev, *why in failed]
            docs, errors = await asyncio.to_thread(enrich_articles, nlp, good)
            failed += [to_dlq(ev, "enrich_failed", "enrich", err) for ev, err in errors]
            await send_all(enriched, [(doc["id"].encode(), dumps_article(doc)) for doc in docs])
            await send_all(dlq, failed)
            for event in events:
                await stream.ack(event)
            metrics.batch("enrich", len(events), len(docs), time.monotonic() - started)

    @app.agent(enriched, name="index")
    async def index(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(worker.index_batch_size, within=worker.index_batch_wait_s):
            started = time.monotonic()
            docs: list[dict] = []
            by_id: dict[str, EventT] = {}
            failed = []
            for event in events:
                try:
                    doc = json.loads(event.message.value)
                    by_id[doc["id"]] = event
                    docs.append(doc)
                except (ValueError, KeyError, TypeError) as exc:
                    failed.append(to_dlq(event, "bad_enriched_record", "index", repr(exc)))
            rejected = await index_batch(search, docs, settings)
            for err in rejected:
                failed.append(to_dlq(by_id[err.doc_id], f"rejected_{err.status}", "index", err.reason))
            await send_all(dlq, failed)
            for event in events:
                await stream.ack(event)
            metrics.batch("index", len(events), len(events) - len(failed), time.monotonic() - started)
            bad = {err.doc_id for err in rejected}
            metrics.indexed([_age_s(doc) for doc in docs if doc["id"] not in bad])

    @app.timer(worker.metrics_interval_s, name="metrics")
    async def report_metrics() -> None:
        """Stage, DLQ and lag documents to the metrics alias; failures only log."""
        docs = metrics.take_documents()
        try:
            lags = await asyncio.wait_for(asyncio.to_thread(
                lag_reader.read, kafka.group_id, [kafka.topic_raw, kafka.topic_enriched]), 15)
            health.observe_lag(lags)
            docs += metrics.stamp(metrics.lag(kafka.group_id, lags), worker.metrics_interval_s)
        except Exception as exc:  # noqa: BLE001 - metrics must never break the worker
            log.warning("consumer lag not available: %s", exc, extra={"event": "metrics_error"})
        try:
            await asyncio.wait_for(asyncio.to_thread(search.write_metrics, docs), 15)
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics not written (%d docs dropped): %s", len(docs), exc,
                        extra={"event": "metrics_error"})

    @app.page("/metrics")
    async def prometheus(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        # aiohttp refuses a charset inside content_type, so the exposition type goes in as a header.
        return view.bytes(generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def health_page(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        report = await health.check(lag_reader, search)
        return view.json(report, status=200 if report["status"] == "ok" else 503)

    app.newsstreams = {"metrics": metrics, "search": search}  # for tests
    return app


def validate(events: list[EventT], settings: Settings) -> tuple[list[tuple[EventT, dict]], list[tuple]]:
    """Parse raw messages into clean articles; the rest becomes (event, reason, stage, error)."""
    good, failed = [], []
    for event in events:
        try:
            article = parse_raw(event.message.value, settings.limits)
        except InvalidArticle as exc:
            failed.append((event, exc.reason, "validate", exc.error))
            continue
        ts = event.message.timestamp  # seconds since the epoch, set by the producer or the broker
        article["pipeline"] = {"ingested_at": _iso(ts) if ts else utc_now_iso()}
        good.append((event, article))
    return good, failed


def enrich_articles(nlp: Enricher, items: list[tuple[EventT, dict]]) -> tuple[list[dict], list[tuple]]:
    """Enrich the batch at once (nlp.pipe); articles that fail come back as (event, error)."""
    if not items:
        return [], []
    try:
        return nlp.enrich_batch([article for _, article in items]), []
    except BatchEnrichError as exc:  # the Enricher already isolated the culprits
        docs = [doc for doc in exc.results if doc is not None]
        errors = [(items[i][0], f"{type(e).__name__}: {e}") for i, e in exc.failures.items()]
        return docs, errors
    except Exception as exc:  # noqa: BLE001 - a batch of one raises the article's own error
        return [], [(event, f"{type(exc).__name__}: {exc}") for event, _ in items]


async def index_batch(search: SearchBackend, docs: list[dict], settings: Settings) -> list[DocError]:
    """Index the batch; a request too large for the engine (413) is split in halves until it fits,
    and a single document that is still too large becomes a DocError (DLQ), not a stalled stream."""
    try:
        return await bulk_until_accepted(search, docs, settings)
    except SearchError as exc:  # only 413 gets here; everything else is retried inside
        if len(docs) == 1:
            return [DocError(docs[0]["id"], 413, f"too large for one bulk request: {exc}")]
        half = len(docs) // 2
        log.warning("bulk of %d docs too large for the engine; splitting", len(docs),
                    extra={"event": "split", "stage": "index", "docs": len(docs)})
        return (await index_batch(search, docs[:half], settings)
                + await index_batch(search, docs[half:], settings))


async def bulk_until_accepted(search: SearchBackend, docs: list[dict], settings: Settings) -> list:
    """One bulk request, repeated with backoff + jitter until the engine accepts it; never gives up.

    Transient errors (down, timeout, 429, 5xx) heal by themselves; a whole-request refusal (bad
    credentials, missing alias) needs an operator, and retrying keeps the batch rather than losing it.
    413 (request too large) is raised for ``index_batch`` to split. Per-document rejections are not
    errors here: they come back as DocErrors for the DLQ.
    """
    if not docs:
        return []
    worker = settings.worker
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, SearchError) and exc.status != 413),
        wait=wait_exponential_jitter(multiplier=worker.retry_backoff_initial_s, max=worker.retry_backoff_max_s),
        stop=stop_never,
        before_sleep=lambda state: log.warning(
            "bulk of %d docs not accepted (%s); retry %d in %.1fs",
            len(docs), state.outcome.exception(), state.attempt_number, state.next_action.sleep,
            extra={"event": "retry", "stage": "index", "attempt": state.attempt_number,
                   "docs": len(docs), "wait_s": round(state.next_action.sleep, 2)}),
        reraise=True,
    ):
        with attempt:
            indexed_at = utc_now_iso()
            for doc in docs:
                doc.setdefault("pipeline", {})["indexed_at"] = indexed_at
            return await asyncio.to_thread(search.bulk_index, docs)
    return []  # unreachable: stop_never


def _age_s(doc: dict) -> float:
    """Seconds from the moment the raw article reached Kafka until now."""
    ingested = doc.get("pipeline", {}).get("ingested_at")
    if not ingested:
        return 0.0
    return max(0.0, time.time() - datetime.fromisoformat(ingested.replace("Z", "+00:00")).timestamp())


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_worker(settings: Settings) -> None:
    """Run the Faust worker until stopped (topics and index must exist: `newsstreams setup`)."""
    from faust.worker import Worker

    from streams.logs import logging_config

    Worker(create_app(settings), loglevel=settings.log_level.lower(),
           logging_config=logging_config(settings),
           quiet=settings.log_format == "json",  # no banner: every line is a JSON object
           ).execute_from_commandline()


