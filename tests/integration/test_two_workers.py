"""Two worker processes in one consumer group (same group id, topics and alias; web ports and data
dirs of their own) share the partitions; one is SIGKILLed mid-flow and the other takes its
partitions over: no article lost, none dead-lettered. Prints the takeover and drain times."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from faults import Flow, Worker, assignment, count_or_none, dead_letters, indexed, report, settle, wait_until

pytestmark = pytest.mark.chaos  # not the stack's services, but a fault test: with the others, last

ARTICLES = int(os.environ.get("TWO_WORKERS_ARTICLES", 3000))
RATE = float(os.environ.get("TWO_WORKERS_RATE", 50))


def test_two_workers_share_partitions_and_one_takes_over_when_the_other_is_killed(pipeline) -> None:
    k = pipeline.settings.kafka
    a, b = Worker(pipeline, "a"), Worker(pipeline, "b")
    every = sorted([f"raw-{p}" for p in range(k.partitions)] + [f"enriched-{p}" for p in range(k.partitions)])
    flow = Flow(k.bootstrap_servers, k.topic_raw, ARTICLES, RATE, uuid.uuid4().hex[:6])
    try:
        a.start()
        b.start()
        flow.start()
        t0 = time.monotonic()

        def both_hold_partitions():
            held = assignment(pipeline)
            ok = set(held) == {a.web_port, b.web_port} and sorted(held[a.web_port] + held[b.web_port]) == every
            return held if ok and all(held.values()) else None

        shared = wait_until("both workers holding a share of the partitions", both_hold_partitions, timeout=120)
        wait_until(
            "both workers indexing",
            lambda: a.indexed() > 0 and b.indexed() > 0 and (count_or_none(pipeline.backend) or 0) >= ARTICLES // 4,
            timeout=120,
            on_wait=lambda: (a.assert_running(), b.assert_running()),
        )
        by_a, by_b = a.indexed(), b.indexed()
        b.kill()
        killed = time.monotonic()
        count_at_kill = count_or_none(pipeline.backend)

        wait_until(
            f"worker a holding every partition; worker a log:\n{a.tail()}",
            lambda: assignment(pipeline) == {a.web_port: every},
            timeout=120,
            every=0.25,
            on_wait=a.assert_running,
        )
        takeover = time.monotonic() - killed
        flow.finish()
        settle(pipeline, a, ARTICLES)
        drained_at = time.monotonic()
        time.sleep(3)  # room for a late duplicate to land
        count, ids, writes = indexed(pipeline.backend)
        dlq = dead_letters(pipeline)
        status, health = a.wait_healthy(timeout=60)
        summary = report(
            "two workers",
            {
                "sent": flow.acked,
                "rate_per_s": RATE,
                "partitions_a": ",".join(shared[a.web_port]),
                "partitions_b": ",".join(shared[b.web_port]),
                "index_writes_a_before_kill": by_a,
                "index_writes_b_before_kill": by_b,
                "killed_at_s": round(killed - t0, 1),
                "indexed_at_kill": count_at_kill,
                "session_timeout_s": k.session_timeout_s,
                "takeover_s": round(takeover, 1),
                "drain_s_after_kill": round(drained_at - killed, 1),
                "flow_s": round(flow.finished_at - flow.started_at, 1),
                "drain_s_after_last_send": round(drained_at - flow.finished_at, 1),
                "indexed": count,
                "unique_ids": len(ids),
                "missing": len(flow.ids - set(ids)),
                "docs_by_writes": dict(sorted(writes.items())),
                "dlq": len(dlq),
                "health_a": status,
            },
        )
        assert count == ARTICLES and len(ids) == ARTICLES and set(ids) == flow.ids, summary
        assert dlq == [], f"{summary}\nDLQ: {[r.value[:300] for r in dlq[:5]]}"
        assert status == 200, f"{summary}\n{health}"
    finally:
        a.kill()
        b.kill()
