"""The alert record on the alerts topic and its key. Pure."""

from __future__ import annotations

import json
import zlib
from typing import Any

RECORD_FIELDS = ("alert", "article_id", "title", "language", "story_id", "source", "url", "published_at")


def record_key(alert: str, article_id: str) -> str:
    """``<alert>|<article id>``: the Kafka key and the ledger's document id. Alert names have no "|"."""
    return f"{alert}|{article_id}"


def split_key(key: str) -> tuple[str, str]:
    alert, _, article_id = key.partition("|")
    return alert, article_id


def partition_for(key: str, partitions: int) -> int:
    """The partition the record goes to, chosen here (not by the producer) so that the ledger can
    name it before the record is sent. A stable hash: the same key, the same partition."""
    if partitions < 1:
        raise ValueError(f"the alerts topic needs at least one partition, got {partitions}")
    return zlib.crc32(key.encode("utf-8")) % partitions


def alert_record(alert: str, doc: dict[str, Any], matched_at: str) -> dict[str, Any]:
    """What a subscriber gets for one (alert, article): enough to show it without a search."""
    record = {
        "alert": alert,
        "article_id": str(doc["id"]),
        "title": doc.get("title"),
        "language": doc.get("language"),
        "story_id": doc.get("story_id"),
        "source": doc.get("source"),
        "url": doc.get("url"),
        "published_at": doc.get("published_at"),
        "matched_at": matched_at,
    }
    return record


def encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(value: bytes | None) -> dict[str, Any] | None:
    """A record read back from the topic; None for anything that is not one (a stranger's message)."""
    try:
        record = json.loads(value or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("alert"), str) else None
