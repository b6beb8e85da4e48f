"""Model spans settled by the annotation guidelines before the merge (``EntityPipeline.settle``):
determiners trimmed, demonyms and other non-names dropped, known aliases linked, and a longer span
giving way to a linked gazetteer match behind a title. Docs are built by hand: a blank pipeline runs
the gazetteer, then ``doc.ents`` is set as a trained model would leave it."""

from __future__ import annotations

import pytest
import yaml
from test_entities import gazetteer, pipeline  # cached: each language's pipeline is built once for both

from streams.enrich.demonyms import is_nationality_word, is_weekday, nationality_words
from streams.enrich.entities import Mention, build_pipeline, corrected_by_rules
from streams.enrich.gazetteer import load_gazetteer


def model_doc(pipe, text, ents):
    """``text`` through ``pipe`` (gazetteer matches), with ``ents`` = [(surface, label)] as the model's."""
    doc = pipe.nlp(text)
    spans = []
    for surface, label in ents:
        start = text.index(surface)
        span = doc.char_span(start, start + len(surface), label=label)
        assert span is not None, f"{surface!r} is not on token boundaries"
        spans.append(span)
    doc.ents = spans
    return doc


def found(lang, text, ents, pipe=None):
    """(surface, label, QID or key, source) of the merged mentions."""
    pipe = pipe or pipeline(lang)
    out = []
    for m in pipe.mentions(model_doc(pipe, text, ents), text):
        entry = pipe.gazetteer.get(m.key) if m.key else None
        out.append((text[m.start : m.end], m.label, (entry.id or entry.key) if entry else None, m.source))
    return out


def settled(lang, text, ents, pipe=None):
    """(surface, label, key) of ``ents`` settled alone: no gazetteer match competes in a merge."""
    pipe = pipe or pipeline(lang)
    proposed = []
    for surface, label in ents:
        start = text.index(surface)
        proposed.append(Mention(start, start + len(surface), label, "model"))
    return [(text[m.start : m.end], m.label, m.key) for m in pipe.settle(proposed, [], text)]


# --- determiners -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "span", "surface"),
    [
        ("en", "A report by the Rowntree Trust.", "the Rowntree Trust", "Rowntree Trust"),
        ("nl", "Volgens het Rijksmuseum Twenthe niet.", "het Rijksmuseum Twenthe", "Rijksmuseum Twenthe"),
        ("nl", "Hij woont in 't Gooi.", "'t Gooi", "Gooi"),
        ("de", "Laut dem Deutschen Wetterdienst nicht.", "dem Deutschen Wetterdienst", "Deutschen Wetterdienst"),
        ("fr", "Les chercheurs de l'Institut Pasteur.", "l'Institut Pasteur", "Institut Pasteur"),
        ("fr", "Les chercheurs de l’Ifremer.", "l’Ifremer", "Ifremer"),
        ("es", "Según el Banco Rural de Almansa.", "el Banco Rural de Almansa", "Banco Rural de Almansa"),
        ("it", "Secondo gli Uffizi di Firenze.", "gli Uffizi di Firenze", "Uffizi di Firenze"),
    ],
)
def test_leading_determiner_trimmed(lang, text, span, surface):
    assert settled(lang, text, [(span, "ORG")]) == [(surface, "ORG", None)]


def test_only_the_languages_own_determiners_are_trimmed():
    text = "Publié dans The Spectator et dans les Echos."
    assert [s for s, *_ in settled("fr", text, [("The Spectator", "ORG"), ("les Echos", "ORG")])] == [
        "The Spectator",
        "Echos",
    ]


