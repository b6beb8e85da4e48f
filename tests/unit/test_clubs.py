"""Clubs named like their place: re-linked in sports articles only, venues kept (``streams.enrich.clubs``)."""

from functools import cache

from streams.enrich import Enricher
from streams.enrich.clubs import club_short_forms
from streams.settings import EnrichSettings

BAYERN_CLUB, BAVARIA = "Q15789", "Q980"


@cache
def enricher():
    return Enricher(EnrichSettings(languages=["de", "it", "en"]))


def linked(title, body, lang):
    doc = enricher().enrich({"id": "a", "title": title, "body": body, "language": lang})
    return [(e["text"], e["label"], e["id"]) for e in doc["entities"]], doc["topics"]


def test_short_forms_come_from_two_word_club_names_and_skip_shared_words():
    forms = club_short_forms(enricher().gazetteer, "de")
    bayern = enricher().gazetteer.get(forms["Bayern"])
    assert bayern.id == BAYERN_CLUB
    assert "Madrid" not in forms  # Real Madrid and Atlético Madrid share it: stays the city


def test_sports_article_links_the_club_and_keeps_the_venue():
    ents, topics = linked(
        "Bayern gewinnt das Spitzenspiel",
        "Bayern hat in der Bundesliga 3:1 gegen Dortmund gewonnen. Der Stürmer traf zweimal, der Trainer "
        "lobte die Mannschaft nach dem Spiel in Dortmund vor 81.000 Zuschauern im Stadion.",
        "de",
    )
    assert topics[0]["code"] == "medtop:15000000"
    assert ("Bayern", "ORG", BAYERN_CLUB) in ents
    dortmund = [(label, qid) for text, label, qid in ents if text == "Dortmund"]
    assert dortmund[0][0] == "ORG" and dortmund[-1][0] == "LOC"  # "gegen Dortmund" / "in Dortmund"


def test_other_articles_keep_the_place():
    ents, topics = linked(
        "Bayern erhöht die Ausgaben für Schulen",
        "Die Staatsregierung in München will in Bayern mehr Lehrer einstellen. Der Landtag berät den "
        "Haushalt im Herbst, die Opposition fordert mehr Geld für Schulen.",
        "de",
    )
    assert not topics or topics[0]["code"] != "medtop:15000000"
    assert all(qid != BAYERN_CLUB for _, _, qid in ents)
    assert ("Bayern", "LOC", BAVARIA) in ents
