"""`newsstreams setup`: the topics and the index templates + write aliases, idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from streams.alerts.mapping import ensure_alert_indices
from streams.kafka.admin import ensure_topics, max_message_bytes
from streams.search import make_backend
from streams.settings import Settings


@dataclass
class SetupReport:
    topics: list[str]
    created: list[str]
    aliases: list[str]
    max_message_bytes: int  # the smallest limit of the topics the worker writes to


def setup(settings: Settings) -> SetupReport:
    """Create what is missing. ``KafkaUnavailable`` or ``SearchError`` say what could not be reached."""
    k = settings.kafka
    alerts = [settings.alerts.topic] if settings.alerts.enabled else []
    created = ensure_topics(k, alerts)
    limit = max_message_bytes(k, [k.topic_enriched, k.topic_dlq])
    backend = make_backend(settings.search)
    try:
        backend.ensure_index()
        backend.ensure_metrics_index()
        if settings.alerts.enabled:
            ensure_alert_indices(backend, settings.alerts)
    finally:
        backend.close()
    aliases = [settings.search.alias, settings.search.metrics_alias]
    return SetupReport([k.topic_raw, k.topic_enriched, k.topic_dlq, *alerts], created, aliases, limit)
