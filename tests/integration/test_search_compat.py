"""Error mapping of both search backends on the wire, and our Elasticsearch backend's client code
checked against OpenSearch through the compatibility proxy (es_compat_proxy.py).

None of this is a test against Elasticsearch: the "elasticsearch-compat" kind is the official
elasticsearch 8 client (our ElasticsearchBackend) talking to OpenSearch through the proxy. Faults
(429, 5xx, odd bodies, a dropped connection) are answered by the proxy itself, for both kinds, so
the two backends must map the same answer to the same error.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from es_compat_proxy import EsCompatProxy
from harness import drop_alias

from streams.search import SearchBackend, SearchError, TransientSearchError, make_backend, template
from streams.settings import SearchSettings

pytestmark = pytest.mark.search_kinds

PROJECT = Path(__file__).resolve().parents[2]
DOC = {
    "id": "doc-1",
    "source": "nos.nl",
    "title": "Poetin dreigt de gaspijpleidingen af te sluiten",
    "body": "Volgens het Kremlin blijven de gaspijpleidingen dicht.",
    "published_at": "2024-03-01T08:00:00Z",
    "language": "nl",
    "entity_names": ["Vladimir Putin"],
}


@contextlib.contextmanager
def opened(settings: SearchSettings) -> Iterator[SearchBackend]:
    backend = make_backend(settings)
    try:
        backend.ensure_index()
        yield backend
    finally:
        with contextlib.suppress(Exception):
            drop_alias(backend)
        backend.close()


def unique(settings: SearchSettings, **update: object) -> SearchSettings:
    return settings.model_copy(update={"alias": f"{settings.alias}-{uuid.uuid4().hex[:6]}", **update})


@pytest.fixture(scope="module")
def proxied(kind_settings: SearchSettings, es_compat_proxy: EsCompatProxy) -> Iterator[SearchBackend]:
    """A backend of the test's kind whose every request goes through the proxy (the OpenSearch
    client's too: the proxy passes its plain JSON through), with an index of its own."""
    with opened(unique(kind_settings, url=es_compat_proxy.url)) as backend:
        yield backend


def _error(etype: str, reason: str, status: int) -> str:
    return json.dumps({"error": {"type": etype, "reason": reason}, "status": status})


ACTIONS: dict[str, tuple[str, Callable[[SearchBackend], object]]] = {
    # action: (the request path the fault answers, the call)
    "bulk": (r"/_bulk", lambda b: b.bulk_index([DOC])),
    "search": (r"/_search", lambda b: b.search({"query": {"match_all": {}}})),
    "get": (r"/_doc/", lambda b: b.get("doc-1")),
    "count": (r"/_count", lambda b: b.count()),
    "refresh": (r"/_refresh", lambda b: b.refresh()),
    "ensure_index": (r"^/_index_template/", lambda b: b.ensure_index()),
}

# (action, status or None for a dropped connection, body, content type, error class, error_type)
FAULTS = [
    pytest.param(
        "bulk", 429, _error("es_rejected_execution_exception", "rejected execution of bulk", 429),
        "application/json", TransientSearchError, "es_rejected_execution_exception", id="bulk-429",
    ),
    pytest.param(
        "search", 429, _error("circuit_breaking_exception", "[parent] Data too large", 429),
        "application/json", TransientSearchError, "circuit_breaking_exception", id="search-429",
    ),
    pytest.param(
        "search", 503, _error("cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/1/no master]", 503),
        "application/json", TransientSearchError, "cluster_block_exception", id="search-503",
    ),
    pytest.param(
        "get", 500, _error("null_pointer_exception", "boom", 500),
        "application/json", TransientSearchError, "null_pointer_exception", id="get-500",
    ),
    pytest.param(
        "refresh", 408, _error("timeout_exception", "took too long", 408),
        "application/json", TransientSearchError, "timeout_exception", id="refresh-408",
    ),
    # Load balancers and gateways in front of an engine answer 5xx in their own words.
    pytest.param(
        "count", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "text/html", TransientSearchError, None, id="count-502-html",
    ),
    pytest.param(
        "bulk", 503, "upstream connect error or disconnect/reset before headers",
        None, TransientSearchError, None, id="bulk-503-no-content-type",
    ),
    pytest.param(
        "search", 504, "<html><body>504 Gateway Time-out</body></html>",
        "application/json", TransientSearchError, None, id="search-504-not-json",
    ),
    pytest.param(
        "bulk", 503, "overloaded", "application/octet-stream", TransientSearchError, None, id="bulk-503-octet-stream",
    ),
    # The index agent splits a bulk request on 413 (and never retries it as is).
    pytest.param("bulk", 413, "", None, SearchError, None, id="bulk-413-empty"),
    pytest.param(
        "ensure_index", 401, _error("security_exception", "missing authentication credentials", 401),
        "application/json", SearchError, "security_exception", id="ensure_index-401",
    ),
    pytest.param(
        "search", 403, _error("security_exception", "no permissions for [indices:data/read/search]", 403),
        "application/json", SearchError, "security_exception", id="search-403",
    ),
    pytest.param("bulk", None, "", None, TransientSearchError, None, id="bulk-connection-dropped"),
    pytest.param("count", 200, "this is not JSON", "application/json", SearchError, None, id="count-200-not-json"),
]  # fmt: skip


