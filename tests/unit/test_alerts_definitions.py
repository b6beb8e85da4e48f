"""Alert definitions, record format and key partitioning: pure, no engine, no Kafka."""

from __future__ import annotations

import json

import pytest

from streams.alerts import records
from streams.alerts.definitions import InvalidAlert, alert_document, describe, validate_name
from streams.alerts.mapping import alerts_mappings, ledger_mappings
from streams.search import build_query, template


@pytest.mark.parametrize("name", ["putin", "Q7747.nl", "a-b_c", "x" * 100, "  padded  "])
def test_valid_names(name):
    assert validate_name(name) == name.strip()


@pytest.mark.parametrize(
    ("name", "says"),
    [("", "needs a name"), ("   ", "needs a name"), (None, "needs a name"), ("x" * 101, "too long")]
    + [(bad, "use letters") for bad in ("two words", "a|b", "a/b", "é", "a*")],
)
def test_invalid_names_say_why(name, says):
    with pytest.raises(InvalidAlert, match=says):
        validate_name(name)


def test_the_percolator_query_is_what_search_runs_with_the_same_filters():
    doc = alert_document("p", "Poetin -Trump", entity="Q7747", topic="politics", lang="nl", source="nos.nl")
    search = build_query("Poetin -Trump", entity="Q7747", topic="politics", lang="nl", source="nos.nl")
    assert doc["query"] == search["query"]
    assert doc["filters"] == {
        "query": "Poetin -Trump",
        "entity": "Q7747",
        "topic": "politics",
        "lang": "nl",
        "source": "nos.nl",
    }
    assert doc["name"] == "p" and doc["webhook"] is None and doc["created_at"]


def test_filters_are_normalised_and_blank_ones_dropped():
    doc = alert_document(" p ", "  ", entity=" Q1 ", lang="NL-be", source="", created_at="2026-01-01T00:00:00Z")
    assert doc["name"] == "p"
    assert doc["filters"] == {"entity": "Q1", "lang": "nl"}
    assert doc["created_at"] == "2026-01-01T00:00:00Z"
    assert describe(doc) == "--entity Q1 --lang nl"
    assert alert_document("u", lang="und")["filters"] == {"lang": "und"}


def test_an_alert_must_narrow_something():
    with pytest.raises(InvalidAlert, match="needs a query or at least one"):
        alert_document("all", "   ")


@pytest.mark.parametrize("lang", ["xx", "dutch"])
def test_bad_language(lang):
    with pytest.raises(InvalidAlert, match="ISO 639-1"):
        alert_document("p", "x", lang=lang)


def test_webhook_must_be_http_with_a_host():
    assert alert_document("p", "x", webhook=" https://hooks.example/a ")["webhook"] == "https://hooks.example/a"
    for bad in ("ftp://hooks.example/a", "hooks.example/a", "http:///path"):
        with pytest.raises(InvalidAlert, match="webhook"):
            alert_document("p", "x", webhook=bad)


def test_alerts_index_maps_every_articles_field_and_a_percolator():
    props = alerts_mappings()["properties"]
    for name, mapping in template.mappings()["properties"].items():
        assert props[name] == mapping, name
    assert props["query"] == {"type": "percolator"}
    assert ledger_mappings()["properties"]["record"]["enabled"] is False


def test_record_holds_what_a_subscriber_shows():
    doc = {
        "id": 42,
        "title": "Poetin in Peking",
        "language": "nl",
        "story_id": "s-1",
        "source": "nos.nl",
        "url": "https://nos.nl/1",
        "published_at": "2026-12-01T10:00:00Z",
        "body": "not in the record",
    }
    record = records.alert_record("putin", doc, "2026-12-01T10:00:05Z")
    assert record == {
        "alert": "putin",
        "article_id": "42",
        "title": "Poetin in Peking",
        "language": "nl",
        "story_id": "s-1",
        "source": "nos.nl",
        "url": "https://nos.nl/1",
        "published_at": "2026-12-01T10:00:00Z",
        "matched_at": "2026-12-01T10:00:05Z",
    }
    assert records.decode(records.encode(record)) == record
    assert json.loads(records.encode(record)) == record


@pytest.mark.parametrize("value", [None, b"", b"not json", b"[1]", b'{"no": "alert"}', b"\xff"])
def test_decode_skips_what_is_not_an_alert_record(value):
    assert records.decode(value) is None


def test_key_and_partition():
    key = records.record_key("putin", "a|b")
    assert key == "putin|a|b"
    assert records.split_key(key) == ("putin", "a|b")
    chosen = [records.partition_for(f"putin|{i}", 4) for i in range(400)]
    assert chosen == [records.partition_for(f"putin|{i}", 4) for i in range(400)]  # stable
    counts = [chosen.count(p) for p in range(4)]
    assert all(60 < c < 140 for c in counts), counts  # spread over every partition
    with pytest.raises(ValueError, match="at least one partition"):
        records.partition_for(key, 0)
