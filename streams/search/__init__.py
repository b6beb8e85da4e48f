"""Search layer: index template, Elasticsearch/OpenSearch backends, safe queries, stories. No Kafka here."""

from streams.search.backends import (
    DocError,
    ElasticsearchBackend,
    OpenSearchBackend,
    SearchBackend,
    SearchError,
    TransientSearchError,
    make_backend,
)
from streams.search.queries import Hit, InvalidQuery, SearchResult, build_collapsed_search, build_query, search
from streams.search.stories import StoriesResult, Story, build_stories_query, parse_stories, top_stories

__all__ = [
    "DocError",
    "ElasticsearchBackend",
    "Hit",
    "InvalidQuery",
    "OpenSearchBackend",
    "SearchBackend",
    "SearchError",
    "SearchResult",
    "StoriesResult",
    "Story",
    "TransientSearchError",
    "build_collapsed_search",
    "build_query",
    "build_stories_query",
    "make_backend",
    "parse_stories",
    "search",
    "top_stories",
]
