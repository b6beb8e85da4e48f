"""A real trained model in the unit tests: fr_core_news_sm 3.8.0 (official release, pinned by hash in the
``test`` extras of pyproject.toml; ``make test`` installs it).

- the French pipeline loads it, runs only what NER needs, and its output follows the merge rules;
- a quality floor on the French articles of the evaluation set (whatever French articles it holds);
- no link lost by adding the model: every gold QID that blank+gazetteer links right in an article is
  linked right with the model too, and no link is wrong.
"""

from __future__ import annotations

from functools import cache

import pytest
import spacy

from streams.enrich import Enricher
from streams.enrich.entities import _load_base
from streams.enrich.evaluate import evaluate, load_cases, norm_text
from streams.enrich.pipeline import compose_text
from streams.settings import PROJECT_DIR, EnrichSettings

MODEL = "fr_core_news_sm"
EVAL_DIR = PROJECT_DIR / "tests" / "data" / "eval"
# The goal. Measured on the 12 French articles of the set: P .850 / R .859 / F1 .854 (model
# mentions corrected by the people/organisation rules); the offline configuration reaches .785 there.
F1_FLOOR = 0.85


@pytest.fixture(scope="module", autouse=True)
def installed():
    if not spacy.util.is_package(MODEL):
        pytest.fail(f"{MODEL} is not installed: pip install -e '.[test]' (make install does)", pytrace=False)


@cache
def enricher(model: str) -> Enricher:
    return Enricher(EnrichSettings(models={"fr": model}, fallback_model=""))


@cache
def french_cases():
    cases = [case for case in load_cases(EVAL_DIR) if case.language == "fr"]
    assert cases, f"no French article in {EVAL_DIR}"
    return cases


@cache
def enriched(model: str):
    return [enricher(model).enrich(dict(case.article)) for case in french_cases()]


ARTICLE = {
    "id": "fr-model-1",
    "title": "Canicule : la Banque centrale européenne s'inquiète pour les récoltes",
    "body": (
        "La Banque centrale européenne a publié mardi à Francfort une étude sur la chaleur en Italie. "
        "Selon l'économiste Hélène Marchand, de l'université de Bordeaux, les récoltes de l'Espagne ont "
        "baissé de 20 %. Le Danois Mads Pedersen, qui vit à Gérone, raconte que les entraînements "
        "commencent à cinq heures. Lundi, le président Emmanuel Macron a reçu à l'Élysée le Premier "
        "ministre espagnol Pedro Sánchez."
    ),
}


def test_the_french_pipeline_is_the_trained_model_and_runs_only_ner():
    pipe = enricher(MODEL).pipeline("fr")
    assert pipe.ner_model == f"{MODEL}+gazetteer"
    assert pipe.nlp.pipe_names == ["gazetteer", "ner"]
    # The shared tok2vec feeds only the morphologizer and the parser, which are not loaded.
    assert pipe.nlp.disabled == ["tok2vec"]


def test_entities_and_links_of_a_french_article():
    pipe = enricher(MODEL).pipeline("fr")
    text, _ = compose_text(ARTICLE["title"], ARTICLE["body"])
    raw = {(e.text, e.label_) for e in pipe.nlp(text).ents}
    # What the model itself proposes, and the rules below correct:
    assert {("l'Espagne", "LOC"), ("Danois", "LOC"), ("Lundi", "PER")} <= raw, raw

    doc = enricher(MODEL).enrich(dict(ARTICLE))
    assert doc["pipeline"]["ner_model"] == f"{MODEL}+gazetteer"
    got = {(e["text"], e["label"], e["id"]) for e in doc["entities"]}
    linked = {
        ("Banque centrale européenne", "ORG", "Q8901"),  # "La" trimmed at the body's start
        ("Espagne", "LOC", "Q29"),  # "l'" trimmed, then linked
        ("Francfort", "LOC", "Q1794"),
        ("Emmanuel Macron", "PER", "Q3052772"),
        ("Pedro Sánchez", "PER", "Q6070218"),
    }
    assert linked <= got, got
    by_model = {("Hélène Marchand", "PER"), ("Mads Pedersen", "PER")}  # people no gazetteer knows
    assert by_model <= {(t, label) for t, label, _ in got}, got
    texts = {t for t, _, _ in got}
    assert not texts & {"Danois", "Lundi", "l'Espagne", "La Banque centrale européenne"}, texts
    for e in doc["entities"]:
        assert ARTICLE[e["field"]][e["start"] : e["end"]] == e["text"]


def test_disabling_the_unheard_tok2vec_changes_no_entity():
    nlp, _ = _load_base("fr", [MODEL])  # parser, morphologizer, ... not loaded; tok2vec disabled
    assert nlp.disabled == ["tok2vec"]
    texts = [compose_text(c.article["title"], c.article["body"])[0] for c in french_cases()]

    def ents():
        return [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]

    lean = ents()
    nlp.enable_pipe("tok2vec")  # the model as loaded, embedding for no one
    try:
        assert sum(map(len, lean)) > 20, "the model found almost nothing: nothing is compared"
        assert ents() == lean
    finally:
        nlp.disable_pipe("tok2vec")


def test_french_quality_floor():
    report = evaluate(french_cases(), enriched(MODEL))
    fr = report.by_language["fr"]
    assert report.models == {"fr": [f"{MODEL}+gazetteer"]}
    assert fr.entities.f1 >= F1_FLOOR, fr.entities.to_dict()
    assert fr.linking.wrong == 0, [c.wrong_links for c in report.cases if c.wrong_links]


def _right_links(case, doc) -> set[tuple[str, str]]:
    ids = {}
    for e in doc["entities"]:
        ids.setdefault(norm_text(e["text"]), set()).add(e.get("id"))
    return {(g.text, g.id) for g in case.entities if g.id and g.id in ids.get(g.text, ())}


def test_no_link_is_lost_by_adding_the_model():
    blank, model = enriched(""), enriched(MODEL)
    assert {d["pipeline"]["ner_model"] for d in blank} == {"blank+gazetteer"}
    lost = {}
    for case, without, with_model in zip(french_cases(), blank, model, strict=True):
        missing = _right_links(case, without) - _right_links(case, with_model)
        if missing:
            lost[case.name] = sorted(missing)
    assert not lost, lost
    assert sum(len(_right_links(c, d)) for c, d in zip(french_cases(), blank, strict=True)) > 10  # premise
