"""Search by story without an engine: the request bodies of search --collapse and of `stories`, and the
parsing of hand-written responses (the shapes the engines answer with)."""

from __future__ import annotations

import pytest

from streams.search import (
    InvalidQuery,
    build_collapsed_search,
    build_query,
    build_stories_query,
    parse_stories,
    search,
    top_stories,
)
from streams.search.filters import article_filters
from streams.search.queries import add_story_sizes, parse_collapsed
from streams.search.stories import HAS_STORY, build_story_sizes_query, parse_story_sizes

FILTERS = {"lang": " NL ", "entity": "q7747", "topic": "politics", "since": "2024-03-01", "until": "2024-03-31"}
MISSING = -9223372036854775808  # the sort value of a missing published_at (sorted last)


def _filters(body: dict) -> list[dict]:
    return body["query"]["bool"]["filter"]


# --- requests ---------------------------------------------------------------------------------------------
def test_collapse_groups_only_articles_that_have_a_story():
    plain = build_query("gas", facets=True, **FILTERS)
    body = build_query("gas", facets=True, collapse=True, **FILTERS)
    assert body["collapse"] == {"field": "story_id"}
    assert _filters(body) == [*_filters(plain), HAS_STORY]
    assert body["query"]["bool"]["must"] == plain["query"]["bool"]["must"]
    assert body["sort"] == plain["sort"] and body["highlight"] == plain["highlight"]
    assert "aggs" not in body and body["track_total_hits"] is False  # counts come from another body
    assert "collapse" not in plain and HAS_STORY not in _filters(plain)
    assert "story_id" in plain["_source"]


def test_the_filter_list_is_shared():
    expected = article_filters(lang="nl", entity="q7747", topic="politics", since="2024-03-01", until="2024-03-31")
    assert _filters(build_query(None, **FILTERS)) == expected
    assert _filters(build_stories_query(**FILTERS)) == [*expected, HAS_STORY]
    assert {"term": {"entity_ids": "Q7747"}} in expected and {"term": {"language": "nl"}} in expected


def test_collapsed_search_is_three_bodies_with_the_same_query():
    grouped, single, counts = build_collapsed_search("gas", limit=7, facets=True, **FILTERS)
    assert grouped == build_query("gas", limit=7, collapse=True, **FILTERS)
    # the articles without a story, ranked alike and not collapsed
    assert "collapse" not in single and single["query"]["bool"]["must_not"] == [HAS_STORY]
    assert single["sort"] == grouped["sort"] and single["size"] == 7
    assert _filters(single) == _filters(grouped)[:-1]
    # counts: every matching article, no hits; facets plus the two group counts
    assert counts["size"] == 0 and counts["track_total_hits"] is True and "sort" not in counts
    assert counts["query"] == build_query("gas", **FILTERS)["query"]
    assert {"entities", "languages", "dates"} <= set(counts["aggs"])
    assert counts["aggs"]["story_count"]["cardinality"]["field"] == "story_id"
    assert counts["aggs"]["no_story"] == {"missing": {"field": "story_id"}}
    assert set(build_collapsed_search("gas")[2]["aggs"]) == {"story_count", "no_story"}  # no facets asked


def test_story_sizes_query_asks_for_each_story_once():
    body = build_story_sizes_query(["s-2", "s-1", "s-2"])
    assert body["query"] == {"terms": {"story_id": ["s-2", "s-1"]}}
    terms = body["aggs"]["stories"]["terms"]
    assert terms == {"field": "story_id", "size": 2, "include": ["s-2", "s-1"]}
    assert set(body["aggs"]["stories"]["aggs"]) == {"languages", "sources"}
    with pytest.raises(ValueError):
        build_story_sizes_query([])


def test_stories_query():
    body = build_stories_query(limit=3)
    assert body["size"] == 0 and _filters(body) == [HAS_STORY]
    terms = body["aggs"]["stories"]["terms"]
    assert terms["field"] == "story_id" and terms["size"] == 3
    assert terms["order"][0] == {"_count": "desc"}  # largest first
    sub = body["aggs"]["stories"]["aggs"]
    assert sub["entities"]["terms"]["field"] == "entity_names"
    assert sub["first_published"] == {"min": {"field": "published_at"}}
    assert sub["first_article"]["top_hits"]["size"] == 1
    assert "stories" not in build_stories_query(limit=0)["aggs"]  # a terms size of 0 is refused
    for bad in (-1, 1001, "3"):
        with pytest.raises(InvalidQuery, match="limit"):
            build_stories_query(limit=bad)
    with pytest.raises(InvalidQuery, match="since"):
        build_stories_query(since="last week")


