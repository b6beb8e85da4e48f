"""Evaluation metrics on tiny hand-computed cases, the annotation loader, the shipped set, the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.contracts.inputs import read_inputs
from streams.enrich.evaluate import (
    PRF,
    Case,
    GoldEntity,
    InvalidCase,
    evaluate,
    link_case,
    load_cases,
    parse_case,
)
from streams.settings import PROJECT_DIR, LimitSettings

EVAL_DIR = PROJECT_DIR / "tests" / "data" / "eval"
SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"

POL, WAR, SPORT = "medtop:11000000", "medtop:16000000", "medtop:15000000"


def ent(text, label, id=None, source="gazetteer"):
    return {
        "text": text,
        "label": label,
        "id": id,
        "name": text,
        "source": source,
        "field": "body",
        "start": 0,
        "end": len(text),
    }


def case(name, lang, entities, topics, title="t", body="b"):
    return Case(
        name, {"id": name, "title": title, "body": body}, lang, tuple(GoldEntity(*e) for e in entities), tuple(topics)
    )


# Two articles, every figure below computed by hand.
CASES = [
    case(
        "a",
        "nl",
        [
            ("Poetin", "PER", "Q7747"),
            ("Macron", "PER", "Q3052772"),
            ("Moskou", "LOC", "Q649"),
            ("Frank Renout", "PER", None),
        ],
        [POL],
    ),
    case("b", "en", [("Putin", "PER", "Q7747"), ("NATO", "ORG", "Q7184"), ("Washington", "LOC", None)], [SPORT]),
]
DOCS = [
    {
        "language": "nl",
        "pipeline": {"ner_model": "blank+gazetteer"},
        "topics": [{"code": WAR, "score": 0.9}, {"code": POL, "score": 0.5}],
        "entities": [
            ent("Poetin", "PER", "Q7747"),
            ent("Poetin", "PER", "Q7747"),  # twice: once
            ent("Macron", "PER", "Q999"),  # right type, wrong link
            ent("Moskou", "ORG", "Q649"),  # wrong type (fp + fn), right link
            ent("Kremlin", "LOC", None, "model"),
        ],
    },  # not in the gold: fp
    {
        "language": "nl",
        "pipeline": {"ner_model": "nl_tiny+gazetteer"},  # language wrong
        "topics": [],
        "entities": [
            ent("NATO", "ORG", None, "model"),  # found, unlinked
            ent("Acme", "ORG", "Q1", "model"),  # fp; not a gold entity: no linking effect
            ent("Washington", "LOC", "Q61"),
        ],
    },  # tp; a link the gold does not give
]


@pytest.fixture(scope="module")
def report():
    return evaluate(CASES, DOCS)


def test_prf_arithmetic():
    p = PRF(tp=2, fp=1, fn=3)
    assert p.precision == pytest.approx(2 / 3)
    assert p.recall == pytest.approx(2 / 5)
    assert p.f1 == pytest.approx(0.5)  # 2PR/(P+R) = (8/15)/(16/15)
    assert (PRF().precision, PRF().recall, PRF().f1) == (None, None, None)
    nothing_found = PRF(fn=3)
    assert (nothing_found.precision, nothing_found.recall, nothing_found.f1) == (None, 0.0, 0.0)


def test_entities_micro(report):
    e = report.total.entities
    assert (e.tp, e.fp, e.fn) == (4, 3, 3)
    assert e.precision == pytest.approx(4 / 7) and e.recall == pytest.approx(4 / 7)
    assert e.f1 == pytest.approx(4 / 7)


def test_entities_per_language(report):
    nl, en = report.by_language["nl"].entities, report.by_language["en"].entities
    assert (nl.tp, nl.fp, nl.fn) == (2, 2, 2)  # Poetin, Macron | Moskou/ORG, Kremlin | Moskou/LOC, Renout
    assert (en.tp, en.fp, en.fn) == (2, 1, 1)  # NATO, Washington | Acme | Putin
    assert en.precision == pytest.approx(2 / 3)


def test_entities_per_type(report):
    t = report.by_type
    assert (t["PER"].tp, t["PER"].fp, t["PER"].fn) == (2, 0, 2)
    assert (t["LOC"].tp, t["LOC"].fp, t["LOC"].fn) == (1, 1, 1)
    assert (t["ORG"].tp, t["ORG"].fp, t["ORG"].fn) == (1, 2, 0)
    assert t["ORG"].precision == pytest.approx(1 / 3) and t["ORG"].recall == 1.0
    assert t["MISC"].f1 is None


def test_linking(report):
    lk = report.total.linking
    assert (lk.gold_with_qid, lk.found, lk.correct, lk.wrong, lk.unlinked) == (5, 4, 2, 1, 1)
    assert lk.accuracy == pytest.approx(0.5) and lk.recall == pytest.approx(0.4)
    assert lk.linked_without_gold_qid == 1  # Washington
    assert report.cases[0].wrong_links == [{"text": "Macron", "gold": "Q3052772", "predicted": ["Q999"]}]


def test_linking_judges_the_id_whatever_the_label():
    counts, wrong = link_case([GoldEntity("Moskou", "LOC", "Q649")], [ent("Moskou", "ORG", "Q649")])
    assert (counts.found, counts.correct, wrong) == (1, 1, [])


def test_linking_right_if_any_mention_of_the_text_has_the_gold_id():
    counts, _ = link_case(
        [GoldEntity("Bayern", "ORG", "Q15789")], [ent("Bayern", "LOC", "Q980"), ent("Bayern", "ORG", "Q15789")]
    )
    assert (counts.correct, counts.wrong) == (1, 0)


def test_topics_language_models(report):
    t = report.total
    assert (t.topics.hits, t.topics.total) == (1, 2)  # a: politics in the top 3; b: nothing
    assert (t.topics_top1.hits, t.topics_top1.total) == (0, 2)  # a's best is conflict
    assert t.no_topics == 1
    assert (t.language.hits, t.language.total) == (1, 2)
    assert report.models == {"nl": ["blank+gazetteer", "nl_tiny+gazetteer"]}
    assert report.by_language["en"].models == {"nl_tiny+gazetteer": 1}


def test_topics_only_the_first_three_count():
    c = case("c", "en", [], [SPORT])
    doc = {
        "language": "en",
        "entities": [],
        "topics": [{"code": POL}, {"code": WAR}, {"code": "medtop:04000000"}, {"code": SPORT}],
    }
    assert evaluate([c], [doc]).total.topics.hits == 0


def test_surface_whitespace_collapsed_case_kept():
    c = case("c", "nl", [("Frank Renout", "PER", None), ("NAVO", "ORG", "Q7184")], [])
    doc = {"language": "nl", "topics": [], "entities": [ent("Frank\n Renout", "PER"), ent("Navo", "ORG", "Q7184")]}
    e = evaluate([c], [doc]).total.entities
    assert (e.tp, e.fp, e.fn) == (1, 1, 1)


def test_report_as_json(report):
    data = json.loads(json.dumps(report.to_dict()))
    assert data["entities"]["micro"]["f1"] == round(4 / 7, 4)
    assert data["linking"]["accuracy"] == 0.5
    assert data["cases"][1]["missed"] == [["Putin", "PER"]]


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        evaluate(CASES, DOCS[:1])


# --- the annotation format --------------------------------------------------------------------

ARTICLE = {"title": "Poetin in Moskou", "body": "Poetin sprak met Frank Renout."}


def gold(**over):
    g = {"language": "nl", "entities": [{"text": "Poetin", "label": "PER", "id": "Q7747"}], "topics": ["11000000"]}
    g.update(over)
    return {"article": dict(ARTICLE), "gold": g}


def test_parse_normalises_topics_and_deduplicates():
    data = gold(
        entities=[
            {"text": "Poetin", "label": "PER", "id": "Q7747"},
            {"text": "Poetin", "label": "PER", "id": "Q7747"},
            {"text": "Moskou", "label": "LOC", "id": "Q649", "field": "title", "start": 10, "end": 16},
        ]
    )
    c = parse_case(data, "x")
    assert c.topics == ("medtop:11000000",)
    assert c.entities == (GoldEntity("Poetin", "PER", "Q7747"), GoldEntity("Moskou", "LOC", "Q649"))


@pytest.mark.parametrize(
    "entities, message",
    [
        ([{"text": "Poetin", "label": "PERSON"}], "label"),
        ([{"text": "Poetin", "label": "PER", "id": "7747"}], "QID"),
        ([{"text": "Putin", "label": "PER"}], "neither the title nor the body"),
        ([{"text": "Poetin", "label": "PER", "field": "body", "start": 1, "end": 7}], "offsets"),
        (
            [{"text": "Poetin", "label": "PER", "id": "Q7747"}, {"text": "Poetin", "label": "PER", "id": "Q1"}],
            "two ids",
        ),
    ],
)
def test_parse_rejects_bad_entities(entities, message):
    with pytest.raises(InvalidCase, match=message):
        parse_case(gold(entities=entities), "x")


def test_parse_rejects_bad_topics_and_language():
    with pytest.raises(InvalidCase, match="topics"):
        parse_case(gold(topics=["medtop:99000000"]), "x")
    with pytest.raises(InvalidCase, match="language"):
        parse_case(gold(language="Dutch"), "x")
    with pytest.raises(InvalidCase, match="article"):
        parse_case({"gold": gold()["gold"]}, "x")


def test_load_cases_rejects_duplicate_ids(tmp_path):
    for name in ("a", "b"):
        data = gold()
        data["article"]["id"] = "same"
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InvalidCase, match="more than once"):
        load_cases(tmp_path)
    with pytest.raises(InvalidCase, match="not a directory"):
        load_cases(tmp_path / "a.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidCase, match="no annotated"):
        load_cases(tmp_path / "empty")


# --- the shipped set ----------------------------------------------------------------------------


def test_shipped_set_is_what_the_issue_asks_for():
    cases = load_cases(EVAL_DIR)
    per_lang = {}
    for c in cases:
        per_lang[c.language] = per_lang.get(c.language, 0) + 1
        assert c.entities and c.topics, c.name
        assert "language" not in c.article, f"{c.name}: a language hint would make detection trivial"
    assert len(cases) >= 21
    assert all(per_lang.get(lang, 0) >= 5 for lang in ("nl", "en", "de", "fr")), per_lang


def test_shipped_seed_case_is_the_seed_as_produced():
    (seed_case,) = [c for c in load_cases(EVAL_DIR) if c.meta.get("origin") == "seeds/" + SEED.name]
    [(_, article, problem)] = list(read_inputs([str(SEED)], source=None, language=None, limits=LimitSettings()))
    assert problem is None
    assert (seed_case.article["id"], seed_case.article["title"], seed_case.article["body"]) == (
        article["id"],
        article["title"],
        article["body"],
    )


# --- the command ---------------------------------------------------------------------------------


def test_eval_command_json(tmp_path):
    article = {
        "id": "e1",
        "title": "Poetin spreekt met Macron",
        "body": "De Russische president Poetin sprak in Moskou met Macron over Oekraïne en "
        "de NAVO. Correspondent Frank Renout was erbij.",
    }
    data = {
        "article": article,
        "gold": {
            "language": "nl",
            "topics": [POL],
            "entities": [
                {"text": "Poetin", "label": "PER", "id": "Q7747"},
                {"text": "Macron", "label": "PER", "id": "Q3052772"},
                {"text": "Moskou", "label": "LOC", "id": "Q649"},
                {"text": "Oekraïne", "label": "LOC", "id": "Q212"},
                {"text": "NAVO", "label": "ORG", "id": "Q7184"},
                {"text": "Frank Renout", "label": "PER", "id": None},
            ],
        },
    }
    (tmp_path / "e1.json").write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["articles"] == 1 and out["language"]["accuracy"] == 1.0
    micro = out["entities"]["micro"]
    assert micro["gold"] == 6 and micro["tp"] + micro["fn"] == 6
    assert out["linking"]["gold_with_qid"] == 5
    assert out["models"]["nl"] and out["cases"][0]["name"] == "e1"

    table = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert table.exit_code == 0 and "micro" in table.stdout and "linking" in table.stdout


def test_eval_command_rejects_a_malformed_set(tmp_path):
    (tmp_path / "bad.json").write_text('{"article": {}}', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert result.exit_code == 2


def test_eval_command_measures_a_stories_set(tmp_path):
    body = "The storm closed the port of Rotterdam on Monday; ships waited at sea for two days. " * 4
    for i, (story, dup) in enumerate([("storm", None), ("storm", "a0"), ("other", None)]):
        text = body if story == "storm" else "Ajax won the cup final in Amsterdam after extra time. " * 4
        article = {"id": f"a{i}", "title": "T", "body": text, "language": "en",
                   "published_at": f"2026-11-0{i + 1}T10:00:00Z"}  # fmt: skip
        (tmp_path / f"a{i}.json").write_text(json.dumps({"article": article, "story": story, "duplicate_of": dup}))
    result = CliRunner().invoke(app, ["eval", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["articles"] == 3 and out["gold_stories"] == 2
    assert out["duplicates"]["right"] == 1 and out["stories"]["f1"] == 1.0
    table = CliRunner().invoke(app, ["eval", str(tmp_path)])
    assert table.exit_code == 0 and "B-cubed" in table.stdout