@pytest.mark.parametrize(
    ("lang", "text", "span", "label", "surface", "qid"),
    [
        ("en", "Talks with the European Union resumed.", "the European Union", "ORG", "European Union", "Q458"),
        ("en", "The United States said no.", "The United States", "GPE", "United States", "Q30"),
        ("fr", "Des côtes de l'Espagne à la Corse.", "l'Espagne", "LOC", "Espagne", "Q29"),
        (
            "fr",
            "La Banque centrale européenne a baissé ses taux.",
            "La Banque centrale européenne",
            "ORG",
            "Banque centrale européenne",
            "Q8901",
        ),
        ("nl", "Volgens de Europese Unie is dat zo.", "de Europese Unie", "ORG", "Europese Unie", "Q458"),
        ("nl", "Hij sprak over 't Verenigde Staten.", "'t Verenigde Staten", "LOC", "Verenigde Staten", "Q30"),
        ("de", "Sie kritisierte die Europäische Union.", "die Europäische Union", "ORG", "Europäische Union", "Q458"),
        ("es", "Los Estados Unidos responden.", "Los Estados Unidos", "LOC", "Estados Unidos", "Q30"),
        ("it", "Il governo e l'Unione europea trattano.", "l'Unione europea", "ORG", "Unione europea", "Q458"),
    ],
)
def test_leading_determiner_trimmed_and_linked(lang, text, span, label, surface, qid):
    assert [(s, k) for s, _, k in settled(lang, text, [(span, label)])] == [(surface, qid)]
    got = found(lang, text, [(span, label)])
    assert any(s == surface and i == qid for s, _, i, _ in got), got
    assert all(s != span for s, *_ in got), got


@pytest.mark.parametrize(
    ("lang", "text", "span"),
    [
        ("de", "Den Haag ist Sitz des Gerichts.", "Den Haag"),  # sentence start: the gazetteer decides
        ("fr", "La Haye accueille la Cour.", "La Haye"),
        ("it", "L'Aia ospita la Corte.", "L'Aia"),
    ],
)
def test_article_kept_where_only_the_full_form_is_known(lang, text, span):
    assert settled(lang, text, [(span, "LOC")]) == [(span, "LOC", "Q36600")]
    assert (span, "LOC", "Q36600") in [g[:3] for g in found(lang, text, [(span, "LOC")])]


@pytest.fixture(scope="module")
def lancet_pipeline(tmp_path_factory):
    """A gazetteer of two entries: "The Lancet" known with its article, "Economist" without."""
    directory = tmp_path_factory.mktemp("gaz")
    entries = [
        {"id": None, "name": "The Lancet", "type": "ORG", "aliases": {"en": ["The Lancet"]}},
        {"id": None, "name": "Economist", "type": "ORG", "aliases": {"en": ["Economist"]}},
    ]
    (directory / "media.yaml").write_text(yaml.safe_dump({"entries": entries}), encoding="utf-8")
    return build_pipeline("en", load_gazetteer(["en"], directory, territories=False, compiled=False))


def test_the_gazetteer_decides_at_a_sentence_start(lancet_pipeline):
    text = "The Lancet published it. The Economist did not."
    got = settled("en", text, [("The Lancet", "ORG"), ("The Economist", "ORG")], lancet_pipeline)
    assert [(s, k) for s, _, k in got] == [("The Lancet", "name:The Lancet"), ("Economist", "name:Economist")]


def test_unknown_names_keep_a_capitalised_article_inside_a_sentence(lancet_pipeline):
    text = "It appeared in The Spectator. The Tablet agreed, as did the Guardian."
    ents = [("The Spectator", "ORG"), ("The Tablet", "ORG"), ("the Guardian", "ORG")]
    got = [s for s, *_ in settled("en", text, ents, lancet_pipeline)]
    assert got == ["The Spectator", "Tablet", "Guardian"]  # writer's capital / sentence start / lower case


