"""Consumer lag: a group's committed offsets against the end offsets, as the broker sees them."""

from __future__ import annotations

import threading

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from streams.settings import KafkaSettings


class LagReader:
    """One admin client and one group-less consumer, reused; a lock because the metrics timer and the
    health endpoint may ask at the same time and kafka-python clients are not thread-safe.
    """

    def __init__(self, kafka: KafkaSettings):
        self.kafka = kafka
        self._admin: KafkaAdminClient | None = None
        self._consumer = None
        self._lock = threading.Lock()

    def _clients(self):
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.kafka.servers,
                request_timeout_ms=5000,
                bootstrap_timeout_ms=5000,
                client_id="newsstreams-lag",
            )
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.kafka.servers,
                enable_auto_commit=False,
                request_timeout_ms=5000,
                client_id="newsstreams-lag",
            )
        return self._admin, self._consumer

    def read(self, group: str, topics: list[str]) -> dict[tuple[str, int], tuple[int, int]]:
        """(topic, partition) -> (committed, end_offset); an uncommitted partition counts from its start."""
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
        return {
            (tp.topic, tp.partition): (committed[tp] if committed.get(tp, -1) >= 0 else starts[tp], ends[tp])
            for tp in tps
        }

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
