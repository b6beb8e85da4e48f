"""Build safe search requests and turn responses into plain results.

User text only ever goes into ``simple_query_string``: it never raises on odd syntax and offers no
scripts, regexes or field overrides. Everything else is an exact-term filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from streams.contracts.dates import is_date_only, parse_time
from streams.search.backends import SearchBackend, SearchError, make_backend
from streams.search.template import LANGUAGE_ANALYZERS, TEXT_FIELDS, language_field
from streams.settings import SearchSettings, Settings, get_settings

MAX_LIMIT = 10_000  # the engines' default index.max_result_window
FACET_SIZE = 10
TOP_ENTITIES = 5
_QID = re.compile(r"^Q\d+$", re.IGNORECASE)
_FACETS = {
    "entities": "entity_names",
    "topics": "topics.label",
    "languages": "language",
    "sources": "source",
}
_SOURCE_FIELDS = ["id", "url", "title", "published_at", "language", "source", "entity_names", "topics"]


class InvalidQuery(SearchError, ValueError):
    """A malformed search argument (bad date, limit…); both a SearchError and a ValueError."""


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


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    # facet name ("entities", "topics", "languages", "sources", "dates") -> [(value, count)]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


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


def parse_when(value: str | date | datetime, name: str) -> tuple[datetime, bool]:
    """(UTC datetime, date_only). Naive values are taken as UTC, like the engine does."""
    if isinstance(value, datetime):
        return parse_time(value.isoformat()), False
    if isinstance(value, date):
        return parse_time(value.isoformat()), True
    try:
        return parse_time(str(value)), is_date_only(str(value))
    except ValueError as exc:
        raise InvalidQuery(f"{name}: {exc}") from None


def _date_range(since: Any, until: Any) -> dict | None:
    rng: dict[str, str] = {}
    start = end = None
    if since not in (None, ""):
        start, _ = parse_when(since, "since")
        rng["gte"] = start.isoformat()
    if until not in (None, ""):
        end, date_only = parse_when(until, "until")
        if date_only:  # a date means the whole day
            end += timedelta(days=1)
            rng["lt"] = end.isoformat()
        else:
            rng["lte"] = end.isoformat()
    if start and end and start >= end:
        raise InvalidQuery(f"since ({since}) must be before until ({until})")
    return {"range": {"published_at": rng}} if rng else None


def _entity_filter(entity: str) -> dict:
    if _QID.match(entity):
        return {"term": {"entity_ids": entity.upper()}}
    # canonical name (exact) or the surface form as written in the article
    return {
        "bool": {
            "should": [{"term": {"entity_names": entity}}, {"term": {"entity_texts": entity}}],
            "minimum_should_match": 1,
        }
    }


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
    """The query of the search filters alone (no paging, sorting or highlights): what ``search`` runs
    and what a saved-search alert stores as its percolator query. Raises InvalidQuery."""
    lang = (lang or "").strip().lower() or None
    entity, topic, source = ((v or "").strip() or None for v in (entity, topic, source))
    text = (text or "").strip()

    filters: list[dict] = []
    if lang:
        filters.append({"term": {"language": lang}})
    if entity:
        filters.append(_entity_filter(entity))
    if topic:
        filters.append(
            {
                "bool": {
                    "should": [{"term": {"topics.code": topic}}, {"term": {"topics.label": topic}}],
                    "minimum_should_match": 1,
                }
            }
        )
    if source:
        filters.append({"term": {"source": source}})
    rng = _date_range(since, until)
    if rng:
        filters.append(rng)

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
) -> dict[str, Any]:
    """The search request body. Raises InvalidQuery (a ValueError) for malformed arguments."""
    if not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be an integer between 0 and {MAX_LIMIT}, got {limit!r}")
    query = filter_query(text, lang=lang, entity=entity, topic=topic, source=source, since=since, until=until)
    lang = (lang or "").strip().lower() or None
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
            )
        )
    total = resp.get("hits", {}).get("total", 0)
    total = total.get("value", 0) if isinstance(total, dict) else int(total)
    facets = {
        name: [(b.get("key_as_string", b["key"]), b["doc_count"]) for b in agg.get("buckets", [])]
        for name, agg in resp.get("aggregations", {}).items()
    }
    return SearchResult(total=total, hits=hits, facets=facets)


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
    backend: SearchBackend | None = None,
    settings: SearchSettings | Settings | None = None,
) -> SearchResult:
    """Search the articles alias. Without ``backend`` one is made from ``settings`` and closed."""
    body = build_query(
        text, lang=lang, entity=entity, topic=topic, source=source,
        since=since, until=until, limit=limit, facets=facets,
    )  # fmt: skip
    own = backend is None
    if own:
        if isinstance(settings, Settings):
            settings = settings.search
        backend = make_backend(settings or get_settings().search)
    try:
        return parse_response(backend.search(body))
    finally:
        if own:
            backend.close()
