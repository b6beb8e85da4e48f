"""`newsstreams setup`: the topics and the index templates + write aliases, idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from streams.kafka.admin import ensure_topics
from streams.search import make_backend
from streams.settings import Settings


@dataclass
class SetupReport:
    topics: list[str]
    created: list[str]
    aliases: list[str]


def setup(settings: Settings) -> SetupReport:
    """Create what is missing. ``KafkaUnavailable`` or ``SearchError`` say what could not be reached."""
    k = settings.kafka
    created = ensure_topics(k)
    backend = make_backend(settings.search)
    try:
        backend.ensure_index()
        backend.ensure_metrics_index()
    finally:
        backend.close()
    return SetupReport(
        [k.topic_raw, k.topic_enriched, k.topic_dlq], created, [settings.search.alias, settings.search.metrics_alias]
    )