# --- not names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "span", "label"),
    [
        ("fr", "Le Danois Jonas a perdu.", "Danois", "LOC"),
        ("fr", "Le Slovène a gagné.", "Slovène", "MISC"),
        ("fr", "Le film du Norvégien Joachim a gagné.", "Norvégien", "LOC"),
        ("en", "A Russian official said so.", "Russian", "MISC"),
        ("en", "Iranian officials said so.", "Iranian", "LOC"),
        ("nl", "De Russische troepen trekken zich terug.", "Russische", "MISC"),
        ("de", "Die Amerikaner zögern.", "Amerikaner", "MISC"),
        ("es", "Los Colombianos votan.", "Colombianos", "MISC"),
        ("it", "Gli Italiani votano.", "Italiani", "MISC"),
        ("en", "The Russian delegation left.", "Russian", "NORP"),  # NORP is dropped whatever the word
        ("en", "Many Muslims fasted.", "Muslims", "NORP"),
    ],
)
def test_nationality_words_are_dropped(lang, text, span, label):
    assert found(lang, text, [(span, label)]) == []


def test_nationality_rule_is_for_one_word_misc_and_loc_only():
    text = "Russian Railways and Jordan Henderson met French."
    got = found("en", text, [("Russian Railways", "ORG"), ("Jordan Henderson", "PERSON"), ("French", "PERSON")])
    assert [s for s, *_ in got] == ["Russian Railways", "Jordan Henderson", "French"]


def test_known_alias_that_looks_like_a_demonym_stays(tmp_path):
    entries = [{"id": None, "name": "Corse", "type": "LOC", "aliases": {"fr": ["Corse"]}}]
    (tmp_path / "places.yaml").write_text(yaml.safe_dump({"entries": entries}), encoding="utf-8")
    pipe = build_pipeline("fr", load_gazetteer(["fr"], tmp_path, territories=False, compiled=False))
    assert is_nationality_word("Corse", "fr")  # the Corsican language: also the island
    assert settled("fr", "De la Corse à Nice.", [("Corse", "LOC")], pipe) == [("Corse", "LOC", "name:Corse")]
    got = found("fr", "De la Corse à Nice.", [("Corse", "LOC")], pipe)
    assert got == [("Corse", "LOC", "name:Corse", "gazetteer")]


def test_weekdays_lower_case_and_empty_spans_are_dropped():
    text = "Vendredi, la posidonie et -- Frank Renout."
    got = found("fr", text, [("Vendredi", "LOC"), ("posidonie", "LOC"), ("--", "MISC"), ("Frank Renout", "PER")])
    assert [s for s, *_ in got] == ["Frank Renout"]


def test_a_weekday_inside_a_sentence_may_be_a_name():
    text = "Wrexham beat Wednesday. Wednesday was worse."
    got = settled("en", text, [("Wednesday", "ORG")])
    assert got == [("Wednesday", "ORG", None)]  # the first: inside the sentence
    second = text.index("Wednesday was")
    m = Mention(second, second + len("Wednesday"), "ORG", "model")
    assert pipeline("en").settle([m], [], text) == []


@pytest.mark.parametrize(
    ("lang", "text", "span", "label"),
    [
        ("fr", "Le ministère de la Santé a annoncé un plan.", "ministère de la Santé", "ORG"),
        ("fr", "Le ministre de l'Intérieur arrive.", "ministre de l'Intérieur", "ORG"),
        ("fr", "Une étudiante de l'université de Tours.", "université de Tours", "ORG"),
        ("fr", "Dans la cité de la Paternelle.", "cité de la Paternelle", "LOC"),
        ("nl", "Het ministerie van Defensie zwijgt.", "ministerie van Defensie", "ORG"),
        ("fr", "Le Premier ministre a vu la ville de Paris.", "la ville de Paris", "LOC"),  # "la" trimmed first
    ],
)
def test_a_lower_case_start_is_not_a_name(lang, text, span, label):
    assert settled(lang, text, [(span, label)]) == []


