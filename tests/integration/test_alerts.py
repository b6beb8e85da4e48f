"""Saved-search alerts against the real Kafka and search engine: add/list/remove, one record per
matching (alert, article) and none on re-processing, "pending" ledger entries resolved both ways, a
webhook receiver stub, and the percolate time of a 500-document batch."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from faults import report
from harness import Pipeline

from streams.alerts import records
from streams.alerts.ledger import PENDING, Entry, Ledger
from streams.alerts.manage import add_alert, list_alerts, remove_alert
from streams.alerts.mapping import ensure_alert_indices
from streams.alerts.stage import AlertsStage
from streams.kafka.consumer import read_all
from streams.search import SearchBackend, make_backend
from streams.settings import SearchSettings, Settings

pytestmark = pytest.mark.search_kinds  # OpenSearch, and our Elasticsearch client through the compat proxy


@pytest.fixture
def alert_settings(kind_settings: SearchSettings, make_topic: Callable[..., str]) -> Iterator[Settings]:
    """Settings with an alerts topic, alerts index and ledger of this test's own (dropped afterwards)."""
    tag = uuid.uuid4().hex[:8]
    base = Settings()
    settings = base.model_copy(
        update={
            "search": kind_settings,
            "alerts": base.alerts.model_copy(
                update={
                    "index": f"alerts-test-{tag}",
                    "ledger_index": f"alerts-test-{tag}-sent",
                    "topic": make_topic("alerts", 3),
                    "pending_lease_s": 3.0,
                    "send_timeout_s": 1.0,
                    "webhook_timeout_s": 1.0,
                }
            ),
            "worker": base.worker.model_copy(update={"retry_backoff_initial_s": 0.05, "retry_backoff_max_s": 1}),
        }
    )
    yield settings
    search = make_backend(kind_settings)
    with contextlib.suppress(Exception):
        search.client.indices.delete(index=f"{settings.alerts.index},{settings.alerts.ledger_index}")
    search.close()


@pytest.fixture
def search(alert_settings: Settings) -> Iterator[SearchBackend]:
    backend = make_backend(alert_settings.search)
    ensure_alert_indices(backend, alert_settings.alerts)
    yield backend
    backend.close()


def _doc(i: int, **fields) -> dict:
    return {
        "id": f"doc-{i}",
        "title": fields.pop("title", f"Bericht {i}"),
        "body": fields.pop("body", "Niets bijzonders vandaag."),
        "language": fields.pop("language", "nl"),
        "source": fields.pop("source", "nos.nl"),
        "published_at": "2026-12-01T10:00:00Z",
        **fields,
    }


DOCS = [
    _doc(0, title="Poetin ontmoet Xi in Peking", entity_ids=["Q7747", "Q15031"]),
    _doc(1, title="Putin meets Xi", language="en", source="bbc.co.uk", entity_ids=["Q7747"]),
    _doc(2, title="Ajax wint van PSV", topics=[{"code": "medtop:15000000", "label": "sport"}]),
    _doc(3, title="Regen in het noorden"),
    _doc(4, title="Leidingen onder druk", body="Alle gaspijpleidingen liggen stil."),
]
# what `newsstreams search` with the same filters finds: the stored queries are its queries
ALERTS = {
    "poetin": {"query": "Poetin"},  # the neutral field: doc-0 only (doc-1 says "Putin")
    "putin-en": {"entity": "Q7747", "lang": "en"},  # doc-1
    "putin": {"entity": "Q7747"},  # doc-0, doc-1
    "sport": {"topic": "sport"},  # doc-2
    "bbc": {"source": "bbc.co.uk"},  # doc-1
    "gas": {"query": "gaspijpleiding", "lang": "nl"},  # doc-4, through the Dutch stemmer on body_nl
    "nothing": {"query": "Kilimanjaro"},
}
EXPECTED = {
    "poetin|doc-0",
    "putin-en|doc-1",
    "putin|doc-0",
    "putin|doc-1",
    "sport|doc-2",
    "bbc|doc-1",
    "gas|doc-4",
}


