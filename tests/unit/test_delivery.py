"""The index agent's batching rules, over a small in-memory stand-in for the engine (pure logic; the
real engine is exercised by tests/integration/test_pipeline.py)."""

from __future__ import annotations

import asyncio

from streams.search import SearchError, TransientSearchError
from streams.settings import Settings
from streams.worker.delivery import index_documents

WORKER = Settings().worker.model_copy(update={"retry_backoff_initial_s": 0.01, "retry_backoff_max_s": 0.02})


class EngineStandIn:
    """Accepts at most ``limit`` documents per request (413 above), after ``outages`` transient errors."""

    def __init__(self, limit: int, outages: int = 0, too_big: set[str] = frozenset()):
        self.limit, self.outages, self.too_big = limit, outages, too_big
        self.requests: list[int] = []
        self.indexed: list[str] = []

    def bulk_index(self, docs: list[dict]) -> list:
        self.requests.append(len(docs))
        if self.outages:
            self.outages -= 1
            raise TransientSearchError("engine down")
        if len(docs) > self.limit or any(d["id"] in self.too_big for d in docs):
            raise SearchError("request entity too large", status=413)
        self.indexed += [d["id"] for d in docs]
        return []


def _docs(n: int) -> list[dict]:
    return [{"id": f"d{i}", "pipeline": {}} for i in range(n)]


def test_too_large_batches_are_split_until_they_fit() -> None:
    engine = EngineStandIn(limit=3)
    assert asyncio.run(index_documents(engine, _docs(10), WORKER)) == []
    assert sorted(engine.indexed) == sorted(f"d{i}" for i in range(10))
    assert engine.requests == [10, 5, 2, 3, 5, 2, 3]  # halves until each request fits


def test_single_oversized_document_becomes_a_doc_error_and_the_rest_is_indexed() -> None:
    engine = EngineStandIn(limit=100, too_big={"d2"})
    errors = asyncio.run(index_documents(engine, _docs(5), WORKER))
    assert [(e.doc_id, e.status, e.position) for e in errors] == [("d2", 413, 2)]
    assert sorted(engine.indexed) == ["d0", "d1", "d3", "d4"]


def test_transient_errors_are_retried_until_accepted() -> None:
    engine = EngineStandIn(limit=100, outages=3)
    assert asyncio.run(index_documents(engine, _docs(4), WORKER)) == []
    assert engine.requests == [4, 4, 4, 4] and len(engine.indexed) == 4
