"""An alert as data: a name plus the search command's filters, stored as a percolator query.

Pure: no search client, no Kafka. The query is built by the search layer's ``filter_query``, so an
alert matches exactly what ``newsstreams search`` with the same arguments finds (without paging).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from streams.contracts.dates import utc_now_iso
from streams.contracts.languages import normalise_language
from streams.search.queries import filter_query

MAX_NAME_CHARS = 100
_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # no "|": it separates alert and article in ledger keys
FILTERS = ("query", "entity", "topic", "lang", "source")


class InvalidAlert(ValueError):
    """An alert definition that cannot be stored; the message says what to change."""


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidAlert("an alert needs a name")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise InvalidAlert(f"alert name too long ({len(name)} characters, at most {MAX_NAME_CHARS})")
    if not _NAME.fullmatch(name):
        bad = sorted({c for c in name if not _NAME.fullmatch(c)})
        raise InvalidAlert(
            f"alert name {name!r} has {' '.join(repr(c) for c in bad)}: use letters, digits, '_', '.' and '-'"
        )
    return name


def validate_webhook(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidAlert(f"webhook must be an http(s) URL with a host, got {url!r}")
    return url


def _filters(query: str | None, entity: str | None, topic: str | None, lang: str | None, source: str | None) -> dict:
    values = dict(zip(FILTERS, (query, entity, topic, lang, source), strict=True))
    out = {key: value.strip() for key, value in values.items() if isinstance(value, str) and value.strip()}
    if "lang" in out and out["lang"].lower() != "und":
        try:
            out["lang"] = normalise_language(out["lang"])
        except ValueError as exc:
            raise InvalidAlert(str(exc)) from None
    elif "lang" in out:
        out["lang"] = "und"
    return out


def alert_document(
    name: str,
    query: str | None = None,
    *,
    entity: str | None = None,
    topic: str | None = None,
    lang: str | None = None,
    source: str | None = None,
    webhook: str | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """The document stored in the alerts index (``_id`` = name). An alert with no query and no filter
    would match every article: refused."""
    name = validate_name(name)
    filters = _filters(query, entity, topic, lang, source)
    if not filters:
        raise InvalidAlert(f"alert {name!r} needs a query or at least one of --entity, --topic, --lang, --source")
    percolator = filter_query(
        filters.get("query"),
        entity=filters.get("entity"),
        topic=filters.get("topic"),
        lang=filters.get("lang"),
        source=filters.get("source"),
    )
    return {
        "query": percolator,
        "name": name,
        "filters": filters,
        "webhook": validate_webhook(webhook),
        "created_at": created_at or utc_now_iso(),
    }


def describe(alert: dict[str, Any]) -> str:
    """One line for ``alerts list``: the filters as the command line would give them."""
    filters = alert.get("filters") or {}
    parts = [repr(filters["query"])] if filters.get("query") else []
    parts += [f"--{key} {filters[key]}" for key in FILTERS[1:] if filters.get(key)]
    return " ".join(parts)
