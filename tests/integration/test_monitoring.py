"""Monitoring on the real stack: metrics documents, /metrics, /health, JSON logs without secrets."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from streams.ops.stack import Stack
from streams.search import make_backend


def _article(i: int) -> dict:
    return {
        "id": f"m-{i:04d}",
        "title": f"Bericht {i} over de NAVO",
        "body": f"Poetin en Macron spraken in Moskou. Bericht {i}.",
    }


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:  # not listening yet
        return 0, b""


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _monitored(pipeline) -> str:
    alias = f"metrics-{pipeline.settings.search.alias}"
    pipeline.env.update({"NEWSSTREAMS_WORKER__METRICS_INTERVAL_S": "1", "NEWSSTREAMS_SEARCH__METRICS_ALIAS": alias})
    return alias


def test_metrics_documents_add_up_and_lag_returns_to_zero(pipeline) -> None:
    alias = _monitored(pipeline)
    pipeline.produce_raw([json.dumps(_article(i)).encode() for i in range(200)] + [b"not json"])
    pipeline.start_worker()
    pipeline.wait_for_count(200)
    metrics = make_backend(pipeline.settings.search.model_copy(update={"metrics_alias": alias}))

    def totals() -> dict | None:
        metrics.client.indices.refresh(index=alias)
        body = {
            "size": 0,
            "query": {"term": {"kind": "stage"}},
            "aggs": {
                "stage": {
                    "terms": {"field": "stage"},
                    "aggs": {"in": {"sum": {"field": "articles_in"}}, "out": {"sum": {"field": "articles_out"}}},
                }
            },
        }
        buckets = metrics.client.search(index=alias, body=body)["aggregations"]["stage"]["buckets"]
        got = {b["key"]: (b["in"]["value"], b["out"]["value"]) for b in buckets}
        return got if got.get("index") == (200, 200) else None

    got = _wait(totals, 60, "index counters to reach 200")
    assert got["enrich"] == (201, 200)  # one record was not JSON: in, but not out

    def lag_zero() -> bool:
        metrics.client.indices.refresh(index=alias)
        body = {"size": 50, "query": {"term": {"kind": "lag"}}, "sort": [{"@timestamp": "desc"}]}
        hits = [h["_source"] for h in metrics.client.search(index=alias, body=body)["hits"]["hits"]]
        latest = {(h["topic"], h["partition"]): h["lag"] for h in hits[::-1]}  # newest wins
        return bool(latest) and all(v == 0 for v in latest.values())

    _wait(lag_zero, 60, "consumer lag to return to 0")
    dlq = metrics.client.search(index=alias, body={"query": {"term": {"kind": "dlq"}}})["hits"]["hits"]
    assert [h["_source"]["reason"] for h in dlq] == ["not_json"]
    for name in metrics.client.indices.get(index=f"{alias}-*"):
        metrics.client.indices.delete(index=name)


def test_prometheus_and_health_endpoints(pipeline) -> None:
    _monitored(pipeline)
    pipeline.start_worker()
    base = f"http://127.0.0.1:{pipeline.settings.worker.web_port}"
    _wait(lambda: _get(base + "/health")[0] == 200, 90, "/health to answer 200")
    pipeline.produce_raw([json.dumps(_article(i)).encode() for i in range(20)])
    pipeline.wait_for_count(20)

    status, text = _get(base + "/metrics")
    assert status == 200
    lines = text.decode().splitlines()
    assert 'newsstreams_articles_out_total{stage="index"} 20.0' in lines
    assert any(line.startswith("newsstreams_produce_to_indexed_seconds_count") for line in lines)

    stack = Stack(pipeline.settings.stack, say=lambda m: None)
    stack.down(["opensearch"])
    try:
        status, body = _wait(lambda: (r := _get(base + "/health"))[0] == 503 and r, 30, "unhealthy")
        report = json.loads(body)
        assert report["status"] == "unhealthy" and not report["checks"]["search"]["ok"]
        assert report["checks"]["kafka"]["ok"]
    finally:
        stack.up()
    _wait(lambda: _get(base + "/health")[0] == 200, 60, "healthy again")


def test_json_logs_carry_dlq_events_and_no_secret(pipeline) -> None:
    secret = "s3cr3t-Pa55word-for-test"
    pipeline.env.update(
        {
            "NEWSSTREAMS_LOG_FORMAT": "json",
            "NEWSSTREAMS_SEARCH__PASSWORD": secret,
            "NEWSSTREAMS_SEARCH__USERNAME": "admin",
            "NEWSSTREAMS_SEARCH__API_KEY": secret + "-key",
        }
    )
    pipeline.produce_raw([b"not json", json.dumps(_article(1)).encode()])
    pipeline.start_worker()
    pipeline.wait_for_count(1)
    pipeline.stop_worker()
    text = pipeline.log.read_text()
    assert secret not in text
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    assert events, text[-2000:]
    dlq = [e for e in events if e.get("event") == "dlq"]
    assert len(dlq) == 1 and dlq[0]["reason"] == "not_json" and dlq[0]["stage"] == "validate"
    assert dlq[0]["offset"] == 0 and dlq[0]["level"] == "WARNING"
