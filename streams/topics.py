"""Create the pipeline's topics when missing (the broker does not auto-create them)."""

from __future__ import annotations

import logging
import threading
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.settings import KafkaSettings

log = logging.getLogger(__name__)

# An enriched article (1 MB body + entities) or a DLQ record (payload + base64) exceeds Kafka's 1 MiB default.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class BrokerUnavailable(RuntimeError):
    pass


def admin_client(kafka: KafkaSettings, attempts: int = 5, delay_s: float = 2.0) -> KafkaAdminClient:
    """An admin client, after at most ``attempts`` tries; BrokerUnavailable names the servers and cause."""
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return KafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=10000,
                                    bootstrap_timeout_ms=5000, client_id="newsstreams-admin")
        except (KafkaError, OSError) as exc:
            last = exc
            if attempt < attempts:
                log.warning("Kafka at %s not reachable (%s); attempt %d/%d, retrying in %.0fs",
                            kafka.bootstrap_servers, exc, attempt, attempts, delay_s)
                time.sleep(delay_s)
    raise BrokerUnavailable(
        f"Kafka at {kafka.bootstrap_servers} is not reachable after {attempts} attempts ({last}). "
        "Start it (newsstreams stack up) or set NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS."
    )


def ensure_topics(kafka: KafkaSettings) -> list[str]:
    """Create raw, enriched and DLQ topics where missing; return the names created."""
    admin = admin_client(kafka)
    try:
        existing = set(admin.list_topics())
        wanted = [kafka.topic_raw, kafka.topic_enriched, kafka.topic_dlq]
        missing = [
            NewTopic(name, num_partitions=kafka.partitions, replication_factor=kafka.replication_factor,
                     topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
            for name in wanted if name not in existing
        ]
        created = []
        for topic in missing:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:  # another worker won the race
                pass
        if created:
            log.info("created topics %s with %d partitions", ", ".join(created), kafka.partitions)
        return created
    finally:
        admin.close()


class LagReader:
    """Committed offsets of a consumer group against the end offsets, as the broker sees them.

    One admin client and one group-less consumer, reused; a lock because the metrics timer and the
    health endpoint may ask at the same time and kafka-python clients are not thread-safe.
    """

    def __init__(self, kafka: KafkaSettings):
        self.kafka = kafka
        self._admin: KafkaAdminClient | None = None
        self._consumer = None
        self._lock = threading.Lock()

    def _clients(self):
        from kafka import KafkaConsumer

        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers,
                                           request_timeout_ms=5000, bootstrap_timeout_ms=5000,
                                           client_id="newsstreams-lag")
            self._consumer = KafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers,
                                           enable_auto_commit=False, request_timeout_ms=5000,
                                           client_id="newsstreams-lag")
        return self._admin, self._consumer

    def read(self, group: str, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(topic, partition) -> (committed, end_offset); an uncommitted partition counts from its start."""
        from kafka import TopicPartition

        with self._lock:
            try:
                admin, consumer = self._clients()
                tps = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
                committed = {tp: meta.offset for tp, meta in admin.list_group_offsets({group: None})[group].items()}
                ends = consumer.end_offsets(tps)
                starts = consumer.beginning_offsets([tp for tp in tps if committed.get(tp, -1) < 0])
            except Exception:
                self.close_unlocked()  # reconnect from scratch next time
                raise
        return {(tp.topic, tp.partition): (committed[tp] if committed.get(tp, -1) >= 0 else starts[tp], ends[tp])
                for tp in tps}

    def ping(self) -> None:
        with self._lock:
            try:
                self._clients()[0].list_topics()
            except Exception:
                self.close_unlocked()
                raise

    def close_unlocked(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: BLE001, S110 - closing a broken client
                    pass
        self._admin = self._consumer = None
