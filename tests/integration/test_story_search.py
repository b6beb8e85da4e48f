"""Search by story against the real engine: search --collapse, the stories API and both commands.

The documents are hand-made enriched articles with the story_id (and, for one, no published_at) the
worker would give them: three stories, two articles without a story. Runs once per search kind
(conftest.search_kinds): the multi-search goes through both clients.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.search import search, top_stories
from streams.settings import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.search_kinds]

PUTIN = {"label": "PER", "id": "Q7747", "name": "Vladimir Putin", "source": "gazetteer"}
SCHOLZ = {"label": "PER", "id": "Q61053", "name": "Olaf Scholz", "source": "gazetteer"}
POLITICS, SPORT = ("medtop:11000000", "politics"), ("medtop:15000000", "sport")


def doc(id, language, published_at, title, body, story_id, source, entities=(), topics=(), ingested="2024-05-01"):
    entities = [{"text": text, "start": 0, "end": len(text), **ent} for text, ent in entities]
    article = {
        "id": id,
        "url": f"https://{source}/{id}",
        "source": source,
        "title": title,
        "body": body,
        "language": language,
        "entities": entities,
        "entity_ids": [e["id"] for e in entities if e.get("id")],
        "entity_names": [e["name"] for e in entities if e.get("name")],
        "topics": [{"code": code, "label": label, "score": 0.8} for code, label in topics],
        "pipeline": {"version": "test", "ner_model": "blank+gazetteer", "ingested_at": f"{ingested}T10:00:00Z"},
    }
    if published_at:
        article["published_at"] = published_at
    if story_id:
        article["story_id"] = story_id
    return article


DOCS = [
    # s-gas: one event in three languages
    doc("nl-1", "nl", "2024-03-01T08:00:00Z", "Poetin dreigt de gaskraan dicht te draaien",
        "Het gas naar Europa stopt, zegt Poetin.", "s-gas", "nos.nl", [("Poetin", PUTIN)], [POLITICS]),
    doc("en-1", "en", "2024-03-02T12:00:00Z", "Putin meets European leaders over gas",
        "Vladimir Putin met European leaders to discuss gas supplies.", "s-gas", "bbc.co.uk",
        [("Putin", PUTIN)], [POLITICS]),
    doc("de-1", "de", "2024-03-03T09:30:00Z", "Putin und Scholz telefonieren",
        "Der Kanzler sprach mit Wladimir Putin über Gas.", "s-gas", "tagesschau.de",
        [("Wladimir Putin", PUTIN), ("Scholz", SCHOLZ)], [POLITICS]),
    # s-derby
    doc("en-2", "en", "2024-04-10T20:30:00Z", "Ajax win the derby", "A late goal settled the match.",
        "s-derby", "bbc.co.uk", topics=[SPORT]),
    doc("it-1", "it", "2024-04-11T08:00:00Z", "L'Ajax vince il derby", "Un gol nel finale decide la partita.",
        "s-derby", "ansa.it", topics=[SPORT]),
    # s-rain: the second article has no published_at; it came in two days after the first was published
    doc("nl-2", "nl", "2024-02-20T10:00:00Z", "Regen in Utrecht", "Het KNMI verwacht veel regen.", "s-rain",
        "nos.nl"),
    doc("nl-3", "nl", None, "Nog meer regen in Utrecht", "De regen houdt aan.", "s-rain", "nos.nl",
        ingested="2024-02-22"),
    # no story (stories disabled when indexed, or an older document)
    doc("en-3", "en", "2024-03-04T10:00:00Z", "Gas prices rise", "Gas prices rose after Putin spoke.", None,
        "reuters.com", [("Putin", PUTIN)], [POLITICS]),
    doc("fr-1", "fr", "2024-01-15T10:00:00Z", "Le prix du pain augmente", "Le pain coûte plus cher.", None,
        "lemonde.fr"),
]  # fmt: skip


@pytest.fixture
def corpus(fresh_backend):
    assert fresh_backend.bulk_index(DOCS) == []
    fresh_backend.refresh()
    return fresh_backend


def hits(result) -> list[tuple]:
    return [(h.id, h.story_id, h.story_size) for h in result.hits]


# --- search --collapse -------------------------------------------------------------------------------------
def test_collapse_gives_one_hit_per_story_and_keeps_articles_without_a_story_apart(corpus):
    result = search(None, collapse=True, backend=corpus)
    # newest first (equal scores): a story ranks by its newest article, nl-3 (no date) never represents s-rain
    assert hits(result) == [
        ("it-1", "s-derby", 2),
        ("en-3", None, None),
        ("de-1", "s-gas", 3),
        ("nl-2", "s-rain", 2),
        ("fr-1", None, None),
    ]
    assert result.total == len(DOCS) and result.groups == 5
    by_story = {h.story_id: h for h in result.hits}
    assert by_story["s-gas"].story_languages == ["de", "en", "nl"]  # counts equal: by name
    assert by_story["s-gas"].story_sources == ["bbc.co.uk", "nos.nl", "tagesschau.de"]
    assert by_story["s-derby"].story_languages == ["en", "it"]
    assert hits(search(None, collapse=True, limit=2, backend=corpus)) == [("it-1", "s-derby", 2), ("en-3", None, None)]
    counts_only = search(None, collapse=True, limit=0, backend=corpus)
    assert (counts_only.hits, counts_only.total, counts_only.groups) == ([], len(DOCS), 5)
    # without collapse nothing changes: every article, each with its story id
    plain = search(None, limit=20, backend=corpus)
    assert len(plain.hits) == plain.total == len(DOCS) and plain.groups is None
    assert {h.id: h.story_id for h in plain.hits}["nl-3"] == "s-rain"
    assert all(h.story_size is None for h in plain.hits)


def test_collapse_with_filters_shows_the_whole_story(corpus):
    result = search(None, lang="nl", collapse=True, backend=corpus)
    assert hits(result) == [("nl-1", "s-gas", 3), ("nl-2", "s-rain", 2)]
    assert result.total == 3 and result.groups == 2
    assert result.hits[0].story_languages == ["de", "en", "nl"]  # the story, not only its Dutch article

    text = search("gas", collapse=True, facets=True, backend=corpus)
    assert {(h.id if h.story_id is None else h.story_id) for h in text.hits} == {"s-gas", "en-3"}
    assert text.total == 4 and text.groups == 2
    assert dict(text.facets["languages"]) == {"en": 2, "nl": 1, "de": 1}  # facets count articles
    assert {h.story_id: h.story_size for h in text.hits} == {"s-gas": 3, None: None}


# --- stories -------------------------------------------------------------------------------------------------
def test_top_stories(corpus):
    result = top_stories(backend=corpus)
    assert (result.articles, result.stories) == (7, 3)
    assert [(s.id, s.size) for s in result.top] == [("s-gas", 3), ("s-derby", 2), ("s-rain", 2)]
    gas, derby, rain = result.top
    assert gas.languages == {"de": 1, "en": 1, "nl": 1} and gas.sources["nos.nl"] == 1
    assert gas.entities == {"Vladimir Putin": 3, "Olaf Scholz": 1}
    assert (gas.first_seen, gas.last_seen) == ("2024-03-01T08:00:00Z", "2024-03-03T09:30:00Z")
    assert (gas.title, gas.first_article) == ("Poetin dreigt de gaskraan dicht te draaien", "nl-1")
    assert derby.languages == {"en": 1, "it": 1} and derby.title == "Ajax win the derby"
    # nl-3 has no published_at: it counts by when it came in
    assert (rain.first_seen, rain.last_seen) == ("2024-02-20T10:00:00Z", "2024-02-22T10:00:00Z")


def test_top_stories_filters(corpus):
    putin = top_stories(entity="Q7747", backend=corpus)  # en-3 links Putin too, but has no story
    assert (putin.articles, putin.stories, [(s.id, s.size) for s in putin.top]) == (3, 1, [("s-gas", 3)])
    since = top_stories(since="2024-03-02", backend=corpus)
    # equal sizes: the story seen last first
    assert [(s.id, s.size) for s in since.top] == [("s-derby", 2), ("s-gas", 2)]
    gas = since.top[1]
    assert (gas.first_seen, gas.first_article, gas.languages) == ("2024-03-02T12:00:00Z", "en-1", {"de": 1, "en": 1})
    assert [s.id for s in top_stories(limit=1, backend=corpus).top] == ["s-gas"]
    assert top_stories(lang="it", backend=corpus).top[0].id == "s-derby"


# --- the commands ----------------------------------------------------------------------------------------------
@pytest.fixture
def cli(corpus, kind_settings):
    env = {
        "NEWSSTREAMS_SEARCH__ALIAS": corpus.alias,
        "NEWSSTREAMS_SEARCH__BACKEND": kind_settings.backend,
        "NEWSSTREAMS_SEARCH__URL": kind_settings.url,
        "COLUMNS": "220",
    }

    def run(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env=env)
        finally:
            get_settings.cache_clear()

    return run


def test_search_collapse_command(cli):
    table = cli("search", "--collapse")
    assert table.exit_code == 0, table.output
    assert "5 of 5 result(s), one per story (9 matching article(s))" in table.output
    assert "story" in table.output and "3 articles" in table.output and "de, en, nl" in table.output
    data = json.loads(cli("search", "--collapse", "--json", "--lang", "nl").output)
    assert data["groups"] == 2 and data["total"] == 3
    assert [(h["id"], h["story_size"], h["story_languages"]) for h in data["hits"]] == [
        ("nl-1", 3, ["de", "en", "nl"]),
        ("nl-2", 2, ["nl"]),
    ]
    plain = cli("search")
    assert "3 articles" not in plain.output and "9 matching article(s)" in plain.output


def test_stories_command(cli):
    table = cli("stories", "--limit", "2")
    assert table.exit_code == 0, table.output
    assert "2 of 3 stories (7 articles)" in table.output
    assert "Poetin dreigt de gaskraan dicht te draaien" in table.output and "s-gas" in table.output
    assert "de 1, en 1, nl 1" in table.output and "2024-03-01 08:00" in table.output
    assert "s-rain" not in table.output
    data = json.loads(cli("stories", "--json", "--entity", "Vladimir Putin").output)
    assert (data["articles"], data["stories"]) == (3, 1)
    (gas,) = data["top"]
    assert (gas["id"], gas["size"], gas["first_seen"]) == ("s-gas", 3, "2024-03-01T08:00:00Z")
    bad = cli("stories", "--since", "yesterday")
    assert bad.exit_code == 2 and "since" in bad.output