def test_a_lower_case_start_leaves_the_name_inside_to_the_gazetteer():
    text = "Une étudiante de l'université de Tours et la ville de Paris."
    got = found("fr", text, [("université de Tours", "ORG"), ("ville de Paris", "LOC")])
    assert ("Paris", "Q90", "gazetteer") in [(s, i, src) for s, _, i, src in got], got
    assert all(s not in ("université de Tours", "ville de Paris") for s, *_ in got), got


def test_a_person_may_start_with_a_particle():
    text = "Le général de Gaulle et Vincent van Gogh; puis van gogh."
    got = settled("fr", text, [("de Gaulle", "PER"), ("van Gogh", "PER"), ("van gogh", "PER")])
    assert [s for s, *_ in got] == ["de Gaulle", "van Gogh"]  # wholly lower case: not a name


def test_a_span_is_cut_at_a_line_break():
    text = "L'agence de notation Moody's.\n\nDans l'hémicycle, rien."
    assert settled("fr", text, [("Moody's.\n\nDans l'hémicycle", "ORG")]) == [("Moody's", "ORG", None)]
    # across the title/body break: the title's part stays
    text = "Lactalis rachète\n\nFromagerie Bréhault"
    assert settled("fr", text, [("Lactalis rachète\n\nFromagerie", "ORG")]) == [("Lactalis rachète", "ORG", None)]


def test_scripts_without_case_are_not_judged_by_case():
    pipe = build_pipeline("xx", gazetteer())
    text = "Москва и 北京 встретились."
    got = found("xx", text, [("Москва", "LOC"), ("北京", "LOC")], pipe)
    assert [s for s, *_ in got] == ["Москва", "北京"]


def test_nationality_words_come_from_cldr():
    assert {"russian", "danois", "slovene", "norvegien", "russische", "amerikaanse"} <= (
        nationality_words("en") | nationality_words("fr") | nationality_words("nl")
    )
    assert not is_nationality_word("Russia", "en") and not is_nationality_word("Espagne", "fr")  # places
    assert not is_nationality_word("Paris", "fr") and not is_nationality_word("Macron", "en")
    assert is_weekday("VENDREDI", "fr") and is_weekday("Mittwoch", "de") and not is_weekday("Mars", "fr")
    assert nationality_words("zz") == frozenset()  # a language CLDR lacks: no words, no error


# --- a longer span and a linked match inside it ---------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "span", "label", "surface", "qid"),
    [
        # a person known by two words: any words in front are a title
        (
            "en",
            "Russian President Vladimir Putin spoke.",
            "President Vladimir Putin",
            "PERSON",
            "Vladimir Putin",
            "Q7747",
        ),
        (
            "fr",
            "Le Premier ministre Vladimir Poutine parle.",
            "Premier ministre Vladimir Poutine",
            "PER",
            "Vladimir Poutine",
            "Q7747",
        ),
        # lower-case words in front: a title or function
        ("fr", "Selon le président Poutine, non.", "président Poutine", "PER", "Poutine", "Q7747"),
    ],
)
def test_a_title_in_front_gives_way_to_the_linked_match(lang, text, span, label, surface, qid):
    got = found(lang, text, [(span, label)])
    assert (surface, qid, "gazetteer") in [(s, i, src) for s, _, i, src in got], got


@pytest.mark.parametrize(
    ("lang", "text", "span", "label"),
    [
        ("fr", "Le gouverneur de la Banque de Bretagne parle.", "Banque de Bretagne", "ORG"),  # a place: another label
        ("fr", "Ils étudient au Lycée Emmanuel Macron.", "Lycée Emmanuel Macron", "ORG"),  # named after a person
        ("en", "Agnès Macron visited.", "Agnès Macron", "PERSON"),  # may be a first name: not Emmanuel
        ("en", "New Mexico voted.", "New Mexico", "GPE"),  # a capitalised word in front of a place
        ("fr", "Le Paris Université Club gagne.", "Paris Université Club", "ORG"),  # longer on the right
    ],
)
def test_a_name_around_a_linked_match_stays_unlinked(lang, text, span, label):
    got = found(lang, text, [(span, label)])
    assert [(s, i) for s, _, i, _ in got] == [(span, None)], got


