"""Build safe search requests and turn responses into plain results.

User text only ever goes into ``simple_query_string``: it never raises on odd syntax and offers no
scripts, regexes or field overrides. Everything else is an exact-term filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from streams.search.backends import SearchBackend, using_backend
from streams.search.filters import InvalidQuery, article_filters, check_limit, normalise_lang, parse_when
from streams.search.stories import (
    CARDINALITY_PRECISION,
    HAS_STORY,
    STORY_FIELD,
    build_story_sizes_query,
    parse_story_sizes,
)
from streams.search.template import LANGUAGE_ANALYZERS, TEXT_FIELDS, language_field
from streams.settings import SearchSettings, Settings

__all__ = [
    "Hit",
    "InvalidQuery",
    "SearchResult",
    "build_collapsed_search",
    "build_query",
    "filter_query",
    "parse_when",
    "search",
]

MAX_LIMIT = 10_000  # the engines' default index.max_result_window
FACET_SIZE = 10
TOP_ENTITIES = 5
_FACETS = {
    "entities": "entity_names",
    "topics": "topics.label",
    "languages": "language",
    "sources": "source",
}
_SOURCE_FIELDS = [
    "id", "url", "title", "published_at", "language", "source", "entity_names", "topics", STORY_FIELD,
    "duplicate_of",
]  # fmt: skip
# Aggregations of the counting request of a collapsed search (not facets).
_STORY_COUNT, _NO_STORY = "story_count", "no_story"


@dataclass
class Hit:
    id: str
    score: float | None
    title: str
    published_at: str | None
    language: str | None
    source: str | None
    url: str | None = None
    entities: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    # field ("title"/"body") -> fragments with <em>…</em> around matches
    highlights: dict[str, list[str]] = field(default_factory=dict)
    story_id: str | None = None
    duplicate_of: str | None = None  # the first copy of the same text (streams.stories), or None
    # With collapse: the whole story of the hit as indexed, whatever the filters (None: no story).
    story_size: int | None = None
    story_languages: list[str] = field(default_factory=list)  # most frequent first
    story_sources: list[str] = field(default_factory=list)


@dataclass
class SearchResult:
    total: int  # matching articles
    hits: list[Hit]
    # facet name ("entities", "topics", "languages", "sources", "dates") -> [(value, count)]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # With collapse: matching stories plus matching articles without a story (story count approximate
    # above stories.CARDINALITY_PRECISION).
    groups: int | None = None


def _languages(lang: str | None) -> list[str]:
    """Languages whose fields to search: the given one (if analysed), else all of them. An article
    has the fields of its own language only, so searching all of them costs no false matches."""
    if lang:
        return [lang] if lang in LANGUAGE_ANALYZERS else []
    return list(LANGUAGE_ANALYZERS)


def _text_fields(lang: str | None) -> list[str]:
    langs = _languages(lang)
    return (
        ["title^3", "body"]
        + [language_field("title", lg) + "^3" for lg in langs]
        + [language_field("body", lg) for lg in langs]
    )


def filter_query(
    text: str | None = None,
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> dict[str, Any]:
    """The query of a search alone, text and filters (no paging, sorting or highlights): what
    ``search`` runs, and what a saved search can be stored as. Raises InvalidQuery."""
    lang = normalise_lang(lang)
    text = (text or "").strip()
    filters = article_filters(lang=lang, entity=entity, topic=topic, source=source, since=since, until=until)
    if text:
        must: dict = {
            "simple_query_string": {
                "query": text,
                "fields": _text_fields(lang),
                "default_operator": "and",
            }
        }
    else:
        must = {"match_all": {}}
    return {"bool": {"must": [must], "filter": filters}}


def build_query(
    text: str | None = None,
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    limit: int = 10,
    facets: bool = False,
    collapse: bool = False,
) -> dict[str, Any]:
    """The search request body. Raises InvalidQuery (a ValueError) for malformed arguments.

    ``collapse``: the request for one hit per story, the best of its matching articles. It covers
    the articles that have a story only: the engines collapse every article without the field into
    one group, so :func:`build_collapsed_search` asks for the others separately. No facets here
    (they come with the counts of a collapsed search)."""
    check_limit(limit, MAX_LIMIT)
    query = filter_query(text, lang=lang, entity=entity, topic=topic, source=source, since=since, until=until)
    lang = normalise_lang(lang)
    text = (text or "").strip()

    body: dict[str, Any] = {
        "query": query,
        "size": limit,
        "track_total_hits": True,
        "sort": ["_score", {"published_at": {"order": "desc", "missing": "_last"}}],
        "_source": _SOURCE_FIELDS,
    }
    if text:
        # The stemmed language fields are highlighted too: "gaspijpleiding" only matches there.
        hl_fields = {}
        for base, frag in (
            ("title", {"number_of_fragments": 0}),  # the whole title
            ("body", {"fragment_size": 150, "number_of_fragments": 3}),
        ):
            hl_fields[base] = frag
            for lg in _languages(lang):
                hl_fields[language_field(base, lg)] = frag
        body["highlight"] = {"pre_tags": ["<em>"], "post_tags": ["</em>"], "fields": hl_fields}
    if collapse:
        body["query"]["bool"]["filter"].append(HAS_STORY)
        body["collapse"] = {"field": STORY_FIELD}
        body["track_total_hits"] = False  # counts articles, not groups: the counting request does it
        return body
    if facets:
        aggs: dict[str, Any] = {name: {"terms": {"field": fld, "size": FACET_SIZE}} for name, fld in _FACETS.items()}
        aggs["dates"] = {
            "date_histogram": {
                "field": "published_at",
                "calendar_interval": "day",
                "format": "yyyy-MM-dd",
                "min_doc_count": 1,
            }
        }
        body["aggs"] = aggs
    return body


def _highlights(raw: dict[str, list[str]], language: str | None) -> dict[str, list[str]]:
    """Merge title / title_<lang> highlights into "title" (same for body)."""
    out: dict[str, list[str]] = {}
    for base in TEXT_FIELDS:
        prefer = [language_field(base, language or ""), base] + [language_field(base, lg) for lg in LANGUAGE_ANALYZERS]
        for key in prefer:
            if raw.get(key):
                out[base] = raw[key]
                break
    return out


def parse_response(resp: dict) -> SearchResult:
    hits = []
    for h in resp.get("hits", {}).get("hits", []):
        src = h.get("_source", {})
        hits.append(
            Hit(
                id=src.get("id") or h["_id"],
                score=h.get("_score"),
                title=src.get("title", ""),
                published_at=src.get("published_at"),
                language=src.get("language"),
                source=src.get("source"),
                url=src.get("url"),
                entities=list(src.get("entity_names") or [])[:TOP_ENTITIES],
                topics=[t.get("label") or t.get("code") for t in src.get("topics") or []],
                highlights=_highlights(h.get("highlight", {}), src.get("language")),
                story_id=src.get(STORY_FIELD),
                duplicate_of=src.get("duplicate_of"),
            )
        )
    total = resp.get("hits", {}).get("total", 0)
    total = total.get("value", 0) if isinstance(total, dict) else int(total)
    facets = {
        name: [(b.get("key_as_string", b["key"]), b["doc_count"]) for b in agg.get("buckets", [])]
        for name, agg in resp.get("aggregations", {}).items()
    }
    return SearchResult(total=total, hits=hits, facets=facets)


def build_collapsed_search(
    text: str | None = None,
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    limit: int = 10,
    facets: bool = False,
) -> list[dict[str, Any]]:
    """The bodies of the one multi-search of a collapsed search, in order: the best hit of each story;
    the hits without a story, each on its own; the counts (articles, groups) and facets, no hits.
    The first two are sorted alike, so :func:`parse_collapsed` merges them into one ranking."""
    args = {"lang": lang, "entity": entity, "topic": topic, "source": source, "since": since, "until": until}
    grouped = build_query(text, limit=limit, collapse=True, **args)
    single = build_query(text, limit=limit, **args)
    single["query"]["bool"]["must_not"] = [HAS_STORY]
    single["track_total_hits"] = False
    counts = build_query(text, limit=0, facets=facets, **args)
    for key in ("sort", "highlight", "_source"):
        counts.pop(key, None)
    counts.setdefault("aggs", {}).update(
        {
            _STORY_COUNT: {"cardinality": {"field": STORY_FIELD, "precision_threshold": CARDINALITY_PRECISION}},
            _NO_STORY: {"missing": {"field": STORY_FIELD}},
        }
    )
    return [grouped, single, counts]


def _rank(hit: dict) -> tuple:
    # The sort values the engine returns: [_score, published_at (a missing one sorts last)].
    return tuple(hit.get("sort") or (hit.get("_score") or 0.0,))


def parse_collapsed(responses: list[dict], limit: int) -> SearchResult:
    """The three responses of :func:`build_collapsed_search` as one result of at most ``limit`` hits.
    On equal rank a story comes before an article without one (sorted() is stable)."""
    grouped, single, counts = responses
    hits = grouped.get("hits", {}).get("hits", []) + single.get("hits", {}).get("hits", [])
    merged = sorted(hits, key=_rank, reverse=True)[:limit]
    aggs = dict(counts.get("aggregations", {}))
    story_count = int((aggs.pop(_STORY_COUNT, None) or {}).get("value") or 0)
    no_story = int((aggs.pop(_NO_STORY, None) or {}).get("doc_count") or 0)
    result = parse_response(
        {"hits": {"hits": merged, "total": counts.get("hits", {}).get("total", 0)}, "aggregations": aggs}
    )
    result.groups = story_count + no_story
    return result


def add_story_sizes(result: SearchResult, sizes_resp: dict) -> None:
    """Fill each hit's story size, languages and sources from the story sizes response."""
    sizes = parse_story_sizes(sizes_resp)
    for hit in result.hits:
        size = sizes.get(hit.story_id) if hit.story_id else None
        if size is not None:
            hit.story_size, hit.story_languages, hit.story_sources = size.size, size.languages, size.sources


def search(
    text: str | None = None,
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    limit: int = 10,
    facets: bool = False,
    collapse: bool = False,
    backend: SearchBackend | None = None,
    settings: SearchSettings | Settings | None = None,
) -> SearchResult:
    """Search the articles alias. Without ``backend`` one is made from ``settings`` and closed.

    ``collapse``: one hit per story, with the size, languages and sources of the whole story;
    articles without a story are hits of their own. Two round trips: one multi-search for the hits
    and counts, one aggregation over the stories of the hits."""
    args = {"lang": lang, "entity": entity, "topic": topic, "source": source, "since": since, "until": until}
    with using_backend(backend, settings) as b:
        if not collapse:
            return parse_response(b.search(build_query(text, limit=limit, facets=facets, **args)))
        result = parse_collapsed(b.msearch(build_collapsed_search(text, limit=limit, facets=facets, **args)), limit)
        story_ids = [h.story_id for h in result.hits if h.story_id]
        if story_ids:
            add_story_sizes(result, b.search(build_story_sizes_query(story_ids)))
        return result
