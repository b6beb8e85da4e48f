"""Mappings of the two alert indices: the percolator queries and the ledger of delivered pairs."""

from __future__ import annotations

from typing import Any

from streams.search import SearchBackend, template
from streams.settings import AlertsSettings


def alerts_mappings() -> dict[str, Any]:
    """The articles properties plus the percolator field: a stored query is parsed against the same
    fields and analyzers as ``newsstreams search`` uses on the articles alias."""
    articles = template.mappings()
    return {
        "dynamic": False,
        "_meta": {"managed_by": "newsstreams", "articles_template_version": template.TEMPLATE_VERSION},
        "properties": {
            **articles["properties"],
            "query": {"type": "percolator"},
            "name": {"type": "keyword"},
            "filters": {"type": "object", "enabled": False},
            "webhook": {"type": "keyword", "index": False},
            "created_at": {"type": "date"},
        },
    }


def ledger_mappings() -> dict[str, Any]:
    """One document per (alert, article), ``_id`` = the record key ``<alert>|<article id>``."""
    return {
        "dynamic": False,
        "properties": {
            "alert": {"type": "keyword"},
            "article_id": {"type": "keyword"},
            "state": {"type": "keyword"},  # pending | sent
            "partition": {"type": "integer"},
            "offset": {"type": "long"},  # the partition's end offset before the record was sent
            "owner": {"type": "keyword"},  # the worker process that claimed it
            "claimed_at": {"type": "date"},
            "sent_at": {"type": "date"},
            "record": {"type": "object", "enabled": False},  # the record as sent (a resend is identical)
        },
    }


def ensure_alert_indices(backend: SearchBackend, alerts: AlertsSettings) -> None:
    """The alerts and ledger indices (idempotent; a newer articles mapping adds its fields)."""
    backend.ensure_plain_index(alerts.index, alerts_mappings())
    backend.ensure_plain_index(alerts.ledger_index, ledger_mappings())
