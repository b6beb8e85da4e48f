"""The Enricher end to end over plain dicts (no Kafka, no search engine)."""

import re
import time
from datetime import datetime

import pytest

import streams
from streams.enrich import Enricher
from streams.enrich.pipeline import ner_text
from streams.settings import PROJECT_DIR, EnrichSettings

SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"


def seed_article():
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    first = next(i for i, line in enumerate(lines) if line)
    return {
        "id": "seed-0",
        "url": "https://nos.nl/artikel/0",
        "source": "nos.nl",
        "title": lines[first],
        "body": "\n".join(lines[first + 1 :]).strip(),
        "published_at": "2022-02-09T12:00:00Z",
        "language": None,
        "meta": {"feed": "nos"},
        "pipeline": {"ingested_at": "2022-02-09T12:00:01.000Z"},
    }


def article(title, body, **extra):
    return {
        "id": title[:10],
        "url": None,
        "source": None,
        "title": title,
        "body": body,
        "published_at": None,
        "language": None,
        "meta": {},
        "pipeline": {"ingested_at": None},
        **extra,
    }


@pytest.fixture(scope="module")
def enricher():
    # Models as configured; none is installed here, so every language falls back to blank.
    return Enricher(EnrichSettings(models={"nl": "nl_core_news_md", "en": "en_core_web_md"}))


@pytest.fixture(scope="module")
def seed_doc(enricher):
    return enricher.enrich(seed_article())


def test_seed_language(seed_doc):
    assert seed_doc["language"] == "nl"
    assert seed_doc["language_confidence"] > 0.95


def test_seed_entities_linked(seed_doc):
    by_text = {}
    for e in seed_doc["entities"]:
        by_text.setdefault(e["text"], e)
    assert by_text["Poetin"]["id"] == "Q7747" and by_text["Poetin"]["name"] == "Vladimir Putin"
    assert by_text["Macron"]["id"] == "Q3052772" and by_text["Macron"]["label"] == "PER"
    assert by_text["Oekraïne"]["id"] == "Q212" and by_text["Oekraïne"]["label"] == "LOC"
    assert by_text["NAVO"]["id"] == "Q7184" and by_text["NAVO"]["name"] == "NATO"
    assert {"Q61053", "Q6279", "Q3874799", "Q30", "Q159"} <= set(seed_doc["entity_ids"])
    assert "Nord Stream 2" in seed_doc["entity_names"]
    assert all(e["source"] in {"model", "gazetteer", "rule"} for e in seed_doc["entities"])


def test_seed_offsets_point_into_their_field(seed_doc):
    assert seed_doc["entities"]
    for e in seed_doc["entities"]:
        assert seed_doc[e["field"]][e["start"] : e["end"]] == e["text"], e


def test_seed_ids_and_names_deduplicated_in_order(seed_doc):
    ids = [e["id"] for e in seed_doc["entities"] if e["id"]]
    assert seed_doc["entity_ids"] == list(dict.fromkeys(ids))
    assert seed_doc["entity_ids"][:2] == ["Q7747", "Q3052772"]  # Poetin, then Macron
    assert len(seed_doc["entity_names"]) == len(set(seed_doc["entity_names"]))


def test_seed_topics(seed_doc):
    codes = [t["code"] for t in seed_doc["topics"]]
    assert {"medtop:11000000", "medtop:16000000"} & set(codes)
    assert 1 <= len(codes) <= 3


def test_seed_pipeline_block(seed_doc):
    p = seed_doc["pipeline"]
    assert p["version"] == streams.__version__
    assert p["ner_model"] == "blank+gazetteer"  # nl_core_news_md is not installed here
    assert p["ingested_at"] == "2022-02-09T12:00:01.000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", p["enriched_at"])
    datetime.fromisoformat(p["enriched_at"].replace("Z", "+00:00"))
    assert "indexed_at" not in p


def test_input_fields_kept_and_not_mutated(enricher):
    src = seed_article()
    before = repr(src)
    doc = enricher.enrich(src)
    assert repr(src) == before
    for key in ("id", "url", "source", "title", "body", "published_at", "meta"):
        assert doc[key] == src[key]
    assert doc["translations"] == {}


def test_batch_groups_languages_and_keeps_order(enricher):
    batch = [
        article(
            "Poutine reçoit Macron",
            "Le président russe Vladimir Poutine a reçu Emmanuel "
            "Macron au Kremlin pour parler de l'Ukraine et de l'OTAN.",
        ),
        seed_article(),
        article(
            "Putin warns NATO",
            "Russian President Vladimir Putin warned NATO against expanding further east, the Kremlin said on Tuesday.",
        ),
        article(
            "Putin droht der NATO",
            "Der russische Präsident Wladimir Putin hat die NATO vor "
            "einer Erweiterung nach Osten gewarnt, teilte der Kreml mit.",
        ),
        article("Ok", "Ok."),
    ]
    docs = [r.doc for r in enricher.enrich_batch(batch)]
    assert [d["id"] for d in docs] == [a["id"] for a in batch]
    assert [d["language"] for d in docs] == ["fr", "nl", "en", "de", "und"]
    for d in docs[:4]:
        assert "Q7747" in d["entity_ids"] and "Q7184" in d["entity_ids"], d["language"]
    assert docs[4]["language_confidence"] is None
    assert docs[4]["entities"] == [] and docs[4]["topics"] == []


