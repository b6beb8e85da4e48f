"""Entity pipelines: gazetteer matching and linking, tokenizer quirks, labels, span merging."""

from functools import cache

import pytest
import spacy
from spacy.tokens import Span

from streams.enrich.entities import (
    SPANS_KEY,
    Mention,
    build_pipeline,
    merge_mentions,
    normalise_label,
)
from streams.enrich.gazetteer import load_gazetteer
from streams.settings import config_dir

LANGS = ["nl", "en", "de", "fr", "es", "it"]


@cache
def gazetteer():
    return load_gazetteer(LANGS, config_dir() / "gazetteer")


@cache
def pipeline(lang):
    return build_pipeline(lang, gazetteer())


def entities(lang, text):
    pipe = pipeline(lang)
    doc = pipe.nlp(text)
    out = []
    for m in pipe.mentions(doc):
        entry = gazetteer().get(m.key) if m.key else None
        out.append((text[m.start : m.end], m.label, entry.id if entry else None, m.source))
    return out


@pytest.mark.parametrize(
    ("lang", "text", "surface"),
    [
        ("nl", "De Russische president Poetin sprak gisteren met Macron.", "Poetin"),
        ("nl", "Volgens Wladimir Poetin is er geen dreiging.", "Wladimir Poetin"),
        ("en", "Russian President Vladimir Putin met Macron on Monday.", "Vladimir Putin"),
        ("en", "Putin's spokesman declined to comment.", "Putin"),
        ("de", "Wladimir Putin empfing den französischen Präsidenten.", "Wladimir Putin"),
        ("de", "Putins Sprecher äußerte sich nicht.", "Putins"),
        ("fr", "Le président Poutine a reçu Emmanuel Macron au Kremlin.", "Poutine"),
        ("fr", "Vladimir Poutine a parlé pendant six heures.", "Vladimir Poutine"),
    ],
)
def test_putin_linked_in_every_language(lang, text, surface):
    found = entities(lang, text)
    assert (surface, "PER", "Q7747", "gazetteer") in found


@pytest.mark.parametrize(
    ("lang", "text", "surface"),
    [
        ("nl", "Oekraïne wil lid worden van de NAVO.", "NAVO"),
        ("nl", "Het land mag nooit NAVO-lid worden.", "NAVO"),
        ("nl", "De Nato vergadert morgen.", "Nato"),
        ("fr", "L'OTAN renforce sa présence à l'est.", "OTAN"),
        ("de", "Die NATO-Staaten beraten in Brüssel.", "NATO"),
        ("de", "Die Nato warnt Russland.", "Nato"),
        ("en", "NATO allies met in Brussels.", "NATO"),
    ],
)
def test_nato_linked(lang, text, surface):
    assert (surface, "ORG", "Q7184", "gazetteer") in entities(lang, text)


def test_vs_at_sentence_end_is_matched_in_dutch():
    text = "Rusland wil garanties van de VS. Daarna volgt overleg."
    found = entities("nl", text)
    assert ("VS", "LOC", "Q30", "gazetteer") in found
    # the entity is exactly "VS", not "VS."
    start = text.index("VS.")
    assert any(m.start == start and m.end == start + 2 for m in _mentions("nl", text))


def test_lowercase_vs_is_not_the_united_states():
    for lang, text in [
        ("nl", "Ajax vs PSV eindigde in een gelijkspel."),
        ("en", "It was rock vs paper, and us against them."),
    ]:
        assert all(e[2] != "Q30" for e in entities(lang, text)), text


def test_versus_abbreviation_untouched():
    doc = pipeline("nl").nlp("Het was Ajax vs. PSV.")
    assert "vs." in [t.text for t in doc]


def test_demonyms_are_not_entities():
    found = entities("nl", "De Russische troepen en de Franse president.")
    assert found == []


def _mentions(lang, text):
    pipe = pipeline(lang)
    return pipe.mentions(pipe.nlp(text))


# --- labels ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("PERSON", "PER"),
        ("PER", "PER"),
        ("GPE", "LOC"),
        ("LOC", "LOC"),
        ("FAC", "LOC"),
        ("ORG", "ORG"),
        ("NORP", None),  # nationalities and groups: not annotated (EVALUATION.md)
        ("EVENT", "MISC"),
        ("PRODUCT", "MISC"),
        ("WORK_OF_ART", "MISC"),
        ("LAW", "MISC"),
        ("LANGUAGE", "MISC"),
        ("MISC", "MISC"),
        ("DATE", None),
        ("TIME", None),
        ("CARDINAL", None),
        ("ORDINAL", None),
        ("MONEY", None),
        ("PERCENT", None),
        ("QUANTITY", None),
        ("persName", "PER"),
        ("SOMETHING_NEW", "MISC"),
    ],
)
def test_label_normalisation(label, expected):
    assert normalise_label(label) == expected


