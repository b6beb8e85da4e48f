"""The exact-term filters shared by every query on the articles alias (search, stories).

User text never goes here: each argument becomes a term or range filter, so odd input can only match
nothing. Malformed arguments raise InvalidQuery.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from streams.contracts.dates import is_date_only, parse_time
from streams.search.backends import SearchError

_QID = re.compile(r"^Q\d+$", re.IGNORECASE)


class InvalidQuery(SearchError, ValueError):
    """A malformed search argument (bad date, limit…); both a SearchError and a ValueError."""


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


def date_range(since: Any, until: Any) -> dict | None:
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


def entity_filter(entity: str) -> dict:
    if _QID.match(entity):
        return {"term": {"entity_ids": entity.upper()}}
    # canonical name (exact) or the surface form as written in the article
    return {
        "bool": {
            "should": [{"term": {"entity_names": entity}}, {"term": {"entity_texts": entity}}],
            "minimum_should_match": 1,
        }
    }


def check_limit(limit: Any, maximum: int) -> None:
    if not isinstance(limit, int) or not 0 <= limit <= maximum:
        raise InvalidQuery(f"limit must be an integer between 0 and {maximum}, got {limit!r}")


def article_filters(
    *,
    lang: str | None = None,
    entity: str | None = None,
    topic: str | None = None,
    source: str | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
) -> list[dict]:
    """The filter clauses for these arguments (blank ones are ignored). ``lang`` is expected normalised
    (lower case, stripped) by the caller, which also uses it to choose the text fields."""
    entity, topic, source = ((v or "").strip() or None for v in (entity, topic, source))
    filters: list[dict] = []
    if lang:
        filters.append({"term": {"language": lang}})
    if entity:
        filters.append(entity_filter(entity))
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
    rng = date_range(since, until)
    if rng:
        filters.append(rng)
    return filters


def normalise_lang(lang: str | None) -> str | None:
    return (lang or "").strip().lower() or None
