"""Reading topics outside any consumer group, without ever creating one (the CLI and tools).

Auto-created topics get the broker's default partition count, and a typo should fail loudly, so
these helpers only ask for metadata of *all* topics, which never triggers auto-creation.
"""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.kafka.errors import KafkaUnavailable, MissingTopic, unreachable
from streams.settings import KafkaSettings


def open_consumer(kafka: KafkaSettings, *, timeout_s: float = 10.0, **config) -> KafkaConsumer:
    """A consumer outside any group (no offsets are ever committed) that creates no topics."""
    try:
        return KafkaConsumer(
            bootstrap_servers=kafka.servers,
            client_id="newsstreams-cli",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            bootstrap_timeout_ms=int(timeout_s * 1000),
            request_timeout_ms=int(max(timeout_s, 5) * 1000) + 1000,
            **config,
        )
    except (KafkaError, OSError) as exc:
        raise unreachable(kafka.bootstrap_servers, timeout_s, exc) from exc


def partitions(consumer: KafkaConsumer, topic: str, kafka: KafkaSettings) -> list[TopicPartition]:
    """The topic's partitions; ``MissingTopic`` if it does not exist."""
    try:
        found = consumer.topics()  # all-topics metadata: never auto-creates
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot list topics on Kafka at {kafka.bootstrap_servers}: {exc}") from exc
    if topic not in found:
        raise MissingTopic(topic, kafka.bootstrap_servers)
    ids = consumer.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(ids)]


def require_topic(kafka: KafkaSettings, topic: str, *, timeout_s: float = 10.0) -> None:
    """Fail fast (``KafkaUnavailable`` / ``MissingTopic``) instead of a producer's metadata wait."""
    consumer = open_consumer(kafka, timeout_s=timeout_s)
    try:
        partitions(consumer, topic, kafka)
    finally:
        consumer.close()


def read_all(kafka: KafkaSettings, topic: str, *, timeout_s: float = 60.0) -> list:
    """Every record in ``topic`` when called (up to the end offsets taken at the start), oldest
    offset first per partition; ``KafkaUnavailable`` when that takes longer than ``timeout_s``."""
    consumer = open_consumer(kafka, auto_offset_reset="earliest")
    try:
        tps = partitions(consumer, topic, kafka)
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        consumer.seek_to_beginning(*tps)
        records: list = []
        pending = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise KafkaUnavailable(
                    f"reading {topic} from {kafka.bootstrap_servers} took longer than "
                    f"{timeout_s:g} s; {len(pending)} partition(s) unfinished"
                )
            for tp, messages in consumer.poll(timeout_ms=500).items():
                records += [m for m in messages if m.offset < ends[tp]]
            done = {tp for tp in pending if consumer.position(tp) >= ends[tp]}
            consumer.pause(*done)  # nothing that arrived after we started
            pending -= done
        return records
    finally:
        consumer.close()