@pytest.mark.parametrize(("action", "status", "body", "content_type", "error", "error_type"), FAULTS)
def test_error_answers_map_the_same_for_both_backends(
    proxied, es_compat_proxy, action, status, body, content_type, error, error_type
):
    path, call = ACTIONS[action]
    with (
        es_compat_proxy.fault(status, body, content_type=content_type, path=path) as fault,
        pytest.raises(SearchError) as info,
    ):
        call(proxied)
    assert fault.times == 0, "the request never reached the fault"
    exc = info.value
    assert type(exc) is error, exc
    if status is not None and status >= 300:
        assert exc.status == status, exc
        assert f"answered {status}" in str(exc)
    else:  # no HTTP error status to report
        assert exc.status is None, exc
    assert exc.error_type == error_type


def test_a_lost_index_creation_race_is_fine(proxied, es_compat_proxy):
    # Another worker creates the index between our alias check and our create: the engine answers
    # resource_already_exists_exception, and the alias exists after all.
    with es_compat_proxy.fault(404, "", content_type=None, method="HEAD", path="^/_alias/") as fault:
        proxied.ensure_index()
    assert fault.times == 0
    create = [e for e in es_compat_proxy.exchanges if e.method == "PUT" and e.path.startswith(f"/{proxied.alias}-")]
    assert create[-1].status == 400  # the engine refused the second create


# --- real 4xx answers of the engine -----------------------------------------------------------------


def test_missing_alias(kind_settings):
    b = make_backend(unique(kind_settings))
    try:
        for call in (b.count, b.refresh, lambda: b.search({"query": {"match_all": {}}})):
            with pytest.raises(SearchError) as info:
                call()
            assert type(info.value) is SearchError
            assert (info.value.status, info.value.error_type) == (404, "index_not_found_exception")
        assert b.get("doc-1") is None
        with pytest.raises(SearchError, match="ensure_index") as info:
            b.bulk_index([DOC])
        assert type(info.value) is SearchError and info.value.status == 404
    finally:
        b.close()


def test_a_query_the_engine_cannot_parse_is_a_400(backend):
    with pytest.raises(SearchError) as info:
        backend.search({"query": {"no_such_query": {"field": "x"}}})
    assert type(info.value) is SearchError
    assert (info.value.status, info.value.error_type) == (400, "parsing_exception")


def test_get_falls_back_to_search_while_the_alias_spans_two_indices(fresh_backend):
    assert fresh_backend.bulk_index([DOC]) == []
    client, alias = fresh_backend.client, fresh_backend.alias
    # A rebuild in progress: a second index behind the alias (not the write index).
    second = template.first_index(alias).replace("000001", "000002")
    client.indices.create(index=second)
    client.indices.put_alias(index=second, name=alias)
    fresh_backend.refresh()
    assert fresh_backend.get("doc-1")["title"] == DOC["title"]
    assert fresh_backend.get("nothing") is None


# --- the compatibility proxy itself: what it changes and why -------------------------------------