def _add_all(settings: Settings, search: SearchBackend) -> None:
    for name, filters in ALERTS.items():
        add_alert(name, settings=settings, backend=search, **filters)


def _keys(settings: Settings) -> Counter:
    return Counter(m.key.decode() for m in read_all(settings.kafka, settings.alerts.topic))


def test_add_list_remove(alert_settings: Settings, search: SearchBackend) -> None:
    _add_all(alert_settings, search)
    assert [a["name"] for a in list_alerts(alert_settings, search)] == sorted(ALERTS)
    add_alert("sport", topic="politics", settings=alert_settings, backend=search)  # replaces
    listed = {a["name"]: a for a in list_alerts(alert_settings, search)}
    assert listed["sport"]["filters"] == {"topic": "politics"} and len(listed) == len(ALERTS)
    assert remove_alert("sport", alert_settings, search) is True
    assert remove_alert("sport", alert_settings, search) is False
    assert "sport" not in [a["name"] for a in list_alerts(alert_settings, search)]


def test_cli_add_list_remove(alert_settings: Settings, tmp_path) -> None:
    pipeline = Pipeline(tmp_path)  # only for its cli(): the env below points at this test's names
    try:
        a = alert_settings.alerts
        pipeline.env.update(
            {
                "NEWSSTREAMS_SEARCH__URL": alert_settings.search.url,
                "NEWSSTREAMS_SEARCH__BACKEND": alert_settings.search.backend,
                "NEWSSTREAMS_ALERTS__TOPIC": a.topic,
                "NEWSSTREAMS_ALERTS__INDEX": a.index,
                "NEWSSTREAMS_ALERTS__LEDGER_INDEX": a.ledger_index,
            }
        )
        added = pipeline.cli("alerts", "add", "putin", "Poetin", "--lang", "NL", "--webhook", "http://hooks.example/p")
        assert added.returncode == 0, added.stderr.decode()
        bad = pipeline.cli("alerts", "add", "two words", "x")
        assert bad.returncode == 2 and b"use letters" in bad.stderr
        listed = pipeline.cli("alerts", "list", "--json")
        assert json.loads(listed.stdout) == [
            {
                "name": "putin",
                "filters": {"query": "Poetin", "lang": "nl"},
                "webhook": "http://hooks.example/p",
                "created_at": json.loads(listed.stdout)[0]["created_at"],
            }
        ]
        assert pipeline.cli("alerts", "remove", "putin").returncode == 0
        assert pipeline.cli("alerts", "remove", "putin").returncode == 1

        sent = [records.alert_record("putin", d, "2026-12-01T10:00:01Z") for d in DOCS[:3]]
        stage = AlertsStage(alert_settings, make_backend(alert_settings.search))

        async def send():
            try:
                await stage.topic.send([(0, f"putin|{r['article_id']}".encode(), records.encode(r)) for r in sent])
            finally:
                await stage.close()

        asyncio.run(send())
        tailed = pipeline.cli("alerts", "tail", "--from-beginning", "--limit", "3", "--json", timeout=60)
        assert tailed.returncode == 0, tailed.stderr.decode()
        assert [json.loads(line) for line in tailed.stdout.splitlines()] == sent
        lines = pipeline.cli("alerts", "tail", "--from-beginning", "--limit", "1", timeout=60).stdout.decode()
        assert lines.split("\t") == ["putin", "2026-12-01 10:00", "nl", "doc-0", "Poetin ontmoet Xi in Peking\n"]
    finally:
        pipeline.backend.close()


def test_one_record_per_match_and_nothing_new_on_reprocessing(alert_settings: Settings, search: SearchBackend) -> None:
    _add_all(alert_settings, search)

    async def twice():
        stage = AlertsStage(alert_settings, search)
        try:
            return await stage(DOCS), await stage(DOCS + DOCS)
        finally:
            await stage.close()

    first, again = asyncio.run(twice())
    assert set(first.sent_keys) == EXPECTED and first.sent == len(EXPECTED)
    assert (again.sent, again.already) == (0, len(EXPECTED))
    assert _keys(alert_settings) == Counter(EXPECTED)
    value = next(
        m.value for m in read_all(alert_settings.kafka, alert_settings.alerts.topic) if m.key == b"sport|doc-2"
    )
    record = records.decode(value)
    assert {k: record[k] for k in ("alert", "article_id", "title", "language", "source")} == {
        "alert": "sport",
        "article_id": "doc-2",
        "title": "Ajax wint van PSV",
        "language": "nl",
        "source": "nos.nl",
    }


