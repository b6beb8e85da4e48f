"""Putin under four spellings, through the real pipeline: CLI producer -> Kafka -> worker (enrich +
index) -> OpenSearch -> `newsstreams search --entity Q7747`.

The articles are the seed (Dutch, "Poetin") and evaluation articles from ``tests/data/eval``
(English "Putin", German "Putins"/"Wladimir Putin", French "Poutine"/"Vladimir Poutine"), written
independently of the gazetteer, plus a French sports article that mentions nobody of the kind.
No language hint is sent: the worker detects each language itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "seeds" / "000_d6634ea9b322a4cb.txt"
EVAL = PROJECT / "tests" / "data" / "eval"

PUTIN_ARTICLES = {"en": "en-01-putin-talks", "de": "de-01-merz-putin", "fr": "fr-01-macron-poutine"}
CONTROL = "fr-03-tour-de-france"


def _article(name: str) -> dict:
    return json.loads((EVAL / f"{name}.json").read_text(encoding="utf-8"))["article"]


def _search(pipeline, *args: str) -> dict:
    result = pipeline.cli("search", *args, "--json", "--limit", "50")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_search_by_entity_finds_putin_in_dutch_english_german_and_french(pipeline, tmp_path):
    articles = [_article(name) for name in PUTIN_ARTICLES.values()] + [_article(CONTROL)]
    assert all("language" not in a for a in articles)
    batch = tmp_path / "articles.json"
    batch.write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")

    pipeline.start_worker()
    for path in (SEED, batch):
        result = pipeline.cli("produce", str(path))  # no --source: the seed's id hashes source too
        assert result.returncode == 0, result.stderr.decode()
    pipeline.wait_for_count(1 + len(articles))

    seed_id = json.loads((EVAL / "nl-00-seed.json").read_text(encoding="utf-8"))["article"]["id"]
    expected = {seed_id: "nl", **{_article(n)["id"]: lang for lang, n in PUTIN_ARTICLES.items()}}

    found = _search(pipeline, "--entity", "Q7747")
    got = {hit["id"]: hit["language"] for hit in found["hits"]}
    assert got == expected, got  # the four articles, each in its detected language; not the control
    assert found["total"] == 4
    assert set(got.values()) == {"nl", "en", "de", "fr"}

    # The canonical name finds the same articles, and each indexed document links its own spelling.
    by_name = _search(pipeline, "--entity", "Vladimir Putin")
    assert {hit["id"] for hit in by_name["hits"]} == set(expected)
    spellings = {}
    for article_id in expected:
        doc = pipeline.backend.get(article_id)
        assert "Q7747" in doc["entity_ids"] and "Vladimir Putin" in doc["entity_names"]
        spellings[doc["language"]] = {e["text"] for e in doc["entities"] if e["id"] == "Q7747"}
    assert "Poetin" in spellings["nl"] and "Putin" in spellings["en"]
    assert "Wladimir Putin" in spellings["de"] and "Poutine" in spellings["fr"], spellings

    # The control article is indexed, in French, and not linked to Putin.
    control = pipeline.backend.get(_article(CONTROL)["id"])
    assert control["language"] == "fr" and "Q7747" not in control["entity_ids"]