# --- responses --------------------------------------------------------------------------------------------
def _hit(doc_id: str, story: str | None, score: float, published_ms: int, **extra) -> dict:
    src = {"id": doc_id, "title": doc_id.upper(), "language": "en", **extra}
    if story:
        src["story_id"] = story
    return {"_id": doc_id, "_score": None, "_source": src, "sort": [score, published_ms]}


def test_parse_collapsed_merges_the_rankings_and_counts_groups():
    grouped = {"hits": {"hits": [_hit("a", "s-a", 2.0, 10), _hit("b", "s-b", 1.0, 30), _hit("c", "s-c", 1.0, 5)]}}
    single = {"hits": {"hits": [_hit("x", None, 1.5, 1), _hit("y", None, 1.0, 20), _hit("z", None, 1.0, MISSING)]}}
    counts = {
        "hits": {"total": {"value": 11, "relation": "eq"}, "hits": []},
        "aggregations": {
            "languages": {"buckets": [{"key": "en", "doc_count": 11}]},
            "story_count": {"value": 4},
            "no_story": {"doc_count": 3},
        },
    }
    result = parse_collapsed([grouped, single, counts], limit=5)
    assert [h.id for h in result.hits] == ["a", "x", "b", "y", "c"]  # score, then newest; z is cut
    assert [h.story_id for h in result.hits] == ["s-a", None, "s-b", None, "s-c"]
    assert result.total == 11 and result.groups == 4 + 3
    assert result.facets == {"languages": [("en", 11)]}  # the group counts are no facets


def test_on_equal_rank_the_story_comes_first():
    grouped = {"hits": {"hits": [_hit("s", "s-1", 1.0, 7)]}}
    single = {"hits": {"hits": [_hit("x", None, 1.0, 7)]}}
    result = parse_collapsed([grouped, single, {"hits": {"total": 2}}], limit=10)
    assert [h.id for h in result.hits] == ["s", "x"]


SIZES = {
    "aggregations": {
        "stories": {
            "buckets": [
                {
                    "key": "s-a",
                    "doc_count": 4,
                    "languages": {"buckets": [{"key": "de", "doc_count": 2}, {"key": "nl", "doc_count": 1},
                                              {"key": "en", "doc_count": 1}]},
                    "sources": {"buckets": [{"key": "dpa.de", "doc_count": 3}, {"key": "nos.nl", "doc_count": 1}]},
                }
            ]
        }
    }
}  # fmt: skip


def test_story_sizes_fill_the_hits_that_have_a_story():
    assert parse_story_sizes(SIZES)["s-a"].languages == ["de", "nl", "en"]  # most frequent first
    grouped = {"hits": {"hits": [_hit("a", "s-a", 1.0, 3), _hit("g", "s-gone", 1.0, 2)]}}
    single = {"hits": {"hits": [_hit("x", None, 1.0, 1)]}}
    result = parse_collapsed([grouped, single, {"hits": {"total": 3}}], limit=10)
    add_story_sizes(result, SIZES)
    a, gone, x = result.hits
    assert (a.story_size, a.story_languages, a.story_sources) == (4, ["de", "nl", "en"], ["dpa.de", "nos.nl"])
    assert gone.story_size is None and gone.story_id == "s-gone"  # deleted meanwhile: no figures
    assert (x.story_size, x.story_languages) == (None, [])


def _bucket(key, count, first_pub, last_pub, unpublished_first=None, unpublished_last=None, title="T"):
    return {
        "key": key,
        "doc_count": count,
        "languages": {"buckets": [{"key": "nl", "doc_count": count - 1}, {"key": "en", "doc_count": 1}]},
        "sources": {"buckets": [{"key": "nos.nl", "doc_count": count}]},
        "entities": {"buckets": [{"key": "Vladimir Putin", "doc_count": count}]},
        "first_published": {"value": first_pub},
        "last_published": {"value": last_pub},
        "unpublished": {
            "doc_count": int(unpublished_first is not None),
            "first": {"value": unpublished_first},
            "last": {"value": unpublished_last},
        },
        "first_article": {"hits": {"hits": [{"_id": f"{key}-1", "_source": {"id": f"{key}-1", "title": title}}]}},
    }


