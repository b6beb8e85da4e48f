"""End to end on the real stack: CLI producer -> worker (Faust: enrich + index) -> OpenSearch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from streams.contracts.article import parse_raw
from streams.ops.stack import Stack

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_d6634ea9b322a4cb.txt"


def _article(i: int, **extra) -> dict:
    """No id: the worker derives it (from source, title and body), so tests of replays and
    duplicates test the derived id, not one the producer chose."""
    return {
        "source": "test",
        "title": f"Artikel {i} over Poetin en de NAVO",
        "body": f"Poetin sprak in Moskou met Macron over Oekraïne. Bericht nummer {i}.",
        **extra,
    }


def test_seed_becomes_searchable_with_entities(pipeline) -> None:
    pipeline.start_worker()
    result = pipeline.cli("produce", str(SEED), "--source", "nos.nl")
    assert result.returncode == 0, result.stderr.decode()
    pipeline.wait_for_count(1)
    hits = pipeline.backend.search({"query": {"match_all": {}}})["hits"]["hits"]
    doc = pipeline.backend.get(hits[0]["_id"])
    assert doc["language"] == "nl" and doc["source"] == "nos.nl"
    texts = {e["text"] for e in doc["entities"]}
    assert {"Poetin", "Macron", "Oekraïne", "NAVO"} <= texts, texts
    assert "Q7747" in doc["entity_ids"]
    for stamp in ("ingested_at", "enriched_at", "indexed_at"):
        assert doc["pipeline"][stamp].endswith("Z"), doc["pipeline"]
    assert doc["pipeline"]["ingested_at"] <= doc["pipeline"]["enriched_at"] <= doc["pipeline"]["indexed_at"]


def _id(article: dict) -> str:
    return parse_raw(json.dumps(article).encode())["id"]


def test_same_article_three_times_is_one_document(pipeline) -> None:
    # Raw messages without an id: the worker derives it. (`newsstreams produce` would send the id it
    # derived itself, so the worker's derivation would not be under test.)
    by_content = _article(1)
    by_url = {"url": "https://nos.nl/artikel/1", "title": "Poetin en Macron", "body": "Eerste versie."}
    assert "id" not in by_content and "id" not in by_url
    messages = [
        by_content,
        by_content,
        {**by_content, "title": f"  {by_content['title']} ", "body": f"<p>{by_content['body']}</p>"},  # same text
        by_url,
        {**by_url, "url": "https://NOS.nl/artikel/1#reacties"},  # same url after normalisation
        {**by_url, "body": "Tweede versie, gecorrigeerd."},  # an update of the same url
    ]
    pipeline.start_worker()
    # One key: one partition, so the update arrives after the first version.
    pipeline.produce_raw([json.dumps(m).encode() for m in messages], keys=[b"k"] * len(messages))
    pipeline.wait_for_count(2)
    time.sleep(3)  # give any duplicate time to land
    assert pipeline.count() == 2
    assert pipeline.backend.get(_id(by_content))["id"].startswith("h-")
    doc = pipeline.backend.get(_id(by_url))
    assert doc["id"].startswith("u-") and doc["body"] == "Tweede versie, gecorrigeerd."  # the last write wins
    pipeline.dlq(expected=0)


def test_invalid_inputs_go_to_dlq_and_do_not_stop_the_agent(pipeline) -> None:
    bad = [
        b"this is not json",
        json.dumps({"title": "no body"}).encode(),
        json.dumps({"title": ["a", "list"], "body": "text"}).encode(),
        json.dumps({"title": "huge", "body": "x" * 1_100_000}).encode(),
        '{"title": "caf\xe9", "body": "latin-1"}'.encode("latin-1"),
    ]
    pipeline.produce_raw(bad + [json.dumps(_article(1)).encode()])
    pipeline.start_worker()
    pipeline.wait_for_count(1)
    records = pipeline.dlq(expected=len(bad))
    assert len(records) == len(bad), records
    assert sorted(r["reason"] for r in records) == sorted(
        ["not_json", "missing_field", "wrong_type", "too_large", "not_utf8"]
    )
    for r in records:
        assert r["stage"] == "validate" and r["error"] and r["failed_at"]
        assert r["topic"] == pipeline.settings.kafka.topic_raw and r["offset"] >= 0
    assert pipeline.backend.get(_id(_article(1))) is not None


def test_search_engine_down_for_20s_loses_nothing(pipeline) -> None:
    stack = Stack(pipeline.settings.stack, say=lambda m: None)
    pipeline.start_worker()
    pipeline.produce_raw([json.dumps(_article(i)).encode() for i in range(50)])
    pipeline.wait_for_count(50)
    stack.down(["opensearch"])
    try:
        pipeline.produce_raw([json.dumps(_article(i)).encode() for i in range(50, 150)])
        time.sleep(20)
    finally:
        stack.up()
    assert pipeline.wait_for_count(150, timeout=180) == 150
    assert "retry" in pipeline.log.read_text()
    assert pipeline.dlq(expected=0, timeout=3) == []


def test_sigkill_mid_batch_then_restart_gives_500_unique_docs(pipeline) -> None:
    # Small batches, so that the kill lands while some are indexed and others are in flight.
    pipeline.env.update({"NEWSSTREAMS_WORKER__ENRICH_BATCH_SIZE": "10", "NEWSSTREAMS_WORKER__INDEX_BATCH_SIZE": "20"})
    pipeline.produce_raw([json.dumps(_article(i)).encode() for i in range(500)])
    pipeline.start_worker()
    deadline = time.monotonic() + 120
    while pipeline.count() < 50 and time.monotonic() < deadline:  # kill while batches are in flight
        time.sleep(0.2)
    indexed_before_kill = pipeline.count()
    pipeline.stop_worker(signal.SIGKILL)
    assert 0 < indexed_before_kill < 500, indexed_before_kill
    pipeline.start_worker()
    assert pipeline.wait_for_count(500, timeout=180) == 500
    time.sleep(2)
    assert pipeline.count() == 500


def test_worker_without_broker_exits_with_the_reason() -> None:
    """Bounded retries, then a non-zero exit that names the servers (no traceback)."""
    env = {**os.environ, "NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "streams", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "127.0.0.1:1 is not reachable after 5 attempts" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