@pytest.fixture
def compat_only(search_settings):
    """The session settings, for tests of the Elasticsearch client on OpenSearch."""
    if search_settings.backend != "opensearch":
        pytest.skip("the compatibility proxy is for the Elasticsearch client on OpenSearch")
    return search_settings


def test_the_proxy_rewrites_only_the_media_types_and_adds_the_product_header(compat_only):
    with EsCompatProxy(compat_only.url) as proxy:
        es = unique(compat_only, backend="elasticsearch", url=proxy.url)
        with opened(es) as b:
            assert b.ping()
            assert b.bulk_index([DOC]) == []
            b.refresh()
            assert b.search({"query": {"match": {"title": "gaspijpleidingen"}}})["hits"]["total"]["value"] == 1
            info = dict(b.client.info())  # GET / passes unchanged: the client does not check it
            assert info["version"]["distribution"] == "opensearch"
        seen = {(e.method, e.path.split("?")[0].replace(es.alias, "ALIAS")): e for e in proxy.exchanges}
        bulk, search = seen["PUT", "/ALIAS/_bulk"], seen["POST", "/ALIAS/_search"]
        assert bulk.content_type == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
        assert bulk.forwarded_content_type == "application/x-ndjson"
        assert search.content_type == "application/vnd.elasticsearch+json; compatible-with=8"
        assert search.forwarded_content_type == search.forwarded_accept == "application/json"
        assert search.answered_content_type == "application/vnd.elasticsearch+json;compatible-with=8"
        assert "x-elastic-product" not in {k.lower() for k in search.upstream_headers}

        proxy.exchanges.clear()
        with opened(unique(compat_only, url=proxy.url)) as b:  # the OpenSearch client: nothing to rewrite
            b.search({"query": {"match_all": {}}})
        assert proxy.exchanges and all(
            (e.content_type, e.accept) == (e.forwarded_content_type, e.forwarded_accept) for e in proxy.exchanges
        )


def test_without_the_rewrites_the_backend_says_what_is_wrong(compat_only):
    # Pointed at OpenSearch itself, the Elasticsearch client's media type is refused (406).
    b = make_backend(unique(compat_only, backend="elasticsearch"))
    try:
        with pytest.raises(SearchError, match="this may be OpenSearch") as info:
            b.ensure_index()
        assert type(info.value) is SearchError and info.value.status == 406
    finally:
        b.close()
    # Without the product header the client refuses any 2xx answer (after the engine did the work).
    settings = unique(compat_only)
    with EsCompatProxy(compat_only.url, product_header=False) as proxy:
        b = make_backend(settings.model_copy(update={"backend": "elasticsearch", "url": proxy.url}))
        try:
            assert b.ping() is False
            with pytest.raises(SearchError, match="this is not Elasticsearch") as info:
                b.ensure_index()
            assert type(info.value) is SearchError and info.value.status is None
        finally:
            b.close()
            cleanup = make_backend(settings)
            drop_alias(cleanup)  # the index template was stored
            cleanup.close()


def test_cli_search_with_the_elasticsearch_backend(compat_only, es_compat_proxy):
    # `newsstreams search` as a user runs it, configured for Elasticsearch (the proxy's URL).
    settings = unique(compat_only, backend="elasticsearch", url=es_compat_proxy.url)
    env = {
        **os.environ,
        "NEWSSTREAMS_SEARCH__BACKEND": "elasticsearch",
        "NEWSSTREAMS_SEARCH__URL": es_compat_proxy.url,
        "NEWSSTREAMS_SEARCH__ALIAS": settings.alias,
    }

    def cli(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "streams", "search", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, cwd=PROJECT)

    with opened(settings) as b:
        assert b.bulk_index([DOC]) == []
        b.refresh()
        found = cli("poetin", "--json", "--facets")
        assert found.returncode == 0, found.stderr
        data = json.loads(found.stdout)
        assert [h["id"] for h in data["hits"]] == ["doc-1"]
        assert "<em>Poetin</em>" in data["hits"][0]["highlights"]["title"][0]
        assert data["facets"]["entities"] == [["Vladimir Putin", 1]]
        with es_compat_proxy.fault(503, "Service Unavailable", content_type="text/plain", path="/_search"):
            down = cli("poetin")
        assert down.returncode == 2 and "unavailable" in down.stderr and "Traceback" not in down.stderr
