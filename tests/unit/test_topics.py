"""Topic scoring: IPTC top-level codes from stem lexicons plus entity signals."""

import json
import random
import re

import pytest

from streams.enrich import topics as topics_module
from streams.enrich.topics import IPTC_TOP_LEVEL, Lexicon, TopicScorer, topic_code
from streams.settings import PROJECT_DIR, config_dir

SPORT, POLITICS, CONFLICT = "medtop:15000000", "medtop:11000000", "medtop:16000000"


def words(text):
    return re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text.lower())


@pytest.fixture(scope="module")
def scorer():
    return TopicScorer.load(config_dir() / "topics")


def test_taxonomy_is_the_17_top_level_codes():
    assert len(IPTC_TOP_LEVEL) == 17
    assert IPTC_TOP_LEVEL["medtop:16000000"] == "conflict, war and peace"
    assert topic_code("11000000") == topic_code("medtop:11000000") == POLITICS
    with pytest.raises(ValueError):
        topic_code("99000000")


def test_lexicons_cover_every_topic(scorer):
    for lang in ("nl", "en", "de", "fr"):
        lex = scorer.lexicons[lang]
        codes = {c for cs in (*lex.prefixes.values(), *lex.exact.values()) for c in cs}
        assert codes == set(IPTC_TOP_LEVEL), lang


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        (
            "nl",
            "Ajax heeft de wedstrijd tegen PSV gewonnen. De spits scoorde twee doelpunten en de "
            "trainer was tevreden over zijn spelers. Ajax blijft koploper in de eredivisie.",
        ),
        (
            "en",
            "The striker scored twice as the champions won the match, and the coach praised "
            "his players after the league game in a packed stadium.",
        ),
        (
            "de",
            "Der Stürmer erzielte zwei Tore, der Trainer lobte die Spieler nach dem Spiel in "
            "der Bundesliga vor vollem Stadion.",
        ),
        (
            "fr",
            "L'attaquant a marqué deux fois et l'entraîneur a félicité ses joueurs après "
            "le match de championnat dans un stade plein.",
        ),
    ],
)
def test_sports_text_is_sport_first(scorer, lang, text):
    topics = scorer.score(lang, words(text))
    assert topics and topics[0]["code"] == SPORT
    assert topics[0]["label"] == "sport"


@pytest.mark.parametrize("text", ["Lorem ipsum dolor sit amet qwxz bla bla.", "zzzz qqqq xxxx"])
def test_unrelated_text_has_no_topics(scorer, text):
    assert scorer.score("nl", words(text)) == []
    assert scorer.score("und", words(text)) == []


def test_shape_and_bounds(scorer):
    text = (
        "De regering en het parlement spraken over de oorlog, de economie, het klimaat, de "
        "zorg, het onderwijs, de politie en het voetbal."
    )
    topics = scorer.score("nl", words(text))
    assert 1 <= len(topics) <= 3
    scores = [t["score"] for t in topics]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(set(t) == {"code", "label", "score"} for t in topics)


def test_inflections_count_through_prefixes():
    lex = Lexicon.from_mapping({"16000000": ["oorlog"], "11000000": ["wet$"]})
    assert lex.topics_of("oorlogen") == {CONFLICT}
    assert lex.topics_of("oorlogsmisdaad") == {CONFLICT}
    assert lex.topics_of("wet") == {POLITICS}
    assert lex.topics_of("weten") == frozenset()  # "$": whole token only


def test_entity_signals_alone_can_give_a_topic(scorer):
    tokens = words("Zij spraken gisteren lang met elkaar over van alles en nog wat.")
    assert scorer.score("nl", tokens) == []
    with_nato = scorer.score("nl", tokens, entity_signals=[["Q7184", "tag:military-alliance"]])
    assert with_nato and with_nato[0]["code"] == CONFLICT
    assert POLITICS in {t["code"] for t in with_nato}


def test_title_words_weigh_more(scorer):
    body = words("Er is veel gebeurd deze week in het land en daarbuiten.")
    base = scorer.score("nl", body + ["oorlog"])
    boosted = scorer.score("nl", body + ["oorlog"], title_tokens=["oorlog"])
    assert boosted[0]["score"] > base[0]["score"]


def test_threshold_and_max_topics():
    strict = TopicScorer({"nl": Lexicon.from_mapping({"15000000": ["voetbal"]})}, threshold=0.99)
    assert strict.score("nl", ["voetbal"] + ["x"] * 50) == []
    one = TopicScorer({"nl": Lexicon.from_mapping({"15000000": ["voetbal"], "11000000": ["kabinet"]})}, max_topics=1)
    assert len(one.score("nl", ["voetbal", "kabinet", "kabinet"])) == 1


# --- score_text: the same result as score over the regex tokens, without walking every token ----


def _samples():
    out = []
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))["article"]
        out.append((path.name[:2], article["title"], article["body"]))
    rng = random.Random(3)
    pieces = (
        "oorlog Kabinet rock'n'roll covid-19 ²-voudig snake_case -voetbal- ’s-Gravenhage EU-landen wet weten "
        "l'économie (regering) 12.000 ΣΟΦΟΣ İstanbul straße — ' élection Wahl-Kampf Ökonomie x"
    ).split() + ["\u00a0", "\t", "\n\n", " "]
    for _ in range(200):
        lang = rng.choice(["nl", "en", "de", "fr", "und"])
        title = "".join(rng.choice(pieces + [" "] * 6) for _ in range(rng.randrange(0, 12)))
        body = "".join(rng.choice(pieces + [" "] * 6) for _ in range(rng.randrange(0, 300)))
        out.append((lang, title, body))
    return out


@pytest.mark.parametrize("title_weight", [2.0, 1.0, 1.3])
def test_score_text_is_score_over_words(title_weight):
    scorer = TopicScorer.load(config_dir() / "topics", threshold=0.0, max_topics=17, title_weight=title_weight)
    for lang, title, body in _samples():
        text = f"{title}\n\n{body}"
        signals = [["Q7184", "tag:military-alliance"]] if len(body) % 3 == 0 else []
        tokens, title_tokens = topics_module.words(text), topics_module.words(title)
        want = scorer.score(lang, tokens, title_tokens=title_tokens, entity_signals=signals)
        for _ in range(2):  # the second time from the chunk cache
            assert scorer.score_text(lang, text, title=title, entity_signals=signals) == want, (lang, text)


def test_module_words_is_the_regex():
    text = "Rock'n'roll, covid-19 en ’s-Gravenhage: EU-landen; snake_case ²-voudig"
    assert topics_module.words(text) == re.findall(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", text.lower())
