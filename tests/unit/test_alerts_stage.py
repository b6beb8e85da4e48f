"""The alerts stage's exactly-once logic against an in-memory ledger and topic: a crash between
claim and send, between send and mark, and a claim held by another (live or dead) worker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from streams.alerts import records
from streams.alerts.ledger import PENDING, SENT, Entry, plan
from streams.alerts.stage import AlertsStage, _Wait, matches_of
from streams.search import SearchError
from streams.settings import Settings

LEASE_S = 0.4


class MemoryEngine:
    """percolate + the ledger calls of the search backend, in memory, with versions for compare-and-set."""

    def __init__(self, alerts: dict[str, set[str]]):
        self.alerts = alerts  # alert name -> ids of the articles it matches
        self.docs: dict[str, tuple[dict, int]] = {}
        self.seq = 0

    def percolate(self, index, docs):
        out = []
        for name, ids in sorted(self.alerts.items()):
            slots = [i for i, d in enumerate(docs) if d["id"] in ids]
            if slots:
                out.append(({"name": name, "webhook": None}, slots))
        return out

    def _put(self, doc_id, doc):
        self.seq += 1
        self.docs[doc_id] = (doc, self.seq)

    def get_many(self, index, ids):
        return {
            i: {"_id": i, "_source": self.docs[i][0], "_seq_no": self.docs[i][1], "_primary_term": 1}
            for i in ids
            if i in self.docs
        }

    def create_many(self, index, docs):
        created = {i for i in docs if i not in self.docs}
        for i in created:
            self._put(i, docs[i])
        return created

    def replace_if(self, index, doc_id, doc, seq_no, primary_term):
        if self.docs.get(doc_id, (None, None))[1] != seq_no:
            return False
        self._put(doc_id, doc)
        return True

    def put_many(self, index, docs):
        for i, doc in docs.items():
            self._put(i, doc)


class MemoryTopic:
    """Two partitions of (key, value); ``fail`` makes the next send raise before ("before") or after
    ("after") the records are written: a broker away, or an acknowledgement lost."""

    def __init__(self):
        self.logs: list[list[tuple[bytes, bytes]]] = [[], []]
        self.fail: str | None = None

    async def partitions(self):
        return len(self.logs)

    async def end_offsets(self, partitions):
        return {p: len(self.logs[p]) for p in partitions}

    async def send(self, batch):
        failing, self.fail = self.fail, None
        if failing == "before":
            raise ConnectionError("broker away")
        for p, k, v in batch:
            self.logs[p].append((k, v))
        if failing == "after":
            raise TimeoutError("acknowledgement lost")

    async def find(self, starts, keys):
        return {k for p, offset in starts.items() for k, _ in self.logs[p][offset:] if k in keys}

    async def close(self):
        pass

    def keys(self) -> Counter:
        return Counter(k.decode() for log in self.logs for k, _ in log)


def _settings() -> Settings:
    s = Settings()
    return s.model_copy(
        update={
            "alerts": s.alerts.model_copy(update={"pending_lease_s": LEASE_S, "send_timeout_s": 0.1}),
            "worker": s.worker.model_copy(update={"retry_backoff_initial_s": 0.01, "retry_backoff_max_s": 0.05}),
        }
    )


DOCS = [{"id": f"a{i}", "title": f"t{i}", "language": "nl"} for i in range(6)]
ALERTS = {"putin": {"a0", "a1", "a2"}, "nato": {"a2", "a5"}}
EXPECTED = {"putin|a0", "putin|a1", "putin|a2", "nato|a2", "nato|a5"}


def _stage(engine, topic) -> AlertsStage:
    return AlertsStage(_settings(), engine, topic)  # type: ignore[arg-type]


def test_one_record_per_match_and_none_on_reprocessing():
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    stage = _stage(engine, topic)
    first = asyncio.run(stage(DOCS + DOCS[:2]))  # an article twice in a batch: one record
    assert (first.matches, first.sent) == (5, 5)
    assert stage.p_sent._value.get() == 5  # /metrics: newsstreams_alerts_sent_total
    again = asyncio.run(_stage(engine, topic)(DOCS))
    assert (again.sent, again.already) == (0, 5)
    assert topic.keys() == Counter(EXPECTED)
    assert {engine.docs[k][0]["state"] for k in EXPECTED} == {SENT}
    value = next(v for log in topic.logs for k, v in log if k == b"putin|a1")
    assert records.decode(value)["title"] == "t1"


def test_a_record_goes_to_the_partition_the_ledger_names():
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    asyncio.run(_stage(engine, topic)(DOCS))
    for key in EXPECTED:
        partition = engine.docs[key][0]["partition"]
        assert partition == records.partition_for(key, 2)
        assert key.encode() in [k for k, _ in topic.logs[partition]]


@pytest.mark.parametrize("failure", ["before", "after"])
def test_a_failed_send_is_resolved_by_the_same_worker_without_a_duplicate(failure):
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    stage = _stage(engine, topic)
    topic.fail = failure
    with pytest.raises((ConnectionError, TimeoutError)):
        asyncio.run(stage.deliver(DOCS))
    assert {engine.docs[k][0]["state"] for k in EXPECTED} == {PENDING}
    started = time.monotonic()
    report = asyncio.run(stage(DOCS))  # its own claims: no lease to wait for
    assert time.monotonic() - started < LEASE_S
    assert topic.keys() == Counter(EXPECTED)
    assert (report.found, report.sent) == ((5, 0) if failure == "after" else (0, 5))


@pytest.mark.parametrize("failure", ["before", "after"])
def test_a_dead_workers_claims_wait_for_the_lease_then_resolve_exactly_once(failure):
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    topic.fail = failure
    with pytest.raises((ConnectionError, TimeoutError)):
        asyncio.run(_stage(engine, topic).deliver(DOCS))  # then "SIGKILLed"
    restarted = _stage(engine, topic)
    with pytest.raises(_Wait):  # the claimer may still be sending: not yet
        asyncio.run(restarted.deliver(DOCS))
    started = time.monotonic()
    report = asyncio.run(restarted(DOCS))
    assert time.monotonic() - started >= LEASE_S * 0.5
    assert topic.keys() == Counter(EXPECTED)
    assert report.found + report.sent == 5
    assert {engine.docs[k][0]["owner"] for k in EXPECTED} == {restarted.owner}


def test_only_one_of_two_workers_takes_over_a_pending_pair():
    engine, topic = MemoryEngine({"putin": {"a0"}}), MemoryTopic()
    topic.fail = "before"
    with pytest.raises(ConnectionError):
        asyncio.run(_stage(engine, topic).deliver(DOCS))
    stale = next(iter(_stage(engine, topic).ledger.lookup(["putin|a0"]).values()))
    a, b = _stage(engine, topic), _stage(engine, topic)
    assert a.ledger.take_over(stale, a.owner) is not None
    assert b.ledger.take_over(stale, b.owner) is None  # read before a's take-over: refused


def test_a_failing_engine_is_retried_and_never_raises():
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    calls = []
    percolate = engine.percolate

    def flaky(index, docs):
        calls.append(1)
        if len(calls) < 3:
            raise SearchError("percolate: engine away", status=503)
        return percolate(index, docs)

    engine.percolate = flaky
    report = asyncio.run(_stage(engine, topic)(DOCS))
    assert len(calls) == 3 and report.sent == 5


def test_a_batch_too_large_to_percolate_at_once_is_split():
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()
    percolate, sizes = engine.percolate, []

    def limited(index, docs):
        sizes.append(len(docs))
        if len(docs) > 2:
            raise SearchError("percolate: 413 request entity too large", status=413)
        return percolate(index, docs)

    engine.percolate = limited
    report = asyncio.run(_stage(engine, topic)(DOCS))
    assert report.sent == 5 and topic.keys() == Counter(EXPECTED)
    assert max(s for s in sizes if s <= 2) == 2


def test_a_missing_alerts_index_means_no_alerts():
    engine, topic = MemoryEngine(ALERTS), MemoryTopic()

    def missing(index, docs):
        raise SearchError("no such index", status=404, error_type="index_not_found_exception")

    engine.percolate = missing
    assert asyncio.run(_stage(engine, topic)(DOCS)).matches == 0
    assert topic.keys() == Counter()


def test_plan():
    now = 1000.0

    def pending(key, owner, age):
        return Entry(key, PENDING, 0, 0, owner, now - age)

    entries = {
        "sent": Entry("sent", SENT, 0, 0, "x", now),
        "mine": pending("mine", "me", 0),
        "young": pending("young", "other", 5),
        "old": pending("old", "other", 31),
    }
    p = plan(["new", "sent", "mine", "young", "old"], entries, "me", now, 30)
    assert p.new == ["new"] and p.done == ["sent"]
    assert [e.key for e in p.resolve] == ["mine", "old"]
    assert [e.key for e in p.waiting] == ["young"]


def test_matches_of_maps_slots_to_documents():
    docs = [{"id": "a"}, {"id": 7}, {"id": "a"}]
    found = matches_of([({"name": "x", "webhook": "http://h/"}, [0, 1, 2])], docs)
    assert sorted(found) == ["x|7", "x|a"]
    assert found["x|7"].doc is docs[1] and found["x|7"].webhook == "http://h/"


def test_a_pair_another_worker_claims_first_is_left_to_it_until_its_lease_ends():
    engine, topic = MemoryEngine({"putin": {"a0", "a1"}}), MemoryTopic()
    create = engine.create_many

    def raced(index, docs):  # another worker claims a0 between our lookup and our claim
        rival = Entry("putin|a0", PENDING, 0, 0, "rival", time.time(), {"alert": "putin"})
        engine._put(rival.key, rival.document())
        engine.create_many = create
        return create(index, docs)

    engine.create_many = raced
    stage = _stage(engine, topic)
    with pytest.raises(_Wait):
        asyncio.run(stage.deliver(DOCS))
    assert topic.keys() == Counter({"putin|a1": 1})
    report = asyncio.run(stage(DOCS))  # the rival never marks it sent: taken over after the lease
    assert report.sent == 1 and topic.keys() == Counter({"putin|a0": 1, "putin|a1": 1})