@pytest.mark.parametrize("already_on_topic", [True, False])
def test_a_pending_pair_is_resolved(alert_settings: Settings, search: SearchBackend, already_on_topic: bool) -> None:
    """A dead worker's claim: its record on the topic (found: marked sent) or not (sent, then marked)."""
    add_alert("putin", entity="Q7747", settings=alert_settings, backend=search)
    key = "putin|doc-0"
    partition = records.partition_for(key, 3)
    claimed_at = time.time() - alert_settings.alerts.pending_lease_s - 1  # the lease ran out
    record = records.alert_record("putin", DOCS[0], "2026-12-01T10:00:01Z")
    stage = AlertsStage(alert_settings, search)

    async def run():
        try:
            end = (await stage.topic.end_offsets({partition}))[partition]
            Ledger(search, alert_settings.alerts.ledger_index).claim(
                [Entry(key, PENDING, partition, end, "dead-worker", claimed_at, record)]
            )
            if already_on_topic:  # it sent the record, then died before marking it
                await stage.topic.send([(partition, key.encode(), records.encode(record))])
            return await stage(DOCS)
        finally:
            await stage.close()

    result = asyncio.run(run())
    assert _keys(alert_settings) == Counter({key: 1, "putin|doc-1": 1})
    assert (result.found, result.sent) == ((1, 1) if already_on_topic else (0, 2))
    entry = Ledger(search, alert_settings.alerts.ledger_index).lookup([key])[key]
    assert entry.state == "sent" and entry.owner == stage.owner and entry.record == record


