"""Inspect and replay the dead-letter topic (``kafka.topic_dlq``). No CLI code here.

Reading never joins a consumer group, so it commits nothing and disturbs no one. It reads up to the
end offsets captured when it starts: records that arrive meanwhile wait for the next run, and a busy
DLQ cannot keep the command running forever.

Replay sends the exact original payload bytes (``dlq_payload_bytes``) back where they failed
(``replay_target``): validate- and enrich-stage records (raw articles) to ``kafka.topic_raw``,
index-stage records (enriched documents) to the topic they were read from, ``kafka.topic_enriched``,
so they are not enriched twice. Keyed by the original key: the record's ``key`` field if the writer
recorded one (``key_encoding`` "base64" for binary keys), else the DLQ message's own Kafka key, else no key.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka.errors import KafkaError

from streams.contracts.dates import parse_time
from streams.contracts.dlq import dlq_payload_bytes
from streams.kafka.consumer import read_all
from streams.kafka.producer import ArticleProducer
from streams.settings import KafkaSettings


@dataclass
class DlqEntry:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    record: dict[str, Any] | None  # None: the DLQ message itself is unreadable (see ``problem``)
    problem: str | None = None

    @property
    def failed_at(self) -> datetime:
        """The record's ``failed_at``, else the time Kafka stored the message."""
        parsed = _parse_time((self.record or {}).get("failed_at"))
        return parsed or datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    def original_key(self) -> bytes | None:
        rec = self.record or {}
        if rec.get("key") is not None:
            if rec.get("key_encoding") == "base64":
                return base64.b64decode(rec["key"])
            return str(rec["key"]).encode("utf-8")
        return self.key

    def to_json(self) -> dict[str, Any]:
        key = self.key.decode("utf-8", "backslashreplace") if self.key is not None else None
        out: dict[str, Any] = {
            "dlq": {"partition": self.partition, "offset": self.offset, "timestamp_ms": self.timestamp_ms, "key": key},
            "record": self.record,
        }
        if self.problem:
            out["problem"] = self.problem
        return out


def _parse_time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _entry(message) -> DlqEntry:
    entry = DlqEntry(message.partition, message.offset, message.timestamp, message.key, None)
    try:
        record = json.loads(message.value.decode("utf-8"))
    except (AttributeError, UnicodeDecodeError, ValueError) as exc:
        entry.problem = f"not a DLQ record (not UTF-8 JSON: {exc})"
        return entry
    if not isinstance(record, dict):
        entry.problem = f"not a DLQ record (a JSON {type(record).__name__}, not an object)"
    else:
        entry.record = record
    return entry


def read_dlq(kafka: KafkaSettings, topic: str | None = None, *, timeout_s: float = 60.0) -> list[DlqEntry]:
    """All records present when called, oldest first (``failed_at``, then partition and offset)."""
    entries = [_entry(m) for m in read_all(kafka, topic or kafka.topic_dlq, timeout_s=timeout_s)]
    return sorted(entries, key=lambda e: (e.failed_at, e.partition, e.offset))


def select(entries: Iterable[DlqEntry], *, since: datetime | None = None, reason: str | None = None) -> list[DlqEntry]:
    """Readable records failed at/after ``since`` with exactly this ``reason``."""
    return [
        e
        for e in entries
        if e.record is not None
        and (since is None or e.failed_at >= since)
        and (reason is None or e.record.get("reason") == reason)
    ]


def replay_target(entry: DlqEntry, raw_topic: str) -> str:
    """Where ``replay`` sends a record: an index-stage record (an enriched document) back to the topic
    it was read from (``raw_topic`` if it names none), every other record to ``raw_topic``."""
    record = entry.record or {}
    if record.get("stage") == "index":
        return record.get("topic") or raw_topic
    return raw_topic


def replay_targets(entries: Iterable[DlqEntry], raw_topic: str) -> Counter[str]:
    """Records per target topic (for a dry run, and to check the topics before sending)."""
    return Counter(replay_target(entry, raw_topic) for entry in entries)


@dataclass
class ReplayReport:
    sent: int = 0
    failed: list[tuple[DlqEntry, str]] = field(default_factory=list)  # refused by the broker
    sent_to: Counter[str] = field(default_factory=Counter)  # topic -> records sent there


def replay(entries: Iterable[DlqEntry], producer: ArticleProducer, topic: str) -> ReplayReport:
    """Send each record's original bytes back where it failed (``replay_target``; ``topic`` is the raw
    topic), waiting for every acknowledgement. An unreachable broker raises ``KafkaUnavailable``; a
    refused record is reported."""
    report = ReplayReport()
    for entry in entries:
        target = replay_target(entry, topic)
        try:
            producer.send_raw(target, entry.original_key(), dlq_payload_bytes(entry.record or {}))
        except (KafkaError, ValueError) as exc:  # ValueError: a corrupt base64 payload
            report.failed.append((entry, f"{type(exc).__name__}: {exc}"))
        else:
            report.sent += 1
            report.sent_to[target] += 1
    return report
