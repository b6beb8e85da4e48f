"""Trained pipelines loaded without waste: components NER does not need are not loaded, and a shared
embedding component (tok2vec) that no enabled component listens to is disabled; entities unchanged.

Two tiny pipelines are trained here, shaped like the official models:

- "own": a shared ``tok2vec`` that only a tagger listens to, and an NER with its own embedding (as in
  fr/en/nl ``*_core_*_sm/md``): the tagger is not loaded, the shared ``tok2vec`` is disabled;
- "shared": the NER listens to the shared ``tok2vec`` too: it must stay enabled.
"""

from __future__ import annotations

import random

import pytest
import spacy
from spacy.training import Example
from spacy.util import minibatch

from streams.enrich.entities import _load_base, build_pipeline, unheard_embedders
from streams.enrich.gazetteer import load_gazetteer
from streams.settings import config_dir

LISTENER = {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}
SENTENCES = [
    ("Correspondent Frank Renout reported from the capital on Tuesday.", "Frank Renout"),
    ("According to Anna de Wit, the talks lasted six hours.", "Anna de Wit"),
    ("Pieter Bakker said the meeting was tense.", "Pieter Bakker"),
    ("The spokesman later spoke to Lotte Visser about the visit.", "Lotte Visser"),
    ("In an interview, Karim Haddad described the mood as calm.", "Karim Haddad"),
    ("Reporter Sara Jansen asked the minister about the border.", "Sara Jansen"),
    ("The minister said the border would stay closed.", None),
    ("Gas prices rose sharply after the announcement.", None),
]
TEXTS = [s for s, _ in SENTENCES] + [
    "Frank Renout and Anna de Wit met Pieter Bakker in the capital.",
    "Nobody said anything about the border on Monday.",
    "Tom Hendriks reported that Eva Smit had left.",
]


def _train(path, ner_listens: bool, seed: int = 0):
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": LISTENER}})
    ner_model = {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": 32,
        "maxout_pieces": 2,
        "use_upper": True,
        "tok2vec": LISTENER,
    }
    nlp.add_pipe("ner", config={"model": ner_model} if ner_listens else {})
    examples = []
    for text, name in SENTENCES:
        doc = nlp.make_doc(text)
        tags = ["NAME" if name and t.text in name.split() else "W" for t in doc]
        ents = [(text.index(name), text.index(name) + len(name), "PERSON")] if name else []
        examples.append(Example.from_dict(doc, {"tags": tags, "entities": ents}))
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(12):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=4):
            nlp.update(batch, sgd=optimizer, drop=0.1)
    nlp.meta["name"] = "tiny_embedders"
    nlp.to_disk(path)
    return path


@pytest.fixture(scope="module", params=["own", "shared"])
def model(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / request.param
    return request.param, _train(path, ner_listens=request.param == "shared")


def ents(nlp, texts):
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]


def test_only_what_ner_needs_is_loaded_and_run(model):
    kind, path = model
    full = spacy.load(path)
    assert full.get_pipe("tok2vec").listening_components == (["tagger"] if kind == "own" else ["tagger", "ner"])
    nlp, label = _load_base("en", [str(path)])
    assert label == "en_tiny_embedders"
    assert "tagger" not in nlp.component_names  # not loaded at all
    if kind == "own":
        assert nlp.pipe_names == ["ner"] and nlp.disabled == ["tok2vec"]
    else:
        assert nlp.pipe_names == ["tok2vec", "ner"]  # the NER listens: the shared tok2vec runs
    assert unheard_embedders(nlp) == []


def test_entities_are_those_of_the_whole_pipeline(model):
    _, path = model
    full = spacy.load(path)
    nlp, _ = _load_base("en", [str(path)])
    want = ents(full, TEXTS)
    assert any(want), "the tiny model found no entity at all: nothing is compared"
    assert ents(nlp, TEXTS) == want


def test_the_enricher_pipeline_keeps_model_and_gazetteer(model):
    kind, path = model
    gaz = load_gazetteer(["en"], config_dir() / "gazetteer")
    pipe = build_pipeline("en", gaz, model=str(path), spans=False)
    assert pipe.ner_model == "en_tiny_embedders+gazetteer"
    assert pipe.nlp.pipe_names == (["gazetteer", "ner"] if kind == "own" else ["gazetteer", "tok2vec", "ner"])
    text = "Frank Renout met Putin in Moscow."
    got = {text[m.start : m.end]: m.source for m in pipe.mentions(pipe.nlp(text), text)}
    assert got.get("Putin") == "gazetteer" and got.get("Moscow") == "gazetteer"


def test_unheard_embedders_reads_the_listeners():
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    nlp.add_pipe("tagger", config={"model": {"@architectures": "spacy.Tagger.v2", "tok2vec": LISTENER}})
    nlp.get_pipe("tagger").add_label("W")
    nlp.add_pipe("ner")
    nlp.initialize()
    assert unheard_embedders(nlp) == []  # the tagger listens and is enabled
    nlp.disable_pipe("tagger")
    assert unheard_embedders(nlp) == ["tok2vec"]
    renamed = spacy.blank("en")  # names are not what counts
    renamed.add_pipe("tok2vec", name="embed")
    renamed.add_pipe("ner", name="entities")
    renamed.initialize()
    assert unheard_embedders(renamed) == ["embed"]
