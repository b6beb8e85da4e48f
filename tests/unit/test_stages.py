"""The worker's stages as plain functions: validation, enrichment outcome, index outcome, dead letters."""

from __future__ import annotations

import asyncio
import json

import pytest

from streams.contracts.article import MAX_JSON_DEPTH, InvalidArticle, load_json, nesting_depth
from streams.contracts.dlq import dlq_payload_bytes
from streams.enrich import EnrichResult
from streams.search import DocError
from streams.settings import LimitSettings, WorkerSettings
from streams.worker import stages
from streams.worker.delivery import isolated
from streams.worker.stages import DeadLetter, Outcome, Record

LIMITS = LimitSettings()


def rec(value: bytes | None, offset: int = 0, key: bytes | None = b"k", ts: float | None = 1_700_000_000.0) -> Record:
    return Record(key, value, "t.raw", 0, offset, ts)


def article(i: int, **extra) -> bytes:
    return json.dumps({"id": f"a{i}", "title": f"Titel {i}", "body": "Poetin sprak.", **extra}).encode()


def echo_enrich(articles: list[dict]) -> list[EnrichResult]:
    """A stand-in for Enricher.enrich_batch: adds a field, fails articles whose title says so."""
    return [
        EnrichResult(error=RuntimeError("boom")) if a["title"].endswith("fail") else EnrichResult({**a, "entities": []})
        for a in articles
    ]


# --- validate -------------------------------------------------------------------------------------


def test_validate_stamps_ingestion_time_from_the_message_timestamp():
    [(record, doc)], dead = stages.validate([rec(article(1))], LIMITS)
    assert dead == [] and doc["id"] == "a1"
    assert doc["pipeline"] == {"ingested_at": "2023-11-14T22:13:20.000Z"}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty_payload"),
        (b"", "empty_payload"),
        (b"\xff\xfe", "not_utf8"),
        (b"{", "not_json"),
        (b"[1]", "not_object"),
        (b'{"title": "t"}', "missing_field"),
        (b'{"title": 1, "body": "b"}', "wrong_type"),
        (b'{"title": "t", "body": NaN}', "not_json"),
        (b"[" * 100_000, "not_json"),
    ],
)
def test_validate_turns_each_bad_record_into_its_dead_letter(value, reason):
    good, [dead] = stages.validate([rec(value, 7)], LIMITS)
    assert good == [] and (dead.reason, dead.stage, dead.record.offset) == (reason, "validate", 7)


# --- enrich ---------------------------------------------------------------------------------------


def test_enrich_outcome_keeps_order_and_isolates_failures():
    records = [rec(article(1), 0), rec(b"nope", 1), rec(article(2, title="fail"), 2), rec(article(3), 3)]
    out = stages.enrich(records, limits=LIMITS, enrich_batch=echo_enrich, budget_bytes=10_000)
    assert [(o.record.offset, o.key) for o in out.out] == [(0, b"a1"), (3, b"a3")]
    assert [(d.record.offset, d.reason, d.stage) for d in out.dead] == [
        (1, "not_json", "validate"),
        (2, "enrich_failed", "enrich"),
    ]
    assert "RuntimeError: boom" in out.dead[1].error
    assert json.loads(out.out[0].value)["entities"] == []


def test_enriched_record_over_budget_goes_to_dlq_with_the_raw_payload():
    raw = article(1, body="Poetin " * 500)
    out = stages.enrich([rec(raw)], limits=LIMITS, enrich_batch=echo_enrich, budget_bytes=1_000)
    [dead] = out.dead
    assert out.out == [] and dead.reason == "too_large_enriched" and dead.payload is None
    _, value = stages.dead_letter_message(dead, 1_000_000)
    assert dlq_payload_bytes(json.loads(value)) == raw  # replayable once the limits are raised


# --- index ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b'{"id": null, "title": "x"}', "id must be a string"),
        (b'{"id": ""}', "id is empty"),
        (b'{"id": true}', "id must be a string"),
        (b"[]", "expected a JSON object"),
        (b"{", "not JSON"),
        (None, "no value"),
        (b"", "no value"),
        (b'{"id": "x", "pipeline": 3}', "pipeline must be an object"),
        # the enrich stage writes string ids only (and the raw contract accepts nothing else)
        (b'{"id": 42, "title": "x"}', "id must be a string"),
        (b'{"id": 4.2}', "id must be a string"),
        (b'{"id": "' + b"e" * 513 + b'"}', "longer than 512 bytes"),
        # strict JSON: what the engine's parser refuses would fail in the bulk request instead
        (b'{"id": "x", "entity_count": NaN}', "NaN is not valid JSON"),
        (b'{"id": "x", "language_confidence": 1e999}', "out of range"),
        (b'{"id": "x", "meta": ' + b"[" * 100 + b"]" * 100 + b"}", "deeper than"),
        (b'{"id": "\xff"}', "not UTF-8"),
        (b'{"id": "x", "meta": {"k": "\\ud800"}}', "lone surrogate"),
    ],
)
def test_read_enriched_refuses_records_without_a_usable_id(value, problem):
    good, [dead] = stages.read_enriched([rec(value)])
    assert good == [] and dead.reason == "bad_enriched_record" and problem in dead.error


