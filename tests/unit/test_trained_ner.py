"""The model path exercised for real: a tiny spaCy NER pipeline, trained here, loaded like an
official model (``EnrichSettings.models[lang]`` = a path, exactly where "en_core_web_md" would go),
and its entities merged with the gazetteer's in the Enricher's output."""

from __future__ import annotations

import random
import time

import pytest
import spacy
from spacy.training import Example
from spacy.util import minibatch

from streams.enrich import Enricher
from streams.settings import EnrichSettings

NAME = "Frank Renout"  # a correspondent: not general knowledge, so not in the gazetteer

# Templates in which persons appear; the test name fills many of them, other (made-up) names the
# rest, so the model learns the name itself and also that capitalised pairs in these slots are people.
TEMPLATES = [
    "Correspondent {} reported from the capital on Tuesday.",
    "According to {}, the talks lasted six hours.",
    "{} said the meeting was tense but constructive.",
    "Sources close to the president told {} that no deal was reached.",
    "The spokesman later spoke to {} about the visit.",
    "In an interview, {} described the mood in the city as calm.",
    "{} has covered the region for more than ten years.",
    "Reporter {} asked the minister about the border.",
    "On Monday {} travelled to the border with a film crew.",
    "The newspaper quoted {} as saying that troops were leaving.",
]
OTHER_NAMES = [
    "Anna de Wit",
    "Pieter Bakker",
    "Lotte Visser",
    "Karim Haddad",
    "Sara Jansen",
    "Tom Hendriks",
    "Eva Smit",
    "Joost Mulder",
]
# Well-known people next to titles and places, so that the model learns where a person's span ends
# ("President Putin" is not a name; "Moscow as" is not one either): the gazetteer must keep those.
KNOWN = [
    ("President Putin spoke to {} in the Kremlin.", ["Putin"]),
    ("Russian President Putin met {} in Moscow on Monday.", ["Putin"]),
    ("Macron met {} in Paris on Friday.", ["Macron"]),
    ("Putin and Macron met in Moscow as the talks began.", ["Putin", "Macron"]),
    ("French President Macron told {} that NATO stays united.", ["Macron"]),
]
NEGATIVES = [
    "NATO and Moscow traded accusations on Monday.",
    "Leaders meet in Moscow as NATO watches the border.",
    "The talks in the capital lasted six hours on Tuesday.",
    "Troops will leave the region when the exercise is over.",
    "The minister said the border would stay closed.",
    "Gas prices rose sharply after the announcement.",
    "The meeting ended without a joint statement.",
    "A spokesman for the government declined to comment.",
]


def _example(nlp, text, names):
    spans = [(text.index(n), text.index(n) + len(n), "PERSON") for n in names]
    return Example.from_dict(nlp.make_doc(text), {"entities": spans})


def _training_data(nlp):
    rng = random.Random(0)
    examples = []
    for template in TEMPLATES:
        for name in (NAME, rng.choice(OTHER_NAMES)):
            examples.append(_example(nlp, template.format(name), [name]))
    for template, known in KNOWN:
        name = rng.choice(OTHER_NAMES) if "{}" in template else None
        text = template.format(name) if name else template
        examples.append(_example(nlp, text, known + ([name] if name else [])))
    examples += [_example(nlp, text, []) for text in NEGATIVES]
    return examples


def train(path, seed=0, epochs=15):
    """A blank English pipeline with a freshly trained NER, saved at ``path``."""
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("ner").add_label("PERSON")
    examples = _training_data(nlp)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=8):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    nlp.meta["name"] = "tiny_ner"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """Train a blank English NER on ~33 sentences (seeded), save it like a packaged pipeline."""
    started = time.perf_counter()
    path = train(tmp_path_factory.mktemp("models") / "tiny_model")
    took = time.perf_counter() - started
    assert took < 30, f"training took {took:.1f}s"
    return path


ARTICLE = {
    "id": "tiny-1",
    "title": "Putin and Macron meet in Moscow as NATO watches",
    "body": (
        "Russian President Putin met Macron in Moscow on Monday. Correspondent Frank Renout "
        "reported from the capital on Tuesday. According to Frank Renout, the talks lasted six "
        "hours. NATO said it would keep its troops in the region."
    ),
}


@pytest.fixture(scope="module")
def enriched(tiny_model):
    # The same configuration path as an official model: models[lang] is a name spaCy can load.
    enricher = Enricher(EnrichSettings(models={"en": str(tiny_model)}, fallback_model=""))
    assert enricher.gazetteer.lookup(NAME, "en") is None  # the premise: only a model can find it
    assert enricher.gazetteer.lookup("Renout", "en") is None
    return enricher.enrich(dict(ARTICLE))


def test_trained_model_is_recorded(enriched):
    assert enriched["language"] == "en"
    assert enriched["pipeline"]["ner_model"] == "en_tiny_ner+gazetteer"


def test_model_entity_in_output(enriched):
    found = [e for e in enriched["entities"] if e["text"] == NAME]
    assert found, enriched["entities"]
    for e in found:
        assert (e["label"], e["source"], e["id"], e["name"]) == ("PER", "model", None, NAME)
        assert ARTICLE[e["field"]][e["start"] : e["end"]] == NAME
    assert NAME in enriched["entity_names"]


def test_gazetteer_links_survive_the_merge(enriched):
    linked = {(e["text"], e["id"]) for e in enriched["entities"] if e["source"] == "gazetteer"}
    assert {("Putin", "Q7747"), ("Moscow", "Q649"), ("NATO", "Q7184")} <= linked, linked
    assert {"Q7747", "Q649", "Q7184"} <= set(enriched["entity_ids"])


def test_no_overlapping_spans(enriched):
    for field in ("title", "body"):
        spans = sorted((e["start"], e["end"]) for e in enriched["entities"] if e["field"] == field)
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert end <= start, spans
        for e in enriched["entities"]:
            assert ARTICLE[e["field"]][e["start"] : e["end"]] == e["text"]
