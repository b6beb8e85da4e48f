"""The hostile corpus (``hostile.py``) through the real pipeline: one worker process, topics of its own.

Every message is accounted for: it ends as exactly one indexed document or exactly one dead letter
with the expected reason (a dead letter is matched to its message by topic/partition/offset), nothing
else is indexed or dead-lettered, and valid articles sent afterwards to every partition are indexed:
no poison message stalled an agent.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest
from hostile import INDEXED, Case, corpus
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2
from kafka.producer.future import RecordMetadata

from streams.contracts.article import InvalidArticle, parse_raw
from streams.kafka.consumer import read_all

pytestmark = pytest.mark.integration

ACCOUNTING_TIMEOUT_S = 150


def _expected_id(case: Case) -> str | None:
    """The document id a case that should be indexed gets (None if the contract refuses it)."""
    try:
        if case.topic == "enriched":
            return json.loads(case.value)["id"]  # type: ignore[arg-type]
        return parse_raw(case.value)["id"]
    except (InvalidArticle, ValueError, TypeError, KeyError):
        return None


def _send(pipeline, topic: str, cases: list[Case]) -> list[RecordMetadata]:
    """The cases' messages, with their keys and timestamps; where each one landed."""
    producer = KafkaProducer(
        bootstrap_servers=pipeline.settings.kafka.bootstrap_servers, acks="all", max_request_size=4 * 1024 * 1024
    )
    futures = [producer.send(topic, key=c.key, value=c.value, timestamp_ms=c.timestamp_ms) for c in cases]
    producer.flush(timeout=60)
    producer.close()
    return [f.get(timeout=0) for f in futures]


def _keys_for_every_partition(partitions: int, prefix: str) -> list[bytes]:
    """One key per partition under the producer's default partitioner."""
    keys: dict[int, bytes] = {}
    i = 0
    while len(keys) < partitions:
        key = f"{prefix}-{i}".encode()
        keys.setdefault((murmur2(key) & 0x7FFFFFFF) % partitions, key)
        i += 1
    return [keys[p] for p in range(partitions)]


def _all_ids(pipeline) -> list[str]:
    pipeline.backend.refresh()
    hits = pipeline.backend.search({"query": {"match_all": {}}, "size": 1000, "_source": False})["hits"]["hits"]
    return [h["_id"] for h in hits]


def _table(cases: list[Case], observed: dict[str, list[str]]) -> str:
    lines = ["| kind | group | topic | expected | observed |", "| --- | --- | --- | --- | --- |"]
    for c in cases:
        got = ", ".join(observed[c.kind]) or "(nothing)"
        mark = "" if observed[c.kind] == [c.expect] else " **MISMATCH**"
        lines.append(f"| {c.kind} | {c.group} | {c.topic} | {c.expect} | {got}{mark} |")
    return "\n".join(lines)


def test_every_hostile_message_ends_as_one_document_or_one_dead_letter(pipeline) -> None:
    kafka = pipeline.settings.kafka
    cases = corpus()
    raw = [c for c in cases if c.topic == "raw"]
    enriched = [c for c in cases if c.topic == "enriched"]
    by_offset: dict[tuple[str, int, int], Case] = {}
    sent = _send(pipeline, kafka.topic_raw, raw) + _send(pipeline, kafka.topic_enriched, enriched)
    for case, meta in zip(raw + enriched, sent, strict=True):
        by_offset[(meta.topic, meta.partition, meta.offset)] = case
    by_id = {_expected_id(c): c for c in cases if c.expect == INDEXED}  # None: reported as missing

    started = time.monotonic()
    pipeline.start_worker()  # after producing: the whole corpus arrives as one batch per agent
    deadline = started + ACCOUNTING_TIMEOUT_S
    while time.monotonic() < deadline:
        assert pipeline.proc.poll() is None, f"worker died:\n{pipeline.worker_log()}"
        if len(_all_ids(pipeline)) + len(read_all(kafka, kafka.topic_dlq)) >= len(cases):
            break
        time.sleep(1)
    accounted_s = time.monotonic() - started

    # Valid articles after the corpus, to every partition of both topics: nothing is stalled.
    sentinels = [
        json.dumps({"title": f"Sentinel {i}", "body": f"Na de aanval: Poetin en Macron, bericht {i}."}).encode()
        for i in range(kafka.partitions)
    ]
    metas = pipeline.produce_raw(sentinels, keys=_keys_for_every_partition(kafka.partitions, "sentinel"))
    assert {m.partition for m in metas} == set(range(kafka.partitions))
    direct = [
        json.dumps({"id": f"sentinel-enriched-{i}", "title": "Sentinel", "body": "b"}).encode()
        for i in range(kafka.partitions)
    ]
    keys = _keys_for_every_partition(kafka.partitions, "direct")
    pipeline.produce_raw(direct, topic=kafka.topic_enriched, keys=keys)
    sentinel_ids = {parse_raw(s)["id"] for s in sentinels} | {f"sentinel-enriched-{i}" for i in range(kafka.partitions)}
    deadline, stalled = time.monotonic() + 90, sentinel_ids
    while stalled and time.monotonic() < deadline:
        time.sleep(1)
        stalled = sentinel_ids - set(_all_ids(pipeline))
    time.sleep(2)  # anything late or duplicated lands now

    observed: dict[str, list[str]] = defaultdict(list)
    strays: list[str] = []
    for message in read_all(kafka, kafka.topic_dlq):
        record = json.loads(message.value)
        case = by_offset.get((record["topic"], record["partition"], record["offset"]))
        if case is None:  # e.g. an index refusal of a document the worker enriched from a raw case
            strays.append(f"dead letter {record['reason']} for {record['topic']}:{record['offset']}: {record['error']}")
        else:
            observed[case.kind].append(record["reason"])
    for doc_id in _all_ids(pipeline):
        if doc_id in by_id:
            observed[by_id[doc_id].kind].append(INDEXED)
        elif doc_id not in sentinel_ids:
            strays.append(f"document {doc_id!r}")
    table = _table(cases, observed)
    print(f"\nhostile corpus: {len(cases)} messages accounted for in {accounted_s:.1f}s\n{table}")
    assert all(observed[c.kind] == [c.expect] for c in cases) and not strays and not stalled, (
        f"{table}\nstrays: {strays}\nsentinels not indexed: {stalled}\nworker log:\n{pipeline.worker_log()}"
    )

    # The mention cap: 60,000 mentions, 1,000 kept, the total recorded.
    names = next(c for c in cases if c.kind == "names-30000x")
    doc = pipeline.backend.get(_expected_id(names))
    assert doc["entity_count"] == 60_000 and len(doc["entities"]) == pipeline.settings.enrich.max_entities
    assert accounted_s < ACCOUNTING_TIMEOUT_S