class _HookStub(http.server.BaseHTTPRequestHandler):
    """A stub of a user's webhook receiver: answers 503 to the first ``failures`` requests, or hangs."""

    failures = 0
    hang_s = 0.0
    received: list[dict] = []
    attempts = 0

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).attempts += 1
        if self.hang_s:
            time.sleep(self.hang_s)
        status = 503 if type(self).attempts <= self.failures else 200
        if status == 200:
            type(self).received.append(body)
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _hook_stub(failures: int = 0, hang_s: float = 0.0) -> Iterator[tuple[str, type[_HookStub]]]:
    handler = type("Stub", (_HookStub,), {"failures": failures, "hang_s": hang_s, "received": [], "attempts": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_delivered_with_retries(alert_settings: Settings, search: SearchBackend) -> None:
    with _hook_stub(failures=2) as (url, stub):
        add_alert("sport", topic="sport", webhook=url, settings=alert_settings, backend=search)
        stage = AlertsStage(alert_settings, search)
        stage.webhooks.backoff_s = 0.05

        async def run():
            try:
                await stage(DOCS)
                await asyncio.wait_for(stage.webhooks.drain(), 10)
            finally:
                await stage.close()

        asyncio.run(run())
    assert stub.attempts == 3
    assert [(r["alert"], r["article_id"]) for r in stub.received] == [("sport", "doc-2")]
    assert _keys(alert_settings) == Counter({"sport|doc-2": 1})


def test_a_hanging_webhook_does_not_stall_the_stage(alert_settings: Settings, search: SearchBackend) -> None:
    with _hook_stub(hang_s=5) as (url, stub):
        add_alert("all-nl", lang="nl", webhook=url, settings=alert_settings, backend=search)
        stage = AlertsStage(alert_settings, search)
        batches = [[_doc(b * 10 + i) for i in range(10)] for b in range(5)]

        async def run():
            took = []
            try:
                for batch in batches:
                    started = time.monotonic()
                    await stage(batch)
                    took.append(time.monotonic() - started)
                return took
            finally:
                await stage.close()

        took = asyncio.run(run())
    report("alerts with a hanging webhook", {"batches": len(took), "slowest_batch_s": round(max(took), 2)})
    assert max(took) < 1.0, took  # the receiver hangs 5 s (timeout 1 s) per delivery
    assert sum(_keys(alert_settings).values()) == 50


def test_percolate_time_of_a_500_document_batch(alert_settings: Settings, search: SearchBackend) -> None:
    _add_all(alert_settings, search)
    for i in range(20):
        add_alert(f"extra-{i}", f"woord{i} nieuws", lang="nl", settings=alert_settings, backend=search)
    body = " ".join(["Het kabinet sprak dinsdag over de begroting en de gaspijpleidingen."] * 20)
    docs = [_doc(i, body=body, entity_ids=["Q7747"] if i % 5 == 0 else []) for i in range(500)]
    search.percolate(alert_settings.alerts.index, docs[:10])  # warm
    times = []
    for _ in range(3):
        started = time.monotonic()
        matched = search.percolate(alert_settings.alerts.index, docs)
        times.append(time.monotonic() - started)
    pairs = sum(len(slots) for _, slots in matched)
    assert pairs == 100 + 500  # putin (every fifth) + gas (every one)

    async def whole_stage():  # percolate + ledger + send + mark; then the same batch again
        stage = AlertsStage(alert_settings, search)
        try:
            await stage.topic.partitions()  # clients started: not part of a batch's cost
            took = []
            for _ in range(2):
                started = time.monotonic()
                result = await stage(docs)
                took.append(time.monotonic() - started)
            return result, took
        finally:
            await stage.close()

    again, took = asyncio.run(whole_stage())
    assert again.already == pairs and sum(_keys(alert_settings).values()) == pairs
    report(
        "alerts percolate",
        {
            "docs": 500,
            "alerts": len(ALERTS) + 20,
            "pairs": pairs,
            "percolate_best_s": round(min(times), 3),
            "percolate_worst_s": round(max(times), 3),
            "stage_new_pairs_s": round(took[0], 3),
            "stage_same_batch_again_s": round(took[1], 3),
        },
    )


def test_a_worker_with_a_hanging_webhook_indexes_and_alerts_everything(pipeline: Pipeline) -> None:
    """A real worker; the alert's webhook receiver (a stub) hangs 10 s on every request."""
    n = 300
    with _hook_stub(hang_s=10) as (url, stub):
        pipeline.env["NEWSSTREAMS_ALERTS__WEBHOOK_TIMEOUT_S"] = "1"
        result = pipeline.cli("alerts", "add", "seed", "--source", "hook.example", "--webhook", url)
        assert result.returncode == 0, result.stderr.decode()
        articles = [
            {"id": f"h{i}", "source": "hook.example", "title": f"Poetin {i}", "body": "Poetin sprak."} for i in range(n)
        ]
        pipeline.start_worker()
        started = time.monotonic()
        pipeline.produce_raw([json.dumps(a).encode() for a in articles])
        pipeline.wait_for_count(n, timeout=180)
        indexed_s = time.monotonic() - started
        settings = pipeline.settings
        deadline = time.monotonic() + 60
        while sum(_keys(settings).values()) < n and time.monotonic() < deadline:
            time.sleep(0.5)
        keys = _keys(settings)
        values = [records.decode(m.value) for m in read_all(settings.kafka, settings.alerts.topic)]
        pipeline.stop_worker()
    report(
        "worker with a hanging webhook",
        {"articles": n, "indexed_s": round(indexed_s, 1), "webhook_attempts": stub.attempts},
    )
    assert keys == Counter({f"seed|h{i}": 1 for i in range(n)})
    assert all(isinstance(v["story_id"], str) for v in values)  # the stories step ran before indexing
    # Called, and still far behind (each delivery takes 1 s per attempt) when everything was indexed and
    # on the alerts topic: the deliveries ran beside the pipeline, not in it.
    assert 1 <= stub.attempts < n // 10
