"""Search layer: index template, Elasticsearch/OpenSearch backends, safe queries. No Kafka here."""

from streams.search.backends import (
    DocError,
    ElasticsearchBackend,
    OpenSearchBackend,
    SearchBackend,
    SearchError,
    TransientSearchError,
    make_backend,
)
from streams.search.queries import Hit, InvalidQuery, SearchResult, build_query, search

__all__ = [
    "DocError",
    "ElasticsearchBackend",
    "Hit",
    "InvalidQuery",
    "OpenSearchBackend",
    "SearchBackend",
    "SearchError",
    "SearchResult",
    "TransientSearchError",
    "build_query",
    "make_backend",
    "search",
]
