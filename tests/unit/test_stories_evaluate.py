"""Duplicate and B-cubed metrics on hand examples, the labelled-set reader and the offline runner."""

import json

import pytest
from test_stories_assign import SUMMIT, doc, edited, text

from streams.settings import StoriesSettings
from streams.stories.evaluate import (
    InvalidCase,
    StoryCase,
    bcubed,
    cross_language_recall,
    duplicate_scores,
    errors,
    evaluate,
    evaluate_cases,
    gold_labels,
    load_cases,
    predicted_labels,
    run_offline,
)

SETTINGS = StoriesSettings()


def test_bcubed_hand_example():
    # Gold: A = {1, 2, 3}, B = {4, 5}; predicted: X = {1, 2, 3, 4}, Y = {5}.
    # Precision per article (share of its predicted story in its gold story):
    #   1, 2, 3: 3/4 each; 4: 1/4 ({4} of X is in B); 5: 1/1  -> (3 * .75 + .25 + 1) / 5 = 3.5 / 5 = .70
    # Recall per article (share of its gold story in its predicted story):
    #   1, 2, 3: 3/3 each; 4: 1/2; 5: 1/2                   -> (3 + .5 + .5) / 5 = 4 / 5 = .80
    # F1 = 2 * .70 * .80 / (.70 + .80) = 1.12 / 1.5 = .74667
    gold = {"1": ("A", None), "2": ("A", None), "3": ("A", None), "4": ("B", None), "5": ("B", None)}
    pred = {"1": ("X", None), "2": ("X", None), "3": ("X", None), "4": ("X", None), "5": ("Y", None)}
    scores = bcubed(gold, pred)
    assert scores["precision"] == pytest.approx(0.70)
    assert scores["recall"] == pytest.approx(0.80)
    assert scores["f1"] == pytest.approx(1.12 / 1.5)
    assert bcubed(gold, gold) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    with pytest.raises(ValueError, match="no prediction"):
        bcubed(gold, {"1": ("X", None)})


def test_duplicate_pairs_follow_chains_to_the_original():
    # Gold: c1 copies o, c2 copies c1 (so: o). Predicted: both copy o (right), x copies o (wrong).
    gold = {"o": ("s", None), "c1": ("s", "o"), "c2": ("s", "c1"), "x": ("t", None)}
    pred = {"o": ("s", None), "c1": ("s", "o"), "c2": ("s", "o"), "x": ("s", "o")}
    scores = duplicate_scores(gold, pred)
    assert (scores["gold"], scores["predicted"], scores["right"]) == (2, 3, 2)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == 1.0


def test_cross_language_recall_counts_pairs_in_different_languages():
    gold = {"1": ("A", None), "2": ("A", None), "3": ("A", None), "4": ("B", None), "5": ("B", None)}
    pred = {"1": ("X", None), "2": ("X", None), "3": ("X", None), "4": ("X", None), "5": ("Y", None)}
    langs = {"1": "en", "2": "nl", "3": "en", "4": "de", "5": "en"}
    # Cross-language gold pairs: (1, 2), (2, 3) in A, (4, 5) in B; the first two are joined.
    assert cross_language_recall(gold, pred, langs) == {"pairs": 3, "joined": 2, "recall": pytest.approx(2 / 3)}


def write_case(directory, name, article, story="ev", duplicate_of=None):
    data = {"article": article, "story": story, "duplicate_of": duplicate_of, "note": ""}
    (directory / name).write_text(json.dumps(data), encoding="utf-8")


def test_load_cases_reads_the_set_and_names_a_bad_file(tmp_path):
    write_case(tmp_path, "a.json", {"id": "a", "title": "t", "body": "b"})
    write_case(tmp_path, "b.json", {"id": "b", "title": "t", "body": "b"}, duplicate_of="a")
    assert gold_labels(load_cases(tmp_path)) == {"a": ("ev", None), "b": ("ev", "a")}
    write_case(tmp_path, "c.json", {"id": "c", "title": "t", "body": "b"}, duplicate_of="nope")
    with pytest.raises(InvalidCase, match="'nope' is not in the set"):
        load_cases(tmp_path)
    write_case(tmp_path, "c.json", {"id": "c", "title": "t", "body": "b"}, story="")
    with pytest.raises(InvalidCase, match=r"c\.json: story"):
        load_cases(tmp_path)


def test_offline_runner_groups_copies_and_languages_and_keeps_distractors_apart():
    wire = text(20)
    other = [("Q42", "PER"), ("Q64", "LOC"), ("Q183", "LOC"), ("Q567", "PER")]
    docs = [
        doc("en-wire", wire, entities=SUMMIT, at="2024-05-01T10:00:00Z"),
        doc("nl-wire", edited(wire), entities=SUMMIT, lang="nl", at="2024-05-01T10:30:00Z"),
        doc("de-summit", text(21), entities=SUMMIT[:3], lang="de", at="2024-05-01T18:00:00Z"),
        doc("fr-berlin", text(22), entities=other, lang="fr", at="2024-05-01T11:00:00Z"),
        doc("en-berlin", text(23), entities=other, at="2024-05-02T09:00:00Z"),
        doc("es-local", text(24), lang="es", at="2024-05-01T12:00:00Z"),
        doc("it-later", text(25), entities=SUMMIT, lang="it", at="2024-05-09T12:00:00Z"),  # outside the window
    ]
    gold = {
        "en-wire": ("summit", None),
        "nl-wire": ("summit", "en-wire"),
        "de-summit": ("summit", None),
        "fr-berlin": ("berlin", None),
        "en-berlin": ("berlin", None),
        "es-local": ("local", None),
        "it-later": ("later", None),
    }
    for batch_size in (1, 3, 10):
        out = run_offline(list(reversed(docs)), SETTINGS, batch_size=batch_size)  # sorted by time inside
        pred = predicted_labels(out)
        assert pred["nl-wire"] == ("s-en-wire", "en-wire")
        scores = evaluate(gold, pred, {d["id"]: d["language"] for d in docs})
        assert scores["duplicates"]["precision"] == scores["duplicates"]["recall"] == 1.0
        assert scores["stories"]["f1"] == 1.0 and scores["cross_language"]["recall"] == 1.0
        assert scores["predicted_stories"] == scores["gold_stories"] == 4


def test_errors_name_split_and_merged_stories_and_wrong_duplicates():
    # The B-cubed example: B = {4, 5} is split over X and Y; X joins A's 1, 2, 3 with B's 4.
    gold = {"1": ("A", None), "2": ("A", "1"), "3": ("A", None), "4": ("B", None), "5": ("B", None)}
    pred = {"1": ("X", None), "2": ("X", None), "3": ("X", "1"), "4": ("X", None), "5": ("Y", None)}
    assert errors(gold, pred) == {
        "split": {"B": {"X": ["4"], "Y": ["5"]}},
        "merged": {"X": {"A": ["1", "2", "3"], "B": ["4"]}},
        "missed_duplicates": [("2", "1")],
        "wrong_duplicates": [("3", "1")],
    }


def test_evaluate_cases_checks_that_docs_follow_the_cases():
    cases = [StoryCase({"id": "a"}, "s", None), StoryCase({"id": "b"}, "s", None)]
    with pytest.raises(ValueError, match="keep the order"):
        evaluate_cases(cases, [doc("b", "x"), doc("a", "y")], SETTINGS)
    with pytest.raises(ValueError, match="2 cases but 1"):
        evaluate_cases(cases, [doc("a", "x")], SETTINGS)