def test_hint_is_checked(enricher):
    doc = enricher.enrich(seed_article() | {"language": "en"})
    assert doc["language"] == "nl"


def test_title_entities_use_title_offsets(enricher):
    doc = enricher.enrich(article("Spanning tussen Rusland en de VS.", "Poetin zwijgt."))
    title_ents = [(e["text"], e["start"]) for e in doc["entities"] if e["field"] == "title"]
    assert title_ents == [("Rusland", 16), ("VS", 30)]
    assert [(e["text"], e["field"], e["start"]) for e in doc["entities"][2:]] == [("Poetin", "body", 0)]


def test_empty_batch(enricher):
    assert enricher.enrich_batch([]) == []


def test_a_failing_article_does_not_sink_the_batch(enricher):
    good = article("Poetin zwijgt", "Poetin zegt niets over de NAVO.")
    bad = article("Kapot", "x")
    bad["title"] = 12345  # not a string: enrichment of this one fails
    first, second = enricher.enrich_batch([good, bad])
    assert first.error is None and first.doc["entity_ids"] == ["Q7747", "Q7184"]
    assert second.doc is None and isinstance(second.error, TypeError)


def test_a_single_failing_article_gives_its_own_error(enricher):
    bad = article("Kapot", "x")
    bad["title"] = 12345
    [result] = enricher.enrich_batch([bad])
    assert isinstance(result.error, TypeError)
    with pytest.raises(TypeError):
        enricher.enrich(bad)


def test_mentions_are_capped_and_the_total_kept():
    capped = Enricher(EnrichSettings(max_entities=5))
    doc = capped.enrich(article("Poetin", "Poetin en Macron. " * 40))
    assert len(doc["entities"]) == 5 and doc["entity_count"] == 81
    assert doc["entity_ids"] == ["Q7747", "Q3052772"]


def test_translate_hook(enricher, monkeypatch):
    calls = []

    def translate(src, enriched):
        calls.append(enriched["language"])
        return {"en": {"title": "x", "summary": "y"}}

    monkeypatch.setattr(enricher, "translate", translate)
    doc = enricher.enrich(seed_article())
    assert calls == ["nl"] and doc["translations"] == {"en": {"title": "x", "summary": "y"}}


def test_failing_translation_never_blocks(enricher, monkeypatch):
    def translate(src, enriched):
        raise TimeoutError("translator down")

    monkeypatch.setattr(enricher, "translate", translate)
    doc = enricher.enrich(seed_article())
    assert doc["translations"] == {} and doc["entities"]


# --- hostile text ---------------------------------------------------------------------------------


def test_ner_text_keeps_length_words_and_short_punctuation():
    text = 'Poetin (NAVO). "Macron" zei: <?<?<? ' + "x" * 40 + " https://nos.nl/artikel/123-poetin"
    seen = ner_text(text)
    assert len(seen) == len(text)
    assert seen.startswith('Poetin (NAVO). "Macron" zei: ' + " " * 6 + " " + "x" * 40)  # symbol run blank
    assert seen.endswith("https   nos nl artikel 123 poetin")  # a long run split at its symbols
    assert ner_text("Oekraïne e\u0301 普京与马克龙") == "Oekraïne e\u0301 普京与马克龙"


@pytest.mark.parametrize(
    "body",
    [
        "<?" * 450_000,  # one 900,000-character token of prefixes: hours in spaCy's tokenizer before
        "'\"" * 450_000,
        ("'\"" * 16 + " ") * 27_000,  # short runs of symbols, one token each
        ("a" + "'s" * 15 + " ") * 28_000,  # suffixes that are not symbols only
    ],
    ids=["prefixes", "quotes", "short-runs", "suffixes"],
)
def test_punctuation_floods_enrich_in_bounded_time_with_offsets_intact(enricher, body):
    started = time.monotonic()
    doc = enricher.enrich({"id": "x", "title": "Poetin", "body": "Macron in Moskou. " + body})
    assert time.monotonic() - started < 10
    assert {e["text"] for e in doc["entities"]} >= {"Poetin", "Macron", "Moskou"}
    for e in doc["entities"]:
        assert doc[e["field"]][e["start"] : e["end"]] == e["text"]