@pytest.mark.parametrize(
    ("lang", "text", "span", "surface"),
    [
        ("fr", "Le général de Montclair parle.", "général de Montclair", "de Montclair"),
        ("fr", "Selon la juge d'instruction Claire Roux, non.", "juge d'instruction Claire Roux", "Claire Roux"),
        ("nl", "Volgens minister-president van der Laan niet.", "minister-president van der Laan", "van der Laan"),
        ("de", "Laut Anwalt von Weizsäcker nicht.", "Anwalt von Weizsäcker", "Anwalt von Weizsäcker"),  # capital
    ],
)
def test_a_persons_title_in_lower_case_is_trimmed(lang, text, span, surface):
    assert settled(lang, text, [(span, "PER")]) == [(surface, "PER", None)]


def test_a_model_person_on_a_known_place_stays_a_person():
    text = "Le président Washington traversa le Delaware, puis Washington protesta."
    got = found("fr", text, [("président Washington", "PER")])
    washington = [m for m in got if m[0] == "Washington"]
    assert washington[0] == ("Washington", "PER", None, "model")  # not the city
    assert washington[1] == ("Washington", "LOC", "Q61", "gazetteer")  # the second: no model span, the city
    # a known person the model calls a place stays the person
    got = found("fr", "Macron a parlé.", [("Macron", "LOC")])
    assert got == [("Macron", "PER", "Q3052772", "gazetteer")]


def test_rule_spans_are_settled_like_model_spans():
    pipe = pipeline("fr")
    text = "Selon le président Poutine et l'Espagne, non. Le Danois a gagné."
    doc = pipe.nlp(text)
    gaz = doc.user_data[("newsstreams", "gazetteer")]

    def rule(surface, label):
        start = text.index(surface)
        return Mention(start, start + len(surface), label, "rule")

    proposed = [rule("président Poutine", "PER"), rule("l'Espagne", "LOC"), rule("Danois", "LOC")]
    settled = pipe.settle(proposed, gaz, text)
    assert [(text[m.start : m.end], m.key, m.source) for m in settled] == [
        ("Poutine", "Q7747", "rule"),  # the title trimmed, then linked
        ("Espagne", "Q29", "rule"),
    ]


# --- rule 7: the rules correct a trained model's unlinked mentions ---------------------------------


def test_a_rule_mention_at_the_same_start_gives_its_label_and_longer_end():
    model = [
        Mention(0, 12, "LOC", "model"),  # "Météo-France" typed as a place
        Mention(20, 26, "PER", "model"),  # "Claire" of "Claire de Saint-Aubin"
        Mention(30, 41, "LOC", "model"),  # "Saint-Aubin": inside the person the rule found
        Mention(50, 56, "LOC", "model", "Q90"),  # linked: never touched
        Mention(60, 65, "MISC", "model"),  # no rule there
    ]
    ruled = [
        Mention(0, 12, "ORG", "rule"),
        Mention(20, 41, "PER", "rule"),
        Mention(50, 56, "ORG", "rule"),
        Mention(70, 75, "ORG", "rule"),  # the model has nothing there: not added
    ]
    assert corrected_by_rules(model, ruled) == [
        Mention(0, 12, "ORG", "model"),
        Mention(20, 41, "PER", "model"),
        Mention(50, 56, "LOC", "model", "Q90"),
        Mention(60, 65, "MISC", "model"),
    ]


def test_a_model_span_ends_at_a_headline_colon():
    text = "Tour de France : Pogačar gagne"
    pipe = pipeline("fr")
    settled = pipe.settle([Mention(0, 24, "MISC", "model")], [], text)
    assert [text[m.start : m.end] for m in settled] == ["Tour de France"]
