r"""The Faust app: two agents joined by a topic.

    articles.raw --enrich--> articles.enriched --index (stories)--> search engine
           \                                         \--alerts--> articles.alerts
            \__________________________ articles.dlq <______/

Each agent takes a batch, runs its stage (``stages``, isolated per record by ``delivery.isolated``),
delivers outputs and dead letters, and only then acknowledges the batch: a crash or SIGKILL replays
it instead of losing it. Writes are idempotent (``_id`` = article id), which turns at-least-once
delivery into an exactly-once effect in the index.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import faust
from faust.types import EventT

from streams.alerts.stage import alerts_stage_for
from streams.enrich import Enricher
from streams.search import SearchBackend, make_backend
from streams.settings import Settings
from streams.worker import stages
from streams.worker.delivery import Deliver, index_documents, isolated
from streams.worker.enrich_process import EnrichProcess
from streams.worker.heap import HeapFreezer
from streams.worker.metrics import PipelineMetrics
from streams.worker.monitor import add_monitoring
from streams.worker.stories import StoryStep

ENVELOPE_BYTES = 64 * 1024  # producer batch overhead and headers below the broker's message limit


def create_app(settings: Settings, search: SearchBackend | None = None, enricher: Enricher | None = None) -> faust.App:
    kafka, worker = settings.kafka, settings.worker
    app = faust.App(
        kafka.group_id,  # the app id is the consumer group: more workers with it share partitions
        broker=[f"kafka://{server}" for server in kafka.servers],
        web_port=worker.web_port,
        web_host=worker.web_host or "127.0.0.1",
        datadir=str(worker.data_dir),
        producer_acks=-1,
        producer_max_request_size=kafka.max_message_bytes,
        producer_max_batch_size=1024 * 1024,  # an enriched article is ~10 KB: not one request per record
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=min(3.0, kafka.session_timeout_s / 3),
        topic_replication_factor=kafka.replication_factor,
    )
    raw, enriched, dlq = (
        app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        for name in (kafka.topic_raw, kafka.topic_enriched, kafka.topic_dlq)
    )
    search = search or make_backend(settings.search)
    metrics = PipelineMetrics()
    deliver = Deliver(dlq, worker, metrics, kafka.max_message_bytes)
    enrich_batch = enrich_runner(settings, kafka.max_message_bytes - ENVELOPE_BYTES, enricher)
    stories = StoryStep(search, settings.stories, worker)
    alerts = alerts_stage_for(settings, search, metrics.registry)

    async def index_batch(records: Sequence[stages.Record]) -> stages.Outcome:
        items, dead = await asyncio.to_thread(stages.read_enriched, records)
        docs = [d for _, d in items]
        await stories(docs)
        outcome = stages.index_outcome(items, await index_documents(search, docs, worker))
        outcome.dead += dead
        return outcome

    @app.agent(raw, name="enrich")
    async def enrich(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(worker.enrich_batch_size, within=worker.enrich_batch_wait_s):
            started = time.monotonic()
            outcome = await isolated("enrich", as_records(events), enrich_batch, worker)
            await deliver(outcome, to=enriched)
            await ack(stream, events)
            metrics.batch("enrich", len(events), len(outcome.passed), time.monotonic() - started)

    @app.agent(enriched, name="index")
    async def index(stream: faust.StreamT) -> None:
        # A batch's alerts run while the next batch is looked up and indexed; one batch at a time
        # is in flight, so acknowledgements stay in order. Acked only after its alerts are delivered.
        in_flight: asyncio.Task | None = None

        async def alert_then_ack(events: list[EventT], passed: list[dict], started: float) -> None:
            await alerts(passed)  # retried until delivered: never a dead letter
            await ack(stream, events)
            metrics.batch("index", len(events), len(passed), time.monotonic() - started)

        try:
            async for events in stream.noack_take(worker.index_batch_size, within=worker.index_batch_wait_s):
                started = time.monotonic()
                outcome = await isolated("index", as_records(events), index_batch, worker)
                await deliver(outcome)
                metrics.indexed(outcome.passed)
                if in_flight is not None:
                    await in_flight
                in_flight = asyncio.create_task(alert_then_ack(events, outcome.passed, started))
        finally:
            if in_flight is not None:
                await in_flight

    add_monitoring(app, settings, metrics, search)
    return app


def enrich_runner(
    settings: Settings, budget_bytes: int, enricher: Enricher | None = None
) -> Callable[[Sequence[stages.Record]], Awaitable[stages.Outcome]]:
    """The enrich stage as the agent awaits it: in a child process (``worker.enrich_process``, see
    ``enrich_process``), or, with an Enricher given or the setting off, in a thread of this one."""
    if enricher is None and settings.worker.enrich_process:
        process = EnrichProcess(settings, budget_bytes)
        process.start()
        return process
    enricher = enricher or Enricher.from_settings(settings)
    stage = partial(
        stages.enrich, limits=settings.limits, enrich_batch=enricher.enrich_batch, budget_bytes=budget_bytes
    )
    heap = HeapFreezer()

    async def in_thread(records: Sequence[stages.Record]) -> stages.Outcome:
        outcome = await asyncio.to_thread(stage, records)  # off the event loop, though not off the GIL
        heap.after_batch(outcome.passed)  # the first batch, and any that built a pipeline
        return outcome

    return in_thread


def as_records(events: list[EventT]) -> list[stages.Record]:
    return [
        stages.Record(
            e.message.key, e.message.value, e.message.topic, e.message.partition, e.message.offset, e.message.timestamp
        )
        for e in events
    ]


async def ack(stream: faust.StreamT, events: list[EventT]) -> None:
    for event in events:
        await stream.ack(event)


def run_worker(settings: Settings) -> None:
    """Run the Faust worker until stopped (topics and index must exist: `newsstreams setup`)."""
    from faust.worker import Worker

    from streams.logs import logging_config

    app = create_app(settings)
    HeapFreezer().freeze()  # the worker's own long-lived objects (imports, clients, the app) too
    Worker(
        app,
        loglevel=settings.log_level.lower(),
        logging_config=logging_config(settings),
        quiet=settings.log_format == "json",  # no banner: every line is a JSON object
    ).execute_from_commandline()