# --- merging -----------------------------------------------------------------------------------


def test_longer_span_wins():
    model = Mention(0, 15, "PER", "model")  # "Wladimir Poetin"
    gaz = Mention(9, 15, "PER", "gazetteer", "Q7747")  # "Poetin"
    assert merge_mentions([gaz, model]) == [model]


def test_gazetteer_wins_ties():
    model = Mention(4, 11, "LOC", "model")
    gaz = Mention(4, 11, "ORG", "gazetteer", "name:Kremlin")
    assert merge_mentions([model, gaz]) == [gaz]


def test_partial_overlap_keeps_the_longer_and_order_is_textual():
    a = Mention(0, 6, "PER", "gazetteer", "k1")
    b = Mention(4, 20, "ORG", "model")
    c = Mention(25, 30, "LOC", "model")
    assert merge_mentions([c, a, b]) == [b, c]


def test_merge_of_nothing():
    assert merge_mentions([]) == []


def _doc_with_model_ents(lang, text, ents):
    """A doc as a trained model would leave it: ``ents`` = [(surface, label)], no ruler spans."""
    nlp = pipeline(lang).nlp
    doc = nlp.make_doc(text)
    spans = []
    for surface, label in ents:
        start = text.index(surface)
        spans.append(doc.char_span(start, start + len(surface), label=label))
    doc.ents = spans
    return doc


def test_model_mention_that_is_a_known_alias_gets_linked():
    doc = _doc_with_model_ents(
        "nl", "Gisteren sprak Poetin met Frank Renout.", [("Poetin", "PERSON"), ("Frank Renout", "PERSON")]
    )
    found = {doc.text[m.start : m.end]: m for m in pipeline("nl").mentions(doc)}
    assert found["Poetin"].key == "Q7747" and found["Poetin"].source == "model"
    assert found["Frank Renout"].key is None and found["Frank Renout"].label == "PER"


def test_model_link_needs_a_compatible_type():
    # George Washington is a person, not the city.
    doc = _doc_with_model_ents("en", "Washington crossed the Delaware.", [("Washington", "PERSON")])
    (m,) = pipeline("en").mentions(doc)
    assert (m.label, m.key) == ("PER", None)


def test_model_and_gazetteer_merged_in_a_real_pipeline():
    """A trained-like pipeline: a rule-based "ner" stands in for the model."""
    nlp = pipeline("nl").nlp
    text = "De Russische president Poetin en Frank Renout spraken van 10 tot 20 februari in het Kremlin."
    doc = nlp(text)
    extra = [
        ("Russische", "NORP"),
        ("Poetin", "PERSON"),
        ("Frank Renout", "PERSON"),
        ("10 tot 20 februari", "DATE"),
        ("het Kremlin", "FAC"),
    ]
    spans = []
    for surface, label in extra:
        start = text.index(surface)
        spans.append(doc.char_span(start, start + len(surface), label=label))
    doc.ents = spans
    assert SPANS_KEY in doc.spans and len(doc.spans[SPANS_KEY]) >= 2
    got = [(text[m.start : m.end], m.label, m.key, m.source) for m in pipeline("nl").mentions(doc)]
    assert got == [
        ("Poetin", "PER", "Q7747", "gazetteer"),  # tie: the gazetteer's link wins
        ("Frank Renout", "PER", None, "model"),
        ("Kremlin", "LOC", "name:Kremlin", "gazetteer"),  # "het" trimmed: a tie the gazetteer wins
    ]  # the DATE is dropped, and so is the NORP "Russische" (a demonym)


def test_gazetteer_spans_carry_keys():
    doc = pipeline("nl").nlp("Scholz reisde naar Washington.")
    spans = doc.spans[SPANS_KEY]
    assert all(isinstance(s, Span) and s.id_ for s in spans)
    assert {s.id_ for s in spans} == {"Q61053", "Q61"}


def test_blank_pipeline_records_its_model():
    assert pipeline("nl").ner_model == "blank+gazetteer"


def test_trained_pipeline_from_a_path(tmp_path):
    base = spacy.blank("nl")
    ruler = base.add_pipe("entity_ruler", name="ner")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Frank Renout"}])
    base.meta["name"] = "fake_ner"
    base.to_disk(tmp_path / "fake")
    pipe = build_pipeline("nl", gazetteer(), model=str(tmp_path / "fake"))
    assert pipe.ner_model == "nl_fake_ner+gazetteer"
    assert pipe.nlp.pipe_names[0] == "gazetteer"
    doc = pipe.nlp("Poetin sprak met Frank Renout.")
    got = {doc.text[m.start : m.end]: (m.source, m.key) for m in pipe.mentions(doc)}
    assert got == {"Poetin": ("gazetteer", "Q7747"), "Frank Renout": ("model", None)}
