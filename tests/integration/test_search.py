"""The search layer against a real engine (OpenSearch in CI; any engine the settings point at).

Tests on the ``backend``/``fresh_backend`` fixtures run once per search kind (conftest.search_kinds):
on OpenSearch also as "elasticsearch-compat", our Elasticsearch backend through the compatibility
proxy (es_compat_proxy.py) to the same OpenSearch.
"""

from __future__ import annotations

import socket

import pytest

from streams.search import (
    DocError,
    SearchError,
    TransientSearchError,
    make_backend,
    search,
    template,
)

NL = {
    "id": "nl-1",
    "url": "https://nos.nl/artikel/1",
    "source": "nos.nl",
    "title": "Poetin dreigt de gaspijpleidingen naar Europa af te sluiten",
    "body": "Volgens het Kremlin blijven de gaspijpleidingen dicht zolang de sancties gelden. "
    "Poetin sprak dinsdag in Moskou.",
    "published_at": "2024-03-01T08:00:00+01:00",
    "language": "nl",
    "language_confidence": 0.99,
    "entities": [
        {"text": "Poetin", "label": "PER", "start": 0, "end": 6, "id": "Q7747",
         "name": "Vladimir Putin", "source": "gazetteer"},
        {"text": "Moskou", "label": "LOC", "start": 100, "end": 106, "id": "Q649",
         "name": "Moscow", "source": "gazetteer"},
    ],
    "entity_ids": ["Q7747", "Q649"],
    "entity_names": ["Vladimir Putin", "Moscow"],
    "topics": [
        {"code": "medtop:04000000", "label": "economy, business and finance", "score": 0.7},
        {"code": "medtop:11000000", "label": "politics", "score": 0.6},
    ],
    "translations": {"en": {"title": "Putin threatens to shut gas pipelines to Europe"}},
    "pipeline": {"version": "0.1.0", "ner_model": "nl_core_news_md",
                 "ingested_at": "2024-03-01T07:01:00Z", "enriched_at": "2024-03-01T07:01:01Z"},
    "meta": {"anything": ["goes", 1, {"here": None}]},
    "unknown_extra_field": {"ignored": True},
}  # fmt: skip
EN_POLITICS = {
    "id": "en-1",
    "source": "bbc.co.uk",
    "title": "Putin meets European leaders over gas pipelines",
    "body": "Vladimir Putin met European leaders in Moscow to discuss gas supplies and pipelines.",
    "published_at": "2024-03-05T12:00:00Z",
    "language": "en",
    "entities": [{"text": "Putin", "label": "PER", "start": 0, "end": 5, "id": "Q7747",
                  "name": "Vladimir Putin", "source": "model"}],
    "entity_ids": ["Q7747"],
    "entity_names": ["Vladimir Putin"],
    "topics": [{"code": "medtop:11000000", "label": "politics", "score": 0.9}],
}  # fmt: skip
EN_SPORT = {
    "id": "en-2",
    "source": "bbc.co.uk",
    "title": "Ajax win the derby",
    "body": "A late goal settled the football match.",
    "published_at": "2024-04-10T20:30:00Z",
    "language": "en",
    "entities": [],
    "entity_ids": [],
    "entity_names": [],
    "topics": [{"code": "medtop:15000000", "label": "sport", "score": 0.95}],
}
CORPUS = [NL, EN_POLITICS, EN_SPORT]

pytestmark = pytest.mark.search_kinds


@pytest.fixture(scope="module")
def corpus(backend):
    assert backend.bulk_index(CORPUS) == []
    backend.refresh()
    return backend


def ids(result) -> set[str]:
    return {h.id for h in result.hits}


# --- index management --------------------------------------------------------------------------


def test_ensure_index_is_idempotent(fresh_backend):
    fresh_backend.ensure_index()
    fresh_backend.ensure_index()
    client, alias = fresh_backend.client, fresh_backend.alias
    aliases = dict(getattr(r := client.indices.get_alias(name=alias), "body", r))
    assert aliases == {template.first_index(alias): {"aliases": {alias: {"is_write_index": True}}}}
    mapping = client.indices.get_mapping(index=alias)
    mapping = next(iter(getattr(mapping, "body", mapping).values()))["mappings"]
    assert mapping["dynamic"] in (False, "false")
    assert mapping["_meta"]["template_version"] == template.TEMPLATE_VERSION
    # Text analysed once per language: a neutral field, and one field per language with its analyzer.
    assert mapping["properties"]["title"] == {"type": "text", "analyzer": "standard"}
    assert mapping["properties"]["title_nl"]["analyzer"] == "dutch"
    assert mapping["properties"]["body_fr"]["analyzer"] == "french"
    assert mapping["properties"]["meta"] == {"type": "object", "enabled": False}


