"""The dead-letter record (``articles.dlq``): its format and the catalogue of reason codes. Pure.

A record keeps the original message bytes (``payload``, base64 when not UTF-8) so that
``newsstreams dlq replay`` can send exactly what failed once the cause is fixed.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from streams.contracts.dates import utc_now_iso

# reason code -> (stage, what it means). ``rejected_<status>`` covers every HTTP status
# the engine gives a single document; the common ones are listed.
REASONS: dict[str, tuple[str, str]] = {
    "empty_payload": ("validate", "the message has no value (a tombstone or an empty message)"),
    "not_utf8": ("validate", "the value is not UTF-8"),
    "not_json": ("validate", "the value is not JSON (or has NaN/Infinity, 1e999, trailing data, deep nesting)"),
    "not_object": ("validate", "the JSON value is not an object"),
    "missing_field": ("validate", "title or body is missing"),
    "wrong_type": ("validate", "a field has the wrong JSON type"),
    "empty_field": ("validate", "title or body is empty after cleaning"),
    "too_large": ("validate", "payload, title, body or id over the configured limits"),
    "bad_date": ("validate", "published_at is not a date"),
    "bad_language": ("validate", "language is not an ISO 639-1 code"),
    "invalid": ("validate", "any other validation failure"),
    "enrich_failed": ("enrich", "enrichment raised for this article (the error says why)"),
    "too_large_enriched": ("enrich", "the enriched record is over the record budget; payload = raw article"),
    "bad_enriched_record": ("index", "a record on the enriched topic is not an enriched article"),
    "index_failed": ("index", "indexing raised for this record (a bug, not the engine's refusal; the error says why)"),
    "rejected_400": ("index", "the engine refused the document (mapping or parse error)"),
    "rejected_413": ("index", "the document alone is too large for one bulk request"),
}
STAGES = ("validate", "enrich", "index")


def describe(reason: str) -> str:
    """One line on a reason code, for `dlq show` and the docs."""
    if reason in REASONS:
        return REASONS[reason][1]
    if reason.startswith("rejected_"):
        return f"the engine refused the document with HTTP {reason.removeprefix('rejected_')}"
    return "unknown reason"


def dlq_record(
    payload: bytes | None,
    reason: str,
    stage: str,
    error: str,
    topic: str,
    partition: int,
    offset: int,
    *,
    max_payload_bytes: int | None = None,
) -> dict[str, Any]:
    """The DLQ contract of DESIGN.md. ``payload_encoding`` lets a replay restore the exact bytes.

    A payload over ``max_payload_bytes`` is cut (``payload_truncated``), with its full length and
    sha256, so the record still fits the topic and the loss is visible."""
    payload = payload or b""
    extra: dict[str, Any] = {}
    if max_payload_bytes is not None and len(payload) > max_payload_bytes:
        extra = {
            "payload_truncated": True,
            "payload_bytes": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
        }
        payload = payload[:max_payload_bytes]
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if extra and exc.start >= len(payload) - 3:  # the cut split a character
            text, encoding = payload[: exc.start].decode("utf-8"), "utf-8"
        else:
            text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    return {
        "reason": reason,
        "stage": stage,
        "error": error,
        "payload": text,
        "payload_encoding": encoding,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "failed_at": utc_now_iso(),
        **extra,
    }


def dlq_payload_bytes(record: Mapping[str, Any]) -> bytes:
    """Inverse of ``dlq_record`` for the payload (used by replay)."""
    if record.get("payload_encoding") == "base64":
        return base64.b64decode(record["payload"])
    return str(record.get("payload") or "").encode("utf-8")
