"""The metrics index (template, write alias, append-only bulk) against the real search engine.

Each test gets a metrics alias of its own (``newsstreams-metrics-test-<hex>``), dropped afterwards.
Tests on ``metrics_backend`` run once per search kind (conftest.search_kinds).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

from streams.search import SearchBackend, SearchError, make_backend, template
from streams.settings import SearchSettings

pytestmark = [pytest.mark.integration, pytest.mark.search_kinds]

T0 = "2025-01-01T10:00:00Z"
T1 = "2025-01-01T10:00:10Z"


def _stage(ts: str, stage: str, n_in: int, n_out: int, **extra) -> dict:
    doc = {
        "@timestamp": ts,
        "worker_id": "w1",
        "kind": "stage",
        "interval_s": 10.0,
        "stage": stage,
        "articles_in": n_in,
        "articles_out": n_out,
        "dlq": n_in - n_out,
        "batches": 2,
        "batch_size_avg": n_in / 2,
        "batch_size_max": n_in,
        "latency_p50_ms": 12.5,
        "latency_p95_ms": 40.0,
        "latency_p99_ms": 55.5,
    }
    return doc | extra


DOCS = [
    _stage(T0, "enrich", 120, 118),
    _stage(T1, "enrich", 80, 80),
    _stage(T0, "index", 118, 118, e2e_p50_ms=900.0, e2e_p95_ms=1500.0, e2e_p99_ms=2100.0),
    {
        "@timestamp": T0,
        "worker_id": "w1",
        "kind": "dlq",
        "interval_s": 10.0,
        "stage": "validate",
        "reason": "invalid_json",
        "count": 1,
    },
    {
        "@timestamp": T0,
        "worker_id": "w1",
        "kind": "dlq",
        "interval_s": 10.0,
        "stage": "enrich",
        "reason": "enrich_failed",
        "count": 1,
    },
    {
        "@timestamp": T1,
        "worker_id": "w1",
        "kind": "dlq",
        "interval_s": 10.0,
        "stage": "validate",
        "reason": "invalid_json",
        "count": 3,
    },
    *(
        {
            "@timestamp": T1,
            "worker_id": "w1",
            "kind": "lag",
            "interval_s": 10.0,
            "group": "newsstreams",
            "topic": "articles.raw",
            "partition": p,
            "committed": 100 + p,
            "end_offset": 110 + p,
            "lag": 10,
        }
        for p in range(4)
    ),
]


@pytest.fixture
def metrics_backend(kind_settings: SearchSettings) -> Iterator[SearchBackend]:
    alias = f"newsstreams-metrics-test-{uuid.uuid4().hex[:8]}"
    backend = make_backend(kind_settings.model_copy(update={"metrics_alias": alias}))
    if not backend.ping():
        backend.close()
        pytest.fail(f"search engine not reachable at {kind_settings.url}: newsstreams stack up", pytrace=False)
    try:
        yield backend
    finally:
        client = backend.client  # type: ignore[attr-defined]
        resp = client.indices.get(index=template.index_pattern(alias), ignore_unavailable=True)
        names = list(getattr(resp, "body", resp))
        if names:
            client.indices.delete(index=",".join(names))
        with contextlib.suppress(Exception):
            client.indices.delete_index_template(name=template.template_name(alias))
        backend.close()


def _plain(resp):
    return getattr(resp, "body", resp)


def test_ensure_write_count_and_aggregate(metrics_backend: SearchBackend) -> None:
    alias = metrics_backend.settings.metrics_alias  # type: ignore[attr-defined]
    client = metrics_backend.client  # type: ignore[attr-defined]

    metrics_backend.ensure_metrics_index()
    metrics_backend.ensure_metrics_index()  # idempotent: same template, alias already there
    aliases = _plain(client.indices.get_alias(name=alias))
    assert list(aliases) == [template.first_index(alias)]
    assert aliases[template.first_index(alias)]["aliases"][alias].get("is_write_index") is True
    mapping = _plain(client.indices.get_mapping(index=alias))[template.first_index(alias)]["mappings"]
    assert mapping["dynamic"] in (False, "false")
    assert mapping["properties"]["partition"]["type"] == "integer"

    metrics_backend.write_metrics(DOCS)
    metrics_backend.write_metrics(DOCS[:1])  # append-only: the same sample again is a new document
    metrics_backend.write_metrics([])
    client.indices.refresh(index=alias)

    assert _plain(client.count(index=alias))["count"] == len(DOCS) + 1
    body = {
        "size": 0,
        "aggs": {
            "reasons": {
                "filter": {"term": {"kind": "dlq"}},
                "aggs": {"by": {"terms": {"field": "reason"}, "aggs": {"n": {"sum": {"field": "count"}}}}},
            },
            "stages": {
                "filter": {"term": {"kind": "stage"}},
                "aggs": {
                    "by": {
                        "terms": {"field": "stage"},
                        "aggs": {"in": {"sum": {"field": "articles_in"}}, "p99": {"max": {"field": "latency_p99_ms"}}},
                    }
                },
            },
            "e2e": {"max": {"field": "e2e_p99_ms"}},
            "lag": {
                "filter": {"term": {"kind": "lag"}},
                "aggs": {"parts": {"terms": {"field": "partition"}}, "total": {"sum": {"field": "lag"}}},
            },
            "timeline": {"date_histogram": {"field": "@timestamp", "fixed_interval": "10s"}},
        },
    }
    aggs = _plain(client.search(index=alias, body=body))["aggregations"]

    reasons = {b["key"]: (b["doc_count"], b["n"]["value"]) for b in aggs["reasons"]["by"]["buckets"]}
    assert reasons == {"invalid_json": (2, 4), "enrich_failed": (1, 1)}
    stages = {b["key"]: (b["in"]["value"], b["p99"]["value"]) for b in aggs["stages"]["by"]["buckets"]}
    assert stages == {"enrich": (120 + 80 + 120, 55.5), "index": (118, 55.5)}  # + the repeated sample
    assert aggs["e2e"]["value"] == 2100.0
    assert sorted(b["key"] for b in aggs["lag"]["parts"]["buckets"]) == [0, 1, 2, 3]
    assert aggs["lag"]["total"]["value"] == 40
    assert [b["doc_count"] for b in aggs["timeline"]["buckets"]] == [4 + 1, 6]  # T0: 4 + the repeated sample


def test_unknown_fields_are_kept_but_not_indexed(metrics_backend: SearchBackend) -> None:
    alias = metrics_backend.settings.metrics_alias  # type: ignore[attr-defined]
    client = metrics_backend.client  # type: ignore[attr-defined]
    metrics_backend.ensure_metrics_index()
    metrics_backend.write_metrics([{"@timestamp": T0, "worker_id": "w2", "kind": "stage", "new_field": "x"}])
    client.indices.refresh(index=alias)
    hits = _plain(client.search(index=alias, body={"query": {"term": {"worker_id": "w2"}}}))["hits"]["hits"]
    assert hits[0]["_source"]["new_field"] == "x"
    mapping = _plain(client.indices.get_mapping(index=alias))[template.first_index(alias)]["mappings"]
    assert "new_field" not in mapping["properties"]


def test_rejected_document_raises(metrics_backend: SearchBackend) -> None:
    metrics_backend.ensure_metrics_index()
    with pytest.raises(SearchError, match="1 of 2 document"):
        metrics_backend.write_metrics(
            [
                {"@timestamp": T0, "worker_id": "w1", "kind": "stage", "articles_in": 3},
                {"@timestamp": T0, "worker_id": "w1", "kind": "stage", "articles_in": "many"},
            ]
        )


def test_missing_alias_raises_search_error(metrics_backend: SearchBackend) -> None:
    # No ensure_metrics_index(): require_alias keeps the engine from creating a plain index.
    with pytest.raises(SearchError, match="ensure_metrics_index"):
        metrics_backend.write_metrics(DOCS[:1])
    client = metrics_backend.client  # type: ignore[attr-defined]
    alias = metrics_backend.settings.metrics_alias  # type: ignore[attr-defined]
    assert not client.indices.exists(index=alias)


def test_metrics_alias_must_differ_from_articles_alias(search_settings: SearchSettings) -> None:
    settings = search_settings.model_copy(update={"metrics_alias": search_settings.alias})
    backend = make_backend(settings)
    try:
        with pytest.raises(SearchError, match="must differ"):
            backend.ensure_metrics_index()
    finally:
        backend.close()
