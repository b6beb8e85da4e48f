"""Saved-search alerts as a Python API: add, list, remove, and follow the alerts topic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from streams.alerts import records
from streams.alerts.definitions import alert_document, validate_name
from streams.alerts.mapping import ensure_alert_indices
from streams.kafka.consumer import open_consumer, partitions
from streams.search import SearchBackend, SearchError, make_backend
from streams.settings import Settings, get_settings


def _backend(settings: Settings, backend: SearchBackend | None) -> tuple[SearchBackend, bool]:
    return (backend, False) if backend is not None else (make_backend(settings.search), True)


def add_alert(
    name: str,
    query: str | None = None,
    *,
    entity: str | None = None,
    topic: str | None = None,
    lang: str | None = None,
    source: str | None = None,
    webhook: str | None = None,
    settings: Settings | None = None,
    backend: SearchBackend | None = None,
) -> dict[str, Any]:
    """Store the alert (replacing one of the same name); the stored document. ``InvalidAlert`` for a
    bad name, filter or webhook; the index is created if missing."""
    settings = settings or get_settings()
    doc = alert_document(name, query, entity=entity, topic=topic, lang=lang, source=source, webhook=webhook)
    search, own = _backend(settings, backend)
    try:
        ensure_alert_indices(search, settings.alerts)
        search.put_alert(settings.alerts.index, doc["name"], doc)
    finally:
        if own:
            search.close()
    return doc


def list_alerts(settings: Settings | None = None, backend: SearchBackend | None = None) -> list[dict[str, Any]]:
    """The stored alerts by name; none if the alerts index does not exist yet."""
    settings = settings or get_settings()
    search, own = _backend(settings, backend)
    try:
        return search.list_alerts(settings.alerts.index)
    except SearchError as exc:
        if exc.error_type == "index_not_found_exception":
            return []
        raise
    finally:
        if own:
            search.close()


def remove_alert(name: str, settings: Settings | None = None, backend: SearchBackend | None = None) -> bool:
    """False if there was no alert of that name. Its ledger entries stay: an article already alerted
    is not alerted again if an alert of the same name is added back."""
    settings = settings or get_settings()
    name = validate_name(name)
    search, own = _backend(settings, backend)
    try:
        return search.delete_alert(settings.alerts.index, name)
    except SearchError as exc:
        if exc.error_type == "index_not_found_exception":
            return False
        raise
    finally:
        if own:
            search.close()


def follow(
    settings: Settings | None = None, *, from_beginning: bool = False, limit: int | None = None, poll_s: float = 1.0
) -> Iterator[dict[str, Any]]:
    """The alert records on the alerts topic as they arrive (from its start with ``from_beginning``),
    until ``limit`` of them; forever without one. Outside any consumer group: nothing is committed."""
    settings = settings or get_settings()
    consumer = open_consumer(settings.kafka, auto_offset_reset="earliest")
    try:
        tps = partitions(consumer, settings.alerts.topic, settings.kafka)
        consumer.assign(tps)
        if from_beginning:
            consumer.seek_to_beginning(*tps)
        else:
            consumer.seek_to_end(*tps)
        seen = 0
        while limit is None or seen < limit:
            for messages in consumer.poll(timeout_ms=int(poll_s * 1000)).values():
                for message in messages:
                    record = records.decode(message.value)
                    if record is None:
                        continue
                    yield record
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
    finally:
        consumer.close()