def test_read_enriched_takes_a_null_pipeline_as_absent():
    # It used to reach the indexer as None and fail the whole batch on pipeline["indexed_at"].
    [(_, doc)], dead = stages.read_enriched([rec(b'{"id": "x", "pipeline": null}')])
    assert dead == [] and doc["pipeline"] == {}


def test_read_enriched_keeps_a_byte_order_mark_out_of_the_way():
    [(_, doc)], dead = stages.read_enriched([rec(b'\xef\xbb\xbf{"id": "x"}')])
    assert dead == [] and doc["id"] == "x"


def _verdict(load, value: bytes | None):
    try:
        return "ok", load(value)
    except InvalidArticle as exc:
        return exc.reason, exc.error


DOC = {"id": "x", "entities": [{"text": "Poetin", "start": 0, "end": 6, "id": "Q7747"}], "score": 0.5}


@pytest.mark.parametrize(
    "value",
    [
        json.dumps(DOC).encode(),
        b'{"id": "x", "n": ' + b"9" * 100 + b"}",  # the longest integer allowed
        b'{"id": "x", "n": -' + b"9" * 101 + b"}",
        b'{"id": "x", "n": ' + b"1" * 400 + b".0}",  # a float literal past the float range
        b'{"id": "x", "digits in a string": "' + b"1" * 200 + b'"}',
        b'{"id": "x", "f": 1e999}',
        b'{"id": "x", "f": -1E+400}',
        b'{"id": "x", "f": 1.5e3, "g": 2E-7}',
        b'{"id": "x", "f": NaN}',
        b'{"id": "x", "f": -Infinity}',
        b'{"id": "x", "m": ' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}",
        b'{"id": "x", "m": ' + b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH + b"}",
        b"[" * 100_000,
        b'\xef\xbb\xbf{"id": "x"}',
        b'{"id": "\xff"}',
        b'{"id": "x"} trailing',
        b'{"id": "x", "k": "\\ud800"}',
        b"",
        None,
    ],
)
def test_the_enriched_records_fast_loader_gives_the_strict_loaders_verdicts(value):
    # Same document or same refusal (reason and message) as contracts.article.load_json.
    assert _verdict(stages._load_enriched, value) == _verdict(lambda v: load_json(v, check_size=False), value)


@pytest.mark.parametrize(
    "value",
    [1, "s", None, [], {}, [1, "a"], {"a": {"b": {}}}, [[[]]], [{"a": [1, {"b": []}]}, 2], {"a": 1, "b": [[2]]}],
)
@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4])
def test_nests_within_agrees_with_nesting_depth(value, limit):
    assert stages._nests_within(value, limit) == (nesting_depth(value, limit) <= limit)


def test_index_outcome_maps_refusals_by_position_even_with_repeated_ids():
    items = [(rec(b"{}", i), {"id": "same"}) for i in range(3)]
    out = stages.index_outcome(items, [DocError("same", 400, "mapper_parsing_exception: bad date", 1)])
    assert [d.record.offset for d in out.dead] == [1] and out.dead[0].reason == "rejected_400"
    assert len(out.passed) == 2


# --- dead letters ---------------------------------------------------------------------------------


def test_dead_letter_message_fits_and_says_what_was_cut():
    payload = ("\x01" * 300_000).encode()  # control characters: 6 bytes each once JSON-escaped
    key, value = stages.dead_letter_message(DeadLetter(rec(payload), "too_large", "validate", "e" * 10_000), 100_000)
    record = json.loads(value)
    assert key == b"k" and len(value) <= 100_000
    assert record["payload_truncated"] is True and record["payload_bytes"] == 300_000
    assert len(record["payload_sha256"]) == 64 and len(record["error"]) == stages.ERROR_CHARS


def test_dead_letter_message_keeps_small_payloads_whole_and_survives_surrogates():
    _, value = stages.dead_letter_message(DeadLetter(rec(b"\xff raw"), "not_utf8", "validate", "bad \ud800"), 1 << 20)
    record = json.loads(value)
    assert dlq_payload_bytes(record) == b"\xff raw" and "payload_truncated" not in record


# --- isolation ------------------------------------------------------------------------------------

WORKER = WorkerSettings(retry_backoff_initial_s=0.001, retry_backoff_max_s=0.002, batch_attempts=2)


def test_a_batch_that_keeps_raising_is_split_and_only_the_culprit_is_dead_lettered():
    calls = []

    async def run(records):
        calls.append(len(records))
        if any(r.value == b"poison" for r in records):
            raise RecursionError("stage bug")
        return Outcome(passed=[{"offset": r.offset} for r in records])

    records = [rec(b"ok", 0), rec(b"poison", 1), rec(b"ok", 2)]
    out = asyncio.run(isolated("enrich", records, run, WORKER))
    assert calls == [3, 3, 1, 1, 1]  # two batch attempts, then one by one
    assert out.passed == [{"offset": 0}, {"offset": 2}]
    assert [(d.record.offset, d.reason) for d in out.dead] == [(1, "enrich_failed")]


@pytest.mark.parametrize("ts", [9e12, 1e300, float("inf"), -5.0])
def test_a_message_timestamp_out_of_range_is_not_a_batch_failure(ts):
    # A producer sets CreateTime and the broker takes any: year 300,000 made validate() raise for
    # the whole batch (then batch retries, then enrich_failed for this article).
    [(_, doc)], dead = stages.validate([rec(article(1), ts=ts)], LIMITS)
    assert dead == [] and doc["pipeline"]["ingested_at"].endswith("Z")