DAY = 86_400_000
MAR_1 = 1709251200000  # 2024-03-01T00:00:00Z


def test_parse_stories():
    resp = {
        "hits": {"total": {"value": 9, "relation": "eq"}, "hits": []},
        "aggregations": {
            "story_count": {"value": 4},
            "stories": {
                "buckets": [
                    _bucket("s-a", 5, MAR_1, MAR_1 + 2 * DAY, title="Poetin dreigt"),
                    # one article without published_at, ingested after the others were published
                    _bucket("s-b", 3, MAR_1 + DAY, MAR_1 + DAY, MAR_1 + 3 * DAY, MAR_1 + 3 * DAY),
                    # only articles without published_at, ingested before
                    _bucket("s-c", 1, None, None, MAR_1 - DAY, MAR_1 - DAY),
                ]
            },
        },
    }
    result = parse_stories(resp)
    assert (result.articles, result.stories) == (9, 4)
    a, b, c = result.top
    assert (a.id, a.size, a.title, a.first_article) == ("s-a", 5, "Poetin dreigt", "s-a-1")
    assert a.languages == {"nl": 4, "en": 1} and list(a.languages) == ["nl", "en"]
    assert a.sources == {"nos.nl": 5} and a.entities == {"Vladimir Putin": 5}
    assert (a.first_seen, a.last_seen) == ("2024-03-01T00:00:00Z", "2024-03-03T00:00:00Z")
    assert (b.first_seen, b.last_seen) == ("2024-03-02T00:00:00Z", "2024-03-04T00:00:00Z")
    assert (c.first_seen, c.last_seen) == ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z")
    empty = parse_stories({"hits": {"total": {"value": 0}}, "aggregations": {"story_count": {"value": 0}}})
    assert (empty.articles, empty.stories, empty.top) == (0, 0, [])


# --- the functions that send them ---------------------------------------------------------------------------
class FakeBackend:
    """Records the requests; answers msearch with the given responses and search with SIZES."""

    alias = "articles"

    def __init__(self, msearch_responses: list[dict] | None = None, search_response: dict | None = None):
        self.msearch_responses = msearch_responses or []
        self.search_response = search_response or SIZES
        self.searches: list[dict] = []
        self.msearches: list[list[dict]] = []

    def search(self, body: dict) -> dict:
        self.searches.append(body)
        return self.search_response

    def msearch(self, bodies: list[dict]) -> list[dict]:
        self.msearches.append(bodies)
        return self.msearch_responses


def test_collapsed_search_is_one_msearch_then_one_search_for_the_stories_of_the_hits():
    grouped = {"hits": {"hits": [_hit("a", "s-a", 1.0, 3)]}}
    single = {"hits": {"hits": [_hit("x", None, 1.0, 1)]}}
    backend = FakeBackend([grouped, single, {"hits": {"total": 5}, "aggregations": {"story_count": {"value": 1}}}])
    result = search("gas", lang="nl", collapse=True, limit=4, backend=backend)
    assert backend.msearches == [build_collapsed_search("gas", lang="nl", limit=4)]
    assert backend.searches == [build_story_sizes_query(["s-a"])]
    assert [(h.id, h.story_size) for h in result.hits] == [("a", 4), ("x", None)]
    assert result.groups == 1 and result.total == 5


def test_collapsed_search_without_stories_in_the_hits_sends_no_second_request():
    single = {"hits": {"hits": [_hit("x", None, 1.0, 1)]}}
    backend = FakeBackend([{"hits": {"hits": []}}, single, {"hits": {"total": 1}}])
    assert [h.id for h in search(None, collapse=True, backend=backend).hits] == ["x"]
    assert backend.searches == []


def test_plain_search_is_unchanged_one_search():
    backend = FakeBackend(search_response={"hits": {"total": {"value": 0}, "hits": []}})
    search("gas", facets=True, backend=backend)
    assert backend.searches == [build_query("gas", facets=True)] and backend.msearches == []


def test_top_stories_sends_the_stories_query():
    backend = FakeBackend(search_response={"hits": {"total": {"value": 0}}, "aggregations": {}})
    result = top_stories(entity="Q7747", since="2024-03-01", limit=5, backend=backend)
    assert backend.searches == [build_stories_query(entity="Q7747", since="2024-03-01", limit=5)]
    assert result.top == []