# --- writing -----------------------------------------------------------------------------------


def test_count_and_get(corpus):
    assert corpus.count() == 3
    assert corpus.count({"term": {"language": "en"}}) == 2
    doc = corpus.get("nl-1")
    assert doc["title"] == NL["title"]
    assert doc["unknown_extra_field"] == {"ignored": True}  # kept in _source, not indexed
    assert doc == NL  # as enriched: without the fields the indexer derives
    assert corpus.get("does-not-exist") is None


def test_each_article_is_analysed_in_its_own_language_only(corpus):
    def having(field: str) -> int:
        return corpus.count({"exists": {"field": field}})

    assert (having("title"), having("title_nl"), having("body_nl"), having("title_en"), having("body_en")) == (
        3,
        1,
        1,
        2,
        2,
    )
    assert having("title_de") == having("body_fr") == 0
    assert corpus.count({"term": {"entity_texts": "Poetin"}}) == 1


def test_reindexing_the_same_id_leaves_one_doc(fresh_backend):
    assert fresh_backend.bulk_index([dict(EN_SPORT)]) == []
    assert fresh_backend.bulk_index([dict(EN_SPORT, title="Ajax win the derby again")]) == []
    fresh_backend.refresh()
    assert fresh_backend.count() == 1
    assert fresh_backend.get("en-2")["title"] == "Ajax win the derby again"


def test_bad_document_is_a_doc_error_and_the_rest_is_indexed(fresh_backend):
    bad = dict(EN_SPORT, id="bad-1", published_at="not a date")
    errors = fresh_backend.bulk_index([NL, bad, EN_POLITICS])
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, DocError)
    assert (err.doc_id, err.status) == ("bad-1", 400)
    assert "mapper_parsing_exception" in err.reason and "published_at" in err.reason
    fresh_backend.refresh()
    assert fresh_backend.count() == 2
    assert fresh_backend.get("bad-1") is None


def test_rejected_write_with_429_is_transient(fresh_backend):
    # The flood-stage disk block answers 429 per bulk item: the whole batch must be retried.
    index = template.first_index(fresh_backend.alias)
    fresh_backend.client.indices.put_settings(index=index, body={"index.blocks.read_only_allow_delete": True})
    try:
        with pytest.raises(TransientSearchError) as info:
            fresh_backend.bulk_index([NL])
        assert info.value.status == 429
    finally:
        fresh_backend.client.indices.put_settings(index=index, body={"index.blocks.read_only_allow_delete": None})


def test_missing_write_alias_is_not_a_doc_error(fresh_backend, kind_settings):
    b = make_backend(kind_settings.model_copy(update={"alias": fresh_backend.alias + "-nothing-here"}))
    try:
        with pytest.raises(SearchError, match="ensure_index") as info:
            b.bulk_index([NL])
        assert not isinstance(info.value, TransientSearchError)
    finally:
        b.close()


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_unreachable_engine_is_transient(kind, make_search_settings):
    b = make_backend(make_search_settings(backend=kind, url="http://127.0.0.1:1", timeout_s=2))
    try:
        assert b.ping() is False
        with pytest.raises(TransientSearchError, match="cannot reach"):
            b.bulk_index([NL])
        with pytest.raises(TransientSearchError):
            b.ensure_index()
        with pytest.raises(SearchError):
            search("putin", backend=b)
    finally:
        b.close()


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_timeout_is_transient(kind, make_search_settings):
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        b = make_backend(make_search_settings(backend=kind, url=url, timeout_s=0.5))
        try:
            with pytest.raises(TransientSearchError):
                b.bulk_index([NL])
        finally:
            b.close()


# --- searching ---------------------------------------------------------------------------------


def test_dutch_stemming_matters(corpus):
    result = search("gaspijpleiding", lang="nl", backend=corpus)
    assert ids(result) == {"nl-1"}
    assert result.total == 1
    hl = result.hits[0].highlights
    assert "<em>gaspijpleidingen</em>" in hl["title"][0]
    assert any("<em>gaspijpleidingen</em>" in f for f in hl["body"])
    # The standard analyzer alone does not find the plural from the singular.
    standard_only = {"query": {"simple_query_string": {"query": "gaspijpleiding", "fields": ["title", "body"]}}}
    assert corpus.search(standard_only)["hits"]["total"]["value"] == 0


