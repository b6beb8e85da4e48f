"""Stories on the query side: the top stories of a period, and the size of given stories.

The worker gives each indexed article a ``story_id`` (streams/stories); here stories are read back
with aggregations on that field, in one request each. The builders and parsers are pure (plain
dicts in and out); :func:`top_stories` sends the request like :func:`streams.search.search` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from streams.search.backends import SearchBackend, using_backend
from streams.search.filters import article_filters, check_limit, normalise_lang
from streams.settings import SearchSettings, Settings

STORY_FIELD = "story_id"
HAS_STORY = {"exists": {"field": STORY_FIELD}}
MAX_STORIES = 1_000
STORY_LANGUAGES = 10  # more than the analysed languages: "und" and others fit too
STORY_SOURCES = 10
STORY_ENTITIES = 5
# Distinct stories are counted close to exactly up to this many (the engines' highest cardinality
# precision), approximately beyond.
CARDINALITY_PRECISION = 40_000
_FIRST_ARTICLE_FIELDS = ["id", "title", "url", "language", "source", "published_at"]


@dataclass
class Story:
    id: str
    size: int  # articles of the story that pass the filters
    # value -> articles, most frequent first
    languages: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    entities: dict[str, int] = field(default_factory=dict)
    first_seen: str | None = None  # ISO-8601 UTC: published_at, else pipeline.ingested_at
    last_seen: str | None = None
    title: str = ""  # of the first article (earliest published_at)
    first_article: str | None = None  # its id


@dataclass
class StoriesResult:
    articles: int  # articles with a story that pass the filters
    stories: int  # distinct stories among them (approximate above CARDINALITY_PRECISION)
    top: list[Story] = field(default_factory=list)  # largest first; ties: most recent first


@dataclass(frozen=True)
class StorySize:
    """A whole story as indexed, whatever the filters of the search that found one of its articles."""

    size: int
    languages: list[str]  # most frequent first
    sources: list[str]


def _buckets(agg: dict | None) -> dict[str, int]:
    return {str(b["key"]): b["doc_count"] for b in (agg or {}).get("buckets", [])}


def _iso(millis: float | None) -> str | None:
    if millis is None:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _story_aggs() -> dict[str, Any]:
    return {
        "languages": {"terms": {"field": "language", "size": STORY_LANGUAGES}},
        "sources": {"terms": {"field": "source", "size": STORY_SOURCES}},
        "entities": {"terms": {"field": "entity_names", "size": STORY_ENTITIES}},
        "first_published": {"min": {"field": "published_at"}},
        "last_published": {"max": {"field": "published_at"}},
        # published_at is optional in a raw article: those without it count by when they came in.
        "unpublished": {
            "filter": {"bool": {"must_not": [{"exists": {"field": "published_at"}}]}},
            "aggs": {
                "first": {"min": {"field": "pipeline.ingested_at"}},
                "last": {"max": {"field": "pipeline.ingested_at"}},
            },
        },
        "first_article": {
            "top_hits": {
                "size": 1,
                "sort": [
                    {"published_at": {"order": "asc", "missing": "_last"}},
                    {"pipeline.ingested_at": {"order": "asc", "missing": "_last"}},
                ],
                "_source": _FIRST_ARTICLE_FIELDS,
            }
        },
    }


def build_stories_query(
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    limit: int = 10,
) -> dict[str, Any]:
    """The request body for the ``limit`` largest stories among the articles that pass the filters
    (the same filters as ``search``: sizes count those articles only). Raises InvalidQuery."""
    check_limit(limit, MAX_STORIES)
    filters = article_filters(
        lang=normalise_lang(lang), entity=entity, topic=topic, source=source, since=since, until=until
    )
    aggs: dict[str, Any] = {
        "story_count": {"cardinality": {"field": STORY_FIELD, "precision_threshold": CARDINALITY_PRECISION}}
    }
    if limit:  # a terms aggregation of size 0 is an error
        aggs["stories"] = {
            "terms": {
                "field": STORY_FIELD,
                "size": limit,
                # equal sizes: the story seen last comes first, then by id so the order is stable
                "order": [{"_count": "desc"}, {"last_published": "desc"}, {"_key": "asc"}],
            },
            "aggs": _story_aggs(),
        }
    return {
        "size": 0,
        "track_total_hits": True,
        "query": {"bool": {"filter": [*filters, HAS_STORY]}},
        "aggs": aggs,
    }


def _seen(bucket: dict) -> tuple[str | None, str | None]:
    """(first, last): published_at where the articles have it, else pipeline.ingested_at."""
    unpublished = bucket.get("unpublished") or {}

    def values(*aggs: dict | None) -> list[float]:
        return [a["value"] for a in aggs if a and a.get("value") is not None]

    firsts = values(bucket.get("first_published"), unpublished.get("first"))
    lasts = values(bucket.get("last_published"), unpublished.get("last"))
    return _iso(min(firsts, default=None)), _iso(max(lasts, default=None))


def _story(bucket: dict) -> Story:
    first_hits = bucket.get("first_article", {}).get("hits", {}).get("hits", [])
    first = first_hits[0] if first_hits else {}
    first_seen, last_seen = _seen(bucket)
    return Story(
        id=str(bucket["key"]),
        size=bucket["doc_count"],
        languages=_buckets(bucket.get("languages")),
        sources=_buckets(bucket.get("sources")),
        entities=_buckets(bucket.get("entities")),
        first_seen=first_seen,
        last_seen=last_seen,
        title=first.get("_source", {}).get("title", ""),
        first_article=first.get("_source", {}).get("id") or first.get("_id"),
    )


def _total(resp: dict) -> int:
    total = resp.get("hits", {}).get("total", 0)
    return total.get("value", 0) if isinstance(total, dict) else int(total)


def parse_stories(resp: dict) -> StoriesResult:
    aggs = resp.get("aggregations", {})
    return StoriesResult(
        articles=_total(resp),
        stories=int(aggs.get("story_count", {}).get("value") or 0),
        top=[_story(b) for b in aggs.get("stories", {}).get("buckets", [])],
    )


def top_stories(
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    limit: int = 10,
    backend: SearchBackend | None = None,
    settings: SearchSettings | Settings | None = None,
) -> StoriesResult:
    """The largest stories on the articles alias. Without ``backend`` one is made from ``settings``
    and closed."""
    body = build_stories_query(
        lang=lang, entity=entity, topic=topic, source=source, since=since, until=until, limit=limit
    )
    with using_backend(backend, settings) as b:
        return parse_stories(b.search(body))


# --- the whole stories of given ids (search --collapse) ------------------------------------------------
def build_story_sizes_query(story_ids: list[str]) -> dict[str, Any]:
    """Size, languages and sources of each of these stories, over all their articles."""
    ids = list(dict.fromkeys(story_ids))
    if not ids:
        raise ValueError("no story ids")
    return {
        "size": 0,
        "query": {"terms": {STORY_FIELD: ids}},
        "aggs": {
            "stories": {
                # every id is a bucket: each shard returns all of them, so the counts are exact
                "terms": {"field": STORY_FIELD, "size": len(ids), "include": ids},
                "aggs": {
                    "languages": {"terms": {"field": "language", "size": STORY_LANGUAGES}},
                    "sources": {"terms": {"field": "source", "size": STORY_SOURCES}},
                },
            }
        },
    }


def parse_story_sizes(resp: dict) -> dict[str, StorySize]:
    return {
        str(b["key"]): StorySize(
            size=b["doc_count"],
            languages=list(_buckets(b.get("languages"))),
            sources=list(_buckets(b.get("sources"))),
        )
        for b in resp.get("aggregations", {}).get("stories", {}).get("buckets", [])
    }
