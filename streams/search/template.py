"""Index template for the articles alias.

Naming, all derived from the alias (``articles`` by default) so several aliases can share a cluster
(tests use ``articles-test-<hex>``):

- template ``<alias>``, index pattern ``<alias>-*``
- first index ``<alias>-000001`` (rollover-style name), which owns the alias as its write index.

Readers and writers only ever use the alias, so the index behind it can be rebuilt or rolled over
(``newsstreams reindex`` moves an alias to a new index built from this template).

Text is analysed once per language that matters (template version 2): ``title``/``body`` with the
language-neutral ``standard`` analyzer for every article, plus ``title_<lang>``/``body_<lang>`` with
the stemming analyzer of the article's detected language, present only in articles of that language.
The indexer derives them (:func:`index_document`); so does the reindex script (:func:`reindex_script`).
Version 1 analysed title and body five times per article (standard + nl/en/de/fr sub-fields), whatever
its language, and indexed every field of every entity mention.
"""

from __future__ import annotations

from typing import Any

from streams.settings import SearchSettings

# Bumped whenever the articles mapping changes: `newsstreams reindex` moves older indices to it.
TEMPLATE_VERSION = 3

# Languages with fields of their own (title_<lang>/body_<lang>, translations.<lang>) -> the engine's
# built-in analyzer for them, with stemming. Other languages (and "und") get the neutral fields only.
LANGUAGE_ANALYZERS: dict[str, str] = {
    "nl": "dutch",
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
}
TEXT_FIELDS = ("title", "body")

# Keyword values are capped: a term over 32 KB would fail the whole document.
_KEYWORD = {"type": "keyword", "ignore_above": 1024}
_DATE = {"type": "date"}


def template_name(alias: str) -> str:
    return alias


def index_pattern(alias: str) -> str:
    return f"{alias}-*"


def first_index(alias: str) -> str:
    return f"{alias}-000001"


def language_field(field: str, lang: str) -> str:
    """``title`` + ``nl`` -> ``title_nl``: the field with the analyzer of that language."""
    return f"{field}_{lang}"


# Fields the indexer adds to a document (never part of the enriched article): the language fields and
# entity_texts, the distinct surface forms of the entity mentions (``entities`` itself is kept in
# _source only: parsing 8 fields per mention cost as much as analysing the text).
DERIVED_FIELDS = frozenset(
    [language_field(f, lang) for f in TEXT_FIELDS for lang in LANGUAGE_ANALYZERS] + ["entity_texts"]
)


def index_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as sent to the engine: the enriched article plus the derived fields.

    A shallow copy; derived fields already present (a document read back and sent again) are
    replaced, so the result depends on the article alone. Mirrored by :func:`reindex_script`."""
    out = {key: value for key, value in doc.items() if key not in DERIVED_FIELDS}
    lang = doc.get("language")
    if isinstance(lang, str) and lang in LANGUAGE_ANALYZERS:
        for field in TEXT_FIELDS:
            if isinstance(doc.get(field), str):
                out[language_field(field, lang)] = doc[field]
    entities = doc.get("entities")
    if isinstance(entities, list):
        texts = (e.get("text") for e in entities if isinstance(e, dict))
        out["entity_texts"] = list(dict.fromkeys(t for t in texts if isinstance(t, str)))
    return out


def stored_document(source: dict[str, Any]) -> dict[str, Any]:
    """A document as read back from the engine, without the derived fields."""
    return {key: value for key, value in source.items() if key not in DERIVED_FIELDS}


def reindex_script() -> dict[str, Any]:
    """Painless for ``_reindex``: :func:`index_document` on the engine, for documents indexed before."""
    source = """
        def s = ctx._source;
        for (def f : params.derived) { s.remove(f); }
        def lang = s.language;
        if (lang instanceof String && params.languages.contains(lang)) {
          for (def f : params.text_fields) {
            if (s[f] instanceof String) { s[f + '_' + lang] = s[f]; }
          }
        }
        if (s.entities instanceof List) {
          def texts = new LinkedHashSet();
          for (def e : s.entities) {
            if (e instanceof Map && e.text instanceof String) { texts.add(e.text); }
          }
          s.entity_texts = new ArrayList(texts);
        }
    """
    return {
        "lang": "painless",
        "source": " ".join(source.split()),
        "params": {
            "derived": sorted(DERIVED_FIELDS),
            "languages": list(LANGUAGE_ANALYZERS),
            "text_fields": list(TEXT_FIELDS),
        },
    }


def _neutral_text() -> dict[str, Any]:
    return {"type": "text", "analyzer": "standard"}


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
    language_fields = {
        language_field(field, lang): {"type": "text", "analyzer": analyzer}
        for field in TEXT_FIELDS
        for lang, analyzer in LANGUAGE_ANALYZERS.items()
    }
    return {
        "dynamic": False,
        "_meta": {"managed_by": "newsstreams", "template_version": TEMPLATE_VERSION},
        "properties": {
            "id": _KEYWORD,
            "url": _KEYWORD,
            "source": _KEYWORD,
            "title": _neutral_text(),
            "body": _neutral_text(),
            **language_fields,
            "published_at": _DATE,
            "language": _KEYWORD,
            "language_confidence": {"type": "float"},
            # The mentions are kept in _source only (not parsed: see DERIVED_FIELDS); filters use the
            # deduplicated lists: QIDs, canonical names and (derived) surface forms.
            "entities": {"type": "object", "enabled": False},
            "entity_ids": _KEYWORD,
            "entity_names": _KEYWORD,
            "entity_texts": _KEYWORD,
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
            # Stories (streams.stories): LSH band keys are looked up by terms queries; the entity keys
            # and the packed MinHash signature are read back as doc values (never _source: a
            # candidate lookup must not parse whole articles).
            "story_id": _KEYWORD,
            "duplicate_of": _KEYWORD,
            "duplicate_similarity": {"type": "float"},
            "story_keys": _KEYWORD,
            "fingerprint": _object({"bands": _KEYWORD, "signature": {"type": "binary", "doc_values": True}}),
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
