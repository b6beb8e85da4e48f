"""Topic administration: create the pipeline's topics when missing (the broker does not auto-create them)."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.kafka.errors import KafkaUnavailable
from streams.settings import KafkaSettings

log = logging.getLogger(__name__)


def admin_client(kafka: KafkaSettings, attempts: int = 5, delay_s: float = 2.0) -> KafkaAdminClient:
    """An admin client, after at most ``attempts`` tries; ``KafkaUnavailable`` names the servers and cause."""
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            return KafkaAdminClient(
                bootstrap_servers=kafka.servers,
                request_timeout_ms=10000,
                bootstrap_timeout_ms=5000,
                client_id="newsstreams-admin",
            )
        except (KafkaError, OSError) as exc:
            last = exc
            if attempt < attempts:
                log.warning(
                    "Kafka at %s not reachable (%s); attempt %d/%d, retrying in %.0fs",
                    kafka.bootstrap_servers,
                    exc,
                    attempt,
                    attempts,
                    delay_s,
                )
                time.sleep(delay_s)
    raise KafkaUnavailable(
        f"Kafka at {kafka.bootstrap_servers} is not reachable after {attempts} attempts ({last}). "
        "Start it (newsstreams stack up) or set NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS."
    )


def ensure_topics(kafka: KafkaSettings, extra: list[str] | None = None) -> list[str]:
    """Create raw, enriched and DLQ topics (and ``extra`` ones, e.g. the alerts topic) where missing;
    return the names created."""
    admin = admin_client(kafka)
    try:
        existing = set(admin.list_topics())
        wanted = [kafka.topic_raw, kafka.topic_enriched, kafka.topic_dlq, *(extra or [])]
        missing = [
            NewTopic(
                name,
                num_partitions=kafka.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs={"max.message.bytes": str(kafka.max_message_bytes)},
            )
            for name in wanted
            if name not in existing
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


def max_message_bytes(kafka: KafkaSettings, topics: list[str]) -> int:
    """The smallest ``max.message.bytes`` of the topics as the broker has them (a topic created by
    someone else may allow less than we would), capped by ``kafka.max_message_bytes``."""
    admin = admin_client(kafka)
    try:
        found = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])["topic"]
    finally:
        admin.close()
    limits = [
        int(found.get(t, {}).get("max.message.bytes", {}).get("value") or kafka.max_message_bytes) for t in topics
    ]
    return min([kafka.max_message_bytes, *limits])
