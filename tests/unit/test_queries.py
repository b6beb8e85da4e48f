"""build_query is pure: the request body it produces, without an engine."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from streams.search import InvalidQuery, SearchError, build_query
from streams.search.queries import parse_response


def _filters(body: dict) -> list[dict]:
    return body["query"]["bool"]["filter"]


def _sqs(body: dict) -> dict:
    return body["query"]["bool"]["must"][0]["simple_query_string"]


HOSTILE = [
    'title:"x" OR body:*',
    '{"script": {"source": "System.exit(0)"}}',
    "/.*/ AND _exists_:meta",
    '\\" } ] ) ; DROP',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_only_in_simple_query_string(text):
    body = build_query(text, lang="nl", entity="Q1", topic="politics", source="nos.nl")
    assert _sqs(body)["query"] == text.strip()
    dumped = json.dumps(body)
    assert "query_string" not in dumped.replace("simple_query_string", "")
    assert '"script' not in dumped.replace(json.dumps(text.strip())[1:-1], "")
    # the text appears exactly once: in simple_query_string
    assert dumped.count(json.dumps(text.strip())) == 1


def test_empty_text_is_match_all():
    for text in (None, "", "   "):
        body = build_query(text)
        assert body["query"]["bool"]["must"] == [{"match_all": {}}]
        assert _filters(body) == []
        assert "highlight" not in body


def test_fields_all_languages_without_lang():
    fields = _sqs(build_query("gas"))["fields"]
    assert fields[:2] == ["title^3", "body"]
    for lang in ("nl", "en", "de", "fr", "es", "it"):
        assert f"title_{lang}^3" in fields and f"body_{lang}" in fields


def test_lang_restricts_fields_and_filters():
    body = build_query("gas", lang="NL")
    assert _sqs(body)["fields"] == ["title^3", "body", "title_nl^3", "body_nl"]
    assert {"term": {"language": "nl"}} in _filters(body)
    assert set(body["highlight"]["fields"]) == {"title", "title_nl", "body", "body_nl"}


def test_lang_without_analyser_uses_standard_fields_only():
    body = build_query("gas", lang="pl")
    assert _sqs(body)["fields"] == ["title^3", "body"]
    assert {"term": {"language": "pl"}} in _filters(body)


def test_entity_qid_vs_name():
    assert _filters(build_query(entity="Q7747")) == [{"term": {"entity_ids": "Q7747"}}]
    assert _filters(build_query(entity="q7747")) == [{"term": {"entity_ids": "Q7747"}}]
    (name,) = _filters(build_query(entity="Vladimir Putin"))
    assert name["bool"]["minimum_should_match"] == 1
    assert name["bool"]["should"] == [
        {"term": {"entity_names": "Vladimir Putin"}},
        {"term": {"entity_texts": "Vladimir Putin"}},
    ]
    # "Q" followed by letters is a name, not a QID
    assert "bool" in _filters(build_query(entity="Qatar"))[0]


def test_topic_and_source():
    topic, source = _filters(build_query(topic="medtop:11000000", source="nos.nl"))
    assert topic["bool"]["should"] == [
        {"term": {"topics.code": "medtop:11000000"}},
        {"term": {"topics.label": "medtop:11000000"}},
    ]
    assert source == {"term": {"source": "nos.nl"}}


def test_date_range():
    (rng,) = _filters(build_query(since="2024-05-01", until="2024-05-31"))
    assert rng == {"range": {"published_at": {"gte": "2024-05-01T00:00:00+00:00", "lt": "2024-06-01T00:00:00+00:00"}}}
    (rng,) = _filters(build_query(since="2024-05-01T12:00:00+02:00", until="2024-05-02T10:00:00Z"))
    assert rng["range"]["published_at"] == {
        "gte": "2024-05-01T10:00:00+00:00",
        "lte": "2024-05-02T10:00:00+00:00",
    }
    (rng,) = _filters(build_query(since=date(2024, 5, 1), until=datetime(2024, 5, 2, tzinfo=UTC)))
    assert rng["range"]["published_at"] == {
        "gte": "2024-05-01T00:00:00+00:00",
        "lte": "2024-05-02T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": "yesterday"},
        {"until": "2024-02-30"},
        {"since": "01/05/2024"},
        {"since": "2024-05-02", "until": "2024-05-01"},
        {"limit": -1},
        {"limit": 10_001},
    ],
)
def test_malformed_arguments(kwargs):
    with pytest.raises(ValueError) as info:
        build_query("x", **kwargs)
    assert isinstance(info.value, InvalidQuery) and isinstance(info.value, SearchError)
    assert str(info.value)


def test_malformed_since_message_names_the_argument():
    with pytest.raises(ValueError, match=r"since: expected an ISO-8601 date .* got 'yesterday'"):
        build_query(since="yesterday")


def test_sort_size_highlight_and_facets():
    body = build_query("gas", limit=25, facets=True)
    assert body["size"] == 25
    assert body["sort"][0] == "_score"
    assert body["sort"][1] == {"published_at": {"order": "desc", "missing": "_last"}}
    hl = body["highlight"]
    assert hl["pre_tags"] == ["<em>"] and hl["post_tags"] == ["</em>"]
    assert hl["fields"]["body"]["fragment_size"] == 150
    aggs = body["aggs"]
    assert {n: a["terms"]["field"] for n, a in aggs.items() if "terms" in a} == {
        "entities": "entity_names",
        "topics": "topics.label",
        "languages": "language",
        "sources": "source",
    }
    assert aggs["dates"]["date_histogram"]["calendar_interval"] == "day"
    assert "aggs" not in build_query("gas")


def test_parse_response_merges_language_highlights():
    resp = {
        "hits": {
            "total": {"value": 1, "relation": "eq"},
            "hits": [
                {
                    "_id": "a",
                    "_score": 2.5,
                    "_source": {"id": "a", "title": "T", "language": "nl",
                                "entity_names": ["A", "B", "C", "D", "E", "F"],
                                "topics": [{"code": "medtop:15000000", "label": "sport"}]},
                    "highlight": {"title": ["<em>T</em>"], "body_nl": ["b <em>x</em>"]},
                }
            ],
        },
        "aggregations": {"languages": {"buckets": [{"key": "nl", "doc_count": 1}]}},
    }  # fmt: skip
    result = parse_response(resp)
    assert result.total == 1
    (hit,) = result.hits
    assert hit.highlights == {"title": ["<em>T</em>"], "body": ["b <em>x</em>"]}
    assert hit.entities == ["A", "B", "C", "D", "E"]
    assert hit.topics == ["sport"]
    assert result.facets == {"languages": [("nl", 1)]}
