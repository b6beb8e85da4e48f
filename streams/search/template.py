"""Index template for the articles alias.

Naming, all derived from the alias (``articles`` by default) so several aliases can share a cluster
(tests use ``articles-test-<hex>``):

- template ``<alias>``, index pattern ``<alias>-*``
- first index ``<alias>-000001`` (rollover-style name), which owns the alias as its write index.

Readers and writers only ever use the alias, so the index behind it can be rebuilt or rolled over.
"""

from __future__ import annotations

from typing import Any

from streams.settings import SearchSettings

# Language sub-fields of title/body (and translations) -> built-in analyzer with stemming.
LANGUAGE_ANALYZERS: dict[str, str] = {
    "nl": "dutch",
    "en": "english",
    "de": "german",
    "fr": "french",
}

# Keyword values are capped: a term over 32 KB would fail the whole document.
_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_DATE = {"type": "date"}


def template_name(alias: str) -> str:
    return alias


def index_pattern(alias: str) -> str:
    return f"{alias}-*"


def first_index(alias: str) -> str:
    return f"{alias}-000001"


def _analysed_text() -> dict[str, Any]:
    return {
        "type": "text",
        "analyzer": "standard",
        "fields": {lang: {"type": "text", "analyzer": analyzer} for lang, analyzer in LANGUAGE_ANALYZERS.items()},
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def mappings() -> dict[str, Any]:
    # dynamic: false everywhere: unknown fields stay in _source but are not indexed, so a producer's
    # extra field can never cause a mapping conflict (= a rejected document) later.
    translations = {
        # Explicit per target language with that language's analyzer; other target languages are
        # kept in _source only. Dynamic mapping here could turn one odd value into later rejections.
        lang: _object(
            {
                "title": {"type": "text", "analyzer": analyzer},
                "summary": {"type": "text", "analyzer": analyzer},
            }
        )
        for lang, analyzer in LANGUAGE_ANALYZERS.items()
    }
    return {
        "dynamic": False,
        "_meta": {"managed_by": "newsstreams", "template_version": 1},
        "properties": {
            "id": _KEYWORD,
            "url": _KEYWORD,
            "source": _KEYWORD,
            "title": _analysed_text(),
            "body": _analysed_text(),
            "published_at": _DATE,
            "language": _KEYWORD,
            "language_confidence": {"type": "float"},
            # object, not nested: filters need "any entity has X", never "the same entity has X and Y".
            "entities": _object(
                {
                    "text": _KEYWORD,
                    "field": _KEYWORD,
                    "label": _KEYWORD,
                    "start": {"type": "integer"},
                    "end": {"type": "integer"},
                    "id": _KEYWORD,
                    "name": _KEYWORD,
                    "source": _KEYWORD,
                }
            ),
            "entity_ids": _KEYWORD,
            "entity_names": _KEYWORD,
            "topics": _object({"code": _KEYWORD, "label": _KEYWORD, "score": {"type": "float"}}),
            "translations": _object(translations),
            "pipeline": _object(
                {
                    "version": _KEYWORD,
                    "ner_model": _KEYWORD,
                    "ingested_at": _DATE,
                    "enriched_at": _DATE,
                    "indexed_at": _DATE,
                }
            ),
            "meta": {"type": "object", "enabled": False},
        },
    }


def index_template(settings: SearchSettings) -> dict[str, Any]:
    """Body of ``PUT _index_template/<alias>``."""
    return {
        "index_patterns": [index_pattern(settings.alias)],
        # Engines reject two templates with overlapping patterns and equal priority
        # (articles-* vs articles-test-x-*). A longer alias has the more specific pattern, so it gets
        # the higher priority and equal lengths can never overlap.
        "priority": 200 + len(settings.alias),
        "template": {
            "settings": {
                "number_of_shards": settings.shards,
                "number_of_replicas": settings.replicas,
            },
            "mappings": mappings(),
        },
    }


# --- pipeline metrics (alias ``newsstreams-metrics`` = setting search.metrics_alias) ----------------
# One flat document per worker, interval and kind (the collector in streams/metrics.py writes them):
#   common          @timestamp, worker_id, kind (stage | dlq | lag), interval_s
#   kind "stage"    stage (enrich | index), articles_in/out, dlq, batches, batch_size_avg/max,
#                   latency_p50/p95/p99_ms (per batch); stage "index" also e2e_p50/p95/p99_ms
#   kind "dlq"      stage, reason, count
#   kind "lag"      group, topic, partition, committed, end_offset, lag
# Counts are per-interval deltas, so a sum over any time range is the total for that range.
# The dashboards in config/kibana/ and config/opensearch-dashboards/ are checked against this mapping
# (tests/unit/test_saved_objects.py).

_LONG = {"type": "long"}
_FLOAT = {"type": "float"}


def metrics_mappings() -> dict[str, Any]:
    # One mapping for all kinds: a field a kind does not have is simply absent from its documents.
    # dynamic: false as for articles: a new collector field is kept in _source, never a conflict.
    return {
        "dynamic": False,
        "_meta": {"managed_by": "newsstreams", "template_version": 1},
        "properties": {
            "@timestamp": _DATE,
            "worker_id": _KEYWORD,
            "kind": _KEYWORD,
            "interval_s": _FLOAT,
            # kind stage (and stage/reason for kind dlq)
            "stage": _KEYWORD,
            "articles_in": _LONG,
            "articles_out": _LONG,
            "dlq": _LONG,
            "batches": _LONG,
            "batch_size_avg": _FLOAT,
            "batch_size_max": _LONG,
            "latency_p50_ms": _FLOAT,
            "latency_p95_ms": _FLOAT,
            "latency_p99_ms": _FLOAT,
            "e2e_p50_ms": _FLOAT,
            "e2e_p95_ms": _FLOAT,
            "e2e_p99_ms": _FLOAT,
            # kind dlq
            "reason": _KEYWORD,
            "count": _LONG,
            # kind lag
            "group": _KEYWORD,
            "topic": _KEYWORD,
            "partition": {"type": "integer"},
            "committed": _LONG,
            "end_offset": _LONG,
            "lag": _LONG,
        },
    }


def metrics_index_template(settings: SearchSettings) -> dict[str, Any]:
    """Body of ``PUT _index_template/<metrics_alias>``; names follow the articles scheme."""
    alias = settings.metrics_alias
    return {
        "index_patterns": [index_pattern(alias)],
        "priority": 200 + len(alias),  # same rule as index_template(): longer alias, higher priority
        "template": {
            # Small documents, a few per worker every interval: one shard is plenty.
            "settings": {"number_of_shards": 1, "number_of_replicas": settings.replicas},
            "mappings": metrics_mappings(),
        },
    }
