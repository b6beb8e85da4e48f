"""Alerts exactly once across a worker SIGKILL: a flow of matching articles, the worker killed
mid-way and restarted; every (alert, article) key is on the alerts topic exactly once."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from faults import Flow, Worker, report, wait_until
from harness import Pipeline, _settings_from

from streams.kafka.consumer import read_all

pytestmark = pytest.mark.chaos  # SIGKILLs a worker: with the other fault tests, last

ARTICLES = int(os.environ.get("ALERTS_SIGKILL_ARTICLES", 600))
RATE = float(os.environ.get("ALERTS_SIGKILL_RATE", 20))
KILL_AT = (0.2, 0.45, 0.7)  # shares of the expected records on the topic when a worker is SIGKILLed
LEASE_S = 25.0  # a dead worker's claims are taken over after it (send timeout 10 s)


@pytest.fixture
def alerts_pipeline(tmp_path):
    """A pipeline (topics, alias, alerts topic and indices of its own: harness.Pipeline) with a lease
    short enough for a test."""
    pipeline = Pipeline(tmp_path)
    pipeline.env["NEWSSTREAMS_ALERTS__PENDING_LEASE_S"] = str(LEASE_S)
    pipeline.settings = _settings_from(pipeline.env)
    try:
        pipeline.setup()
        yield pipeline
    finally:
        pipeline.close()


PAUSE_S = {"before": 3, "after": 1}
PAUSE_DIR = Path(__file__).resolve().parent / "alerts_pause"


@pytest.mark.parametrize("pause", [None, "before", "after"])
def test_every_alert_exactly_once_across_a_worker_sigkill(alerts_pipeline: Pipeline, pause: str | None) -> None:
    """``pause``: the killed workers wait 3 s between claim and send ("before") or 1 s between the
    acknowledgement and marking sent ("after"; see alerts_pause/sitecustomize.py), so that the
    SIGKILLs land in those windows; the last worker runs without."""
    p = alerts_pipeline
    k, topic = p.settings.kafka, p.settings.alerts.topic
    tag = uuid.uuid4().hex[:6]
    for args in (["chaos", "--source", f"chaos-{tag}"], ["poetin", "Poetin", "--lang", "nl"]):
        result = p.cli("alerts", "add", *args)
        assert result.returncode == 0, result.stderr.decode()
    flow = Flow(k.bootstrap_servers, k.topic_raw, ARTICLES, RATE, tag)
    expected = {f"{alert}|{article_id}" for article_id in flow.ids for alert in ("chaos", "poetin")}
    workers = [Worker(p, f"w{i}") for i in range(len(KILL_AT) + 1)]
    clean_env = dict(p.env)
    if pause:
        pythonpath = os.pathsep.join(filter(None, [str(PAUSE_DIR), p.env.get("PYTHONPATH")]))
        p.env.update({"PYTHONPATH": pythonpath, "NEWSSTREAMS_TEST_ALERTS_PAUSE": f"{pause}:{PAUSE_S[pause]}"})
    at_kill = []
    try:
        workers[0].start()
        flow.start()
        t0 = time.monotonic()
        for i, share in enumerate(KILL_AT):
            worker = workers[i]
            wait_until(
                f"{share:.0%} of the alerts sent",
                lambda share=share: len(read_all(k, topic)) >= len(expected) * share,
                timeout=240,
                on_wait=worker.assert_running,
            )
            if pause == "before":
                time.sleep(1.0)  # the records just seen came out of a pause: kill inside the next one
            worker.kill()  # SIGKILL: mid-batch, wherever it is
            at_kill.append(f"{len(read_all(k, topic))}@{time.monotonic() - t0:.0f}s")
            if i + 1 == len(KILL_AT):
                p.env = clean_env  # the last worker: no pause
            workers[i + 1].start()
        last = workers[-1]
        killed = time.monotonic()
        flow.finish()
        wait_until(
            f"every alert on the topic; worker log:\n{last.tail()}",
            lambda: len(read_all(k, topic)) >= len(expected),
            timeout=300,
            every=1,
            on_wait=last.assert_running,
        )
        done = time.monotonic()
        time.sleep(5)  # room for a late duplicate
        keys = Counter(m.key.decode() for m in read_all(k, topic))
        logs = [w.log.read_text(errors="replace") for w in workers[1:]]
        figures = {
            "articles": ARTICLES,
            "alerts": 2,
            "expected_records": len(expected),
            "sigkills": len(KILL_AT),
            "records_at_each_kill": ",".join(at_kill),
            "pending_found_on_topic": sum(int(n) for t in logs for n in re.findall(r"(\d+) found on the topic", t)),
            "pending_sent_after_restart": sum(int(n) for t in logs for n in re.findall(r"(\d+) not: sending", t)),
            "records": sum(keys.values()),
            "distinct_keys": len(keys),
            "duplicates": sum(n - 1 for n in keys.values() if n > 1),
            "missing": len(expected - set(keys)),
            "unexpected": len(set(keys) - expected),
            "s_from_last_kill_to_all": round(done - killed, 1),
        }
        summary = report(f"alerts across a SIGKILL (pause: {pause})", figures)
        assert set(keys) == expected and set(keys.values()) == {1}, summary
    finally:
        for worker in workers:
            worker.kill()
