"""Bounded records on the real stack: an enriched record over the topic's limit is dead-lettered with its
raw payload, the partition goes on, and a replay after the limit is raised indexes it."""

from __future__ import annotations

import json

from harness import Pipeline
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

SMALL_LIMIT = 100_000  # bytes; the worker's record budget is this minus its 64 KiB envelope


def _article(i: int, body_words: int) -> dict:
    return {
        "url": f"https://example.org/bounded/{i}",
        "title": f"Poetin en Macron {i}",
        "body": "Poetin sprak met Macron in Moskou. " * body_words,
    }


def test_record_over_the_topic_limit_goes_to_the_dlq_and_replays_after_the_limit_is_raised(tmp_path) -> None:
    p = Pipeline(tmp_path)
    k = p.settings.kafka
    admin = KafkaAdminClient(bootstrap_servers=k.servers)
    try:
        # Someone created the enriched topic with a lower limit than ours: setup keeps it as it is.
        admin.create_topics([NewTopic(k.topic_enriched, 4, 1, topic_configs={"max.message.bytes": str(SMALL_LIMIT)})])
        p.setup()
        big, small = _article(1, 1_500), _article(2, 3)  # ~52 KB raw, far more once enriched
        p.start_worker()
        p.produce_raw([json.dumps(big).encode(), json.dumps(small).encode()])
        p.wait_for_count(1)
        [dead] = p.dlq(expected=1)
        assert dead["reason"] == "too_large_enriched" and dead["stage"] == "enrich", dead
        assert json.loads(dead["payload"]) == big  # the raw article, whole: replayable
        assert "budget" in dead["error"]

        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, k.topic_enriched, configs={"max.message.bytes": str(k.max_message_bytes)}
                )
            ]
        )
        p.stop_worker()
        p.start_worker()  # reads the topics' limits at start
        replay = p.cli("dlq", "replay", "--reason", "too_large_enriched")
        assert replay.returncode == 0, replay.stderr.decode()
        p.wait_for_count(2)
        doc = p.backend.get(p.backend.search({"query": {"match": {"title": "1"}}})["hits"]["hits"][0]["_id"])
        assert doc["entity_count"] > 1000 and len(doc["entities"]) == 1000  # capped, total kept
    finally:
        admin.close()
        p.close()
