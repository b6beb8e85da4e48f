"""Produce clean articles to ``articles.raw`` (and raw bytes anywhere, for DLQ replay).

Durability over latency: ``acks=all`` with the idempotent producer, so kafka-python's internal
retries can never write an article twice. Messages are keyed by article id: the same article
always lands in the same partition, and the index overwrites rather than duplicates it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sized
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from streams.contracts.article import dumps_article
from streams.kafka.errors import KafkaUnavailable, unreachable
from streams.settings import KafkaSettings

# A 1 MB body (the default limit) plus JSON escapes and meta must fit; the broker checks the
# compressed batch against its own message.max.bytes (1 MiB by default), hence gzip below.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

ProgressCallback = Callable[[int, int | None], None]


@dataclass
class SendReport:
    delivered: int = 0
    # (article id, error) for records the broker refused (e.g. too large); the rest were acked.
    failed: list[tuple[str, str]] = field(default_factory=list)


class ArticleProducer:
    def __init__(
        self,
        kafka: KafkaSettings | None = None,
        *,
        topic: str | None = None,
        connect_timeout_s: float = 10.0,
        delivery_timeout_s: float = 60.0,
        linger_ms: int = 20,
        batch_size: int = 256 * 1024,
        compression_type: str | None = "gzip",
        allow_auto_create_topics: bool = False,
        **overrides: Any,
    ):
        """``allow_auto_create_topics`` is off: an auto-created topic gets the broker's default
        partition count, not ours, and a typo in a topic name should fail loudly."""
        self.kafka = kafka or KafkaSettings()
        self.topic = topic or self.kafka.topic_raw
        self.servers = self.kafka.bootstrap_servers
        self.connect_timeout_s = connect_timeout_s
        self.delivery_timeout_s = delivery_timeout_s
        config = {
            "bootstrap_servers": self.kafka.servers,
            "client_id": "newsstreams-ingest",
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": linger_ms,
            "batch_size": batch_size,
            "compression_type": compression_type,
            "max_request_size": MAX_REQUEST_BYTES,
            "allow_auto_create_topics": allow_auto_create_topics,
            "bootstrap_timeout_ms": int(connect_timeout_s * 1000),
            "max_block_ms": int(connect_timeout_s * 1000),  # metadata waits in send()
            "request_timeout_ms": min(30_000, int(delivery_timeout_s * 1000) - linger_ms - 1),
            "delivery_timeout_ms": int(delivery_timeout_s * 1000),
        }
        config.update(overrides)
        try:
            self._producer = KafkaProducer(**config)
        except (KafkaError, OSError) as exc:
            raise unreachable(self.servers, connect_timeout_s, exc) from exc
        # kafka-python 3.0.12 does not pass allow_auto_create_topics on to its cluster metadata,
        # so metadata requests would still create missing topics; set it where it is read.
        metadata_config = getattr(getattr(self._producer, "_metadata", None), "config", None)
        if isinstance(metadata_config, dict):
            metadata_config["allow_auto_create_topics"] = config["allow_auto_create_topics"]

    def __enter__(self) -> ArticleProducer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _send(self, topic: str, key: bytes | None, value: bytes | None, headers=None):
        try:
            return self._producer.send(topic, key=key, value=value, headers=headers)
        except KafkaTimeoutError as exc:
            # Metadata never came: broker gone or topic missing.
            raise KafkaUnavailable(
                f"topic {topic!r} is not available on {self.servers} after "
                f"{self.connect_timeout_s:g} s ({exc}); does the topic exist?"
            ) from exc

    def send(self, article: Mapping[str, Any]):
        """Queue one clean article (see ``streams.contracts.article.clean_article``); returns its future."""
        return self._send(self.topic, str(article["id"]).encode("utf-8"), dumps_article(article))

    def send_many(
        self,
        articles: Iterable[Mapping[str, Any]],
        on_progress: ProgressCallback | None = None,
        *,
        chunk: int = 1000,
    ) -> SendReport:
        """Send all and wait until each is acknowledged. ``on_progress(delivered, total)`` is
        called after each acknowledgement (``total`` is None for an iterator). Records the
        broker refuses are reported in ``SendReport.failed``; an unreachable broker raises."""
        total = len(articles) if isinstance(articles, Sized) else None
        report = SendReport()
        pending: list[tuple[str, Any]] = []
        for article in articles:
            pending.append((str(article["id"]), self.send(article)))
            if len(pending) >= chunk:  # bounded memory and steady progress on big inputs
                self._drain(pending, report, on_progress, total)
        self._drain(pending, report, on_progress, total)
        return report

    def _drain(self, pending, report: SendReport, on_progress, total) -> None:
        timeouts = 0
        for article_id, future in pending:
            try:
                # The producer itself fails a record after delivery_timeout; the margin covers that.
                future.get(timeout=self.delivery_timeout_s + 5)
            except KafkaTimeoutError as exc:
                timeouts += 1
                report.failed.append((article_id, f"{type(exc).__name__}: {exc}"))
            except KafkaError as exc:
                report.failed.append((article_id, f"{type(exc).__name__}: {exc}"))
            else:
                report.delivered += 1
                if on_progress:
                    on_progress(report.delivered, total)
        if timeouts == len(pending) and pending:
            raise KafkaUnavailable(
                f"no acknowledgement from Kafka at {self.servers} within "
                f"{self.delivery_timeout_s:g} s for {timeouts} article(s)"
            )
        pending.clear()

    def send_raw(
        self,
        topic: str,
        key: bytes | str | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ):
        """Send bytes as they are and wait for the acknowledgement (DLQ replay); returns
        kafka-python's ``RecordMetadata``."""
        if isinstance(key, str):
            key = key.encode("utf-8")
        future = self._send(topic, key, value, headers)
        try:
            return future.get(timeout=self.delivery_timeout_s + 5)
        except KafkaTimeoutError as exc:
            raise KafkaUnavailable(f"no acknowledgement from Kafka at {self.servers}: {exc}") from exc

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s or self.delivery_timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.close(timeout=timeout_s)
