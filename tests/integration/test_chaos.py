"""Faults on the real stack while articles flow at a steady rate (keyless, without ids, so the worker
derives them): the worker SIGKILLed three times (once while the search engine is down), the search
engine SIGKILLed and kept down 30 s, the Kafka broker SIGKILLed and started again. Every article
must be indexed exactly once, none dead-lettered, and the worker healthy at the end without a
manual step.

This test kills the services of the stack the settings point at (in `make test`, the project's
stack), so it is marked ``chaos`` and runs after every other test (conftest.py), and the stack is
up again when it ends; `make chaos` runs the fault tests alone. Figures go to stderr, the terminal
summary and build/test-results/chaos.jsonl. CHAOS_ARTICLES / CHAOS_RATE change the flow.
"""

from __future__ import annotations

import os
import time
import uuid

import pytest
from faults import (
    Flow,
    Worker,
    count_or_none,
    dead_letters,
    indexed,
    log_lines_between,
    log_stamp,
    offsets,
    report,
    require_local_stack,
    settle,
    stack_cli,
    wait_until,
)

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]

ARTICLES = int(os.environ.get("CHAOS_ARTICLES", 5000))
RATE = float(os.environ.get("CHAOS_RATE", 50))
ENGINE_DOWN_S = 30


@pytest.fixture
def stack(pipeline):
    """The local stack the settings point at; back up (both services answering) after the test."""
    try:
        stack = require_local_stack(pipeline)
    except LookupError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the chaos tests need the local stack: {exc}")
        pytest.skip(f"the chaos tests kill the local stack's services: {exc}")
    try:
        yield stack
    finally:
        stack.up()


class Timeline:
    """What happened when, with the documents indexed and the group's committed/end offsets then."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.t0 = time.monotonic()
        self.events: list[str] = []

    def now(self) -> float:
        return time.monotonic() - self.t0

    def mark(self, what: str) -> None:
        state = f"{count_or_none(self.pipeline.backend)} indexed, {offsets(self.pipeline)}"
        self.events.append(f"{self.now():.0f}s {what} [{state}]")


def test_worker_engine_and_broker_killed_while_articles_flow(pipeline, stack) -> None:
    tag = uuid.uuid4().hex[:6]
    k = pipeline.settings.kafka
    worker = Worker(pipeline, "chaos")
    flow = Flow(k.bootstrap_servers, k.topic_raw, ARTICLES, RATE, tag)
    t = Timeline(pipeline)

    def progress(more: int = 40):
        """Wait until the index holds ``more`` documents beyond what it has now: the pipeline moves."""
        base = count_or_none(pipeline.backend) or 0
        return wait_until(
            f"{more} more documents indexed (from {base}) at {t.now():.0f}s; worker log:\n{worker.tail()}",
            lambda: (count_or_none(pipeline.backend) or 0) >= min(base + more, ARTICLES),
            timeout=180,
            on_wait=worker.assert_running,
        )

    def kill_worker(n: int) -> None:
        worker.kill()
        t.mark(f"worker SIGKILL #{n}")
        worker.start()

    worker.start()
    flow.start()
    t.mark("flow started")
    try:
        progress(100)
        kill_worker(1)
        progress()

        t.mark("broker SIGKILL")
        broker_down_from, broker_killed = log_stamp(), time.monotonic()
        stack_cli(pipeline, "stop", "kafka", "--kill")
        stack_cli(pipeline, "start", "kafka")
        broker_down_to, broker_outage = log_stamp(), time.monotonic() - broker_killed
        t.mark("broker answering again")
        progress()

        t.mark("engine SIGKILL")
        stack_cli(pipeline, "stop", "opensearch", "--kill")
        engine_killed = time.monotonic()
        time.sleep(ENGINE_DOWN_S / 3)
        # Killed while its index batch waits for the engine; restarted once the engine is back,
        # since a worker refuses to start without it (`newsstreams worker` sets the index up first).
        worker.kill()
        t.mark("worker SIGKILL #2 (engine down)")
        time.sleep(max(0.0, ENGINE_DOWN_S - (time.monotonic() - engine_killed)))
        stack_cli(pipeline, "start", "opensearch")
        t.mark(f"engine answering again after {ENGINE_DOWN_S}s down")
        worker.start()
        progress()

        kill_worker(3)
        last_fault = t.now()
        flow.finish()
        t.mark(f"flow done ({flow.acked} acked, {flow.resent} resent)")
        settle(pipeline, worker, ARTICLES)
        drained = t.now()
        t.mark("drained")
        time.sleep(3)  # room for a late duplicate to land
        count, ids, writes = indexed(pipeline.backend)
        dlq = dead_letters(pipeline)
        status, health = worker.wait_healthy(timeout=60)
        lines, per_logger, samples = log_lines_between(worker.log, broker_down_from, broker_down_to)
        figures = {
            "sent": flow.acked,
            "rate_per_s": RATE,
            "indexed": count,
            "unique_ids": len(ids),
            "missing": len(flow.ids - set(ids)),
            "ids_match_derived": set(ids) == flow.ids,
            "docs_by_writes": dict(sorted(writes.items())),
            "dlq": len(dlq),
            "health": status,
            "drain_s_after_last_fault": round(drained - last_fault, 1),
            "drain_s_after_first_send": round(drained, 1),
            "broker_outage_s": round(broker_outage, 1),
            "broker_outage_log_lines": lines,
            "broker_outage_log_lines_per_s": round(lines / broker_outage, 1),
            "timeline": "; ".join(t.events),
        }
        summary = report("chaos", figures)
        report("chaos: worker log lines while the broker was down", {**dict(per_logger), **samples})
        assert count == ARTICLES and len(ids) == ARTICLES, summary
        assert set(ids) == flow.ids, summary
        assert max(ids.values()) == 1, summary
        assert dlq == [], f"{summary}\nDLQ: {[r.value[:300] for r in dlq[:5]]}"
        assert status == 200, f"{summary}\n{health}"
    finally:
        worker.kill()