def test_hit_fields(corpus):
    hit = search("sancties", backend=corpus).hits[0]
    assert hit.id == "nl-1"
    assert (hit.language, hit.source, hit.published_at) == ("nl", "nos.nl", NL["published_at"])
    assert hit.entities == ["Vladimir Putin", "Moscow"]
    assert hit.topics == ["economy, business and finance", "politics"]
    assert hit.score and hit.score > 0


def test_empty_text_is_match_all_newest_first(corpus):
    result = search(None, backend=corpus)
    assert result.total == 3
    assert [h.id for h in result.hits] == ["en-2", "en-1", "nl-1"]
    assert search("", limit=1, backend=corpus).hits[0].id == "en-2"


def test_text_matches_across_languages_without_lang(corpus):
    assert ids(search("pipelines", backend=corpus)) == {"en-1"}
    assert ids(search("gaspijpleiding", backend=corpus)) == {"nl-1"}  # all language fields searched
    assert ids(search("pipeline", backend=corpus)) == {"en-1"}  # English stemming, en articles only


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"lang": "en"}, {"en-1", "en-2"}),
        ({"lang": "NL"}, {"nl-1"}),
        ({"entity": "Q7747"}, {"nl-1", "en-1"}),
        ({"entity": "Q649"}, {"nl-1"}),
        ({"entity": "Vladimir Putin"}, {"nl-1", "en-1"}),
        ({"entity": "Poetin"}, {"nl-1"}),  # as written in the article
        ({"entity": "vladimir putin"}, set()),  # canonical names match exactly
        ({"topic": "politics"}, {"nl-1", "en-1"}),
        ({"topic": "medtop:15000000"}, {"en-2"}),
        ({"source": "nos.nl"}, {"nl-1"}),
        ({"since": "2024-03-05"}, {"en-1", "en-2"}),
        ({"until": "2024-03-05"}, {"nl-1", "en-1"}),  # a date includes the whole day
        ({"since": "2024-03-01T06:30:00Z", "until": "2024-03-05T11:59:59Z"}, {"nl-1"}),
        ({"since": "2024-03-01T08:30:00+01:00"}, {"en-1", "en-2"}),  # nl-1 is 08:00+01:00
        ({"since": "2024-03-02", "until": "2024-04-09", "lang": "en"}, {"en-1"}),
    ],
)
def test_filters(corpus, kwargs, expected):
    assert ids(search(None, backend=corpus, **kwargs)) == expected


def test_text_and_filters_combine(corpus):
    assert ids(search("putin", entity="Q7747", lang="en", backend=corpus)) == {"en-1"}
    assert ids(search("putin", topic="sport", backend=corpus)) == set()


def test_facets(corpus):
    facets = search(None, facets=True, backend=corpus).facets
    assert facets["languages"] == [("en", 2), ("nl", 1)]
    assert facets["sources"] == [("bbc.co.uk", 2), ("nos.nl", 1)]
    assert facets["entities"] == [("Vladimir Putin", 2), ("Moscow", 1)]
    assert dict(facets["topics"]) == {
        "politics": 2, "economy, business and finance": 1, "sport": 1,
    }  # fmt: skip
    assert facets["dates"] == [("2024-03-01", 1), ("2024-03-05", 1), ("2024-04-10", 1)]
    # facets follow the filters
    assert search(None, lang="nl", facets=True, backend=corpus).facets["sources"] == [("nos.nl", 1)]


def test_malformed_dates_are_value_errors(corpus):
    with pytest.raises(ValueError, match="since"):
        search("putin", since="yesterday", backend=corpus)
    with pytest.raises(ValueError, match="until"):
        search("putin", until="2024-13-01", backend=corpus)
    with pytest.raises(SearchError):  # InvalidQuery is both
        search("putin", since="2024-05-02", until="2024-05-01", backend=corpus)


def test_user_text_with_query_syntax_never_fails(corpus):
    for text in ['title:"unclosed', "a AND OR (", "*", "]]}{", "gas~ -putin +|"]:
        search(text, backend=corpus)  # simple_query_string tolerates any input


def test_search_builds_its_own_backend_from_settings(corpus, kind_settings):
    assert ids(search("pipelines", settings=kind_settings)) == {"en-1"}
