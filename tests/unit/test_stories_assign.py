"""The decision rule: duplicates (first-seen copy, chains, same batch, never itself) and stories
(cross-language by QIDs, same person on another event apart, the window, no QIDs)."""

import random

import pytest

from streams.settings import StoriesSettings
from streams.stories.assign import (
    assign,
    candidate_of,
    candidate_query,
    candidates_from_responses,
    decide,
    entity_weights,
    stored_fields,
    story_score,
)
from streams.stories.fingerprint import fingerprint

SETTINGS = StoriesSettings()


def text(seed: int, words: int = 120) -> str:
    """A text of its own: different seeds share (almost) no 3-word shingles."""
    rng = random.Random(seed)
    return " ".join(f"w{rng.randrange(100_000)}" for _ in range(words))


def doc(id, body, *, entities=(), topics=("medtop:11000000",), at="2024-05-01T10:00:00Z", lang="en", title="T"):
    d = {
        "id": id,
        "title": title,
        "body": body,
        "language": lang,
        "published_at": at,
        "entities": [{"id": qid, "label": label} for qid, label in entities],
        "entity_ids": [qid for qid, _ in entities],
        "topics": [{"code": c} for c in topics],
    }
    d["fingerprint"] = fingerprint(d, SETTINGS)
    return d


def indexed(d, **decision):
    """A document as the index returns it, with the decision it was given."""
    return {"story_id": f"s-{d['id']}", "duplicate_of": None, **d, **decision}


def edited(body: str) -> str:
    words = body.split()
    return " ".join(words[:-5] + ["changed", "ending", "of", "the", "copy"])


SUMMIT = [("Q7747", "PER"), ("Q3052772", "PER"), ("Q458", "ORG"), ("Q90", "LOC")]


def test_copy_points_at_the_first_seen_copy_whatever_the_pool_order():
    body = text(1)
    early = indexed(doc("b-early", body, at="2024-05-01T08:00:00Z"))
    late = indexed(doc("a-late", body, at="2024-05-01T09:00:00Z"))
    new = doc("c", edited(body), at="2024-05-01T10:00:00Z")
    for pool in ([early, late], [late, early]):
        d = decide(new, pool, SETTINGS)
        assert d["duplicate_of"] == "b-early" and d["story_id"] == "s-b-early"
        assert SETTINGS.duplicate_threshold <= d["duplicate_similarity"] < 1.0
    # Same time: the smaller id is the first seen.
    tie = indexed(doc("a-tie", body, at="2024-05-01T08:00:00Z"))
    assert decide(new, [early, tie], SETTINGS)["duplicate_of"] == "a-tie"


def test_duplicate_of_a_duplicate_points_at_the_original():
    body = text(2)
    copy = indexed(doc("copy", body), duplicate_of="orig", story_id="s-orig", duplicate_similarity=0.95)
    d = decide(doc("copy2", edited(body), at="2024-05-01T11:00:00Z"), [copy], SETTINGS)
    assert (d["duplicate_of"], d["story_id"]) == ("orig", "s-orig")


def test_same_batch_duplicates_see_each_other():
    body = text(3)
    batch = [doc("first", body), doc("second", edited(body), at="2024-05-01T10:05:00Z"), doc("other", text(4))]
    first, second, other = assign(batch, [[], [], []], SETTINGS)
    assert first["duplicate_of"] is None and first["story_id"] == "s-first"
    assert second["duplicate_of"] == "first" and second["story_id"] == "s-first"
    assert other["duplicate_of"] is None and other["story_id"] == "s-other"


def test_never_a_duplicate_of_itself_on_replay():
    body = text(5)
    first = doc("first", body)
    # The index holds this article and a later copy that points at it; replaying it changes nothing.
    pool = [indexed(first), indexed(doc("later", body, at="2024-05-01T12:00:00Z"), duplicate_of="first")]
    d = decide(first, pool, SETTINGS)
    assert d["duplicate_of"] is None and d["story_id"] == "s-first"


def test_cross_language_story_by_shared_qids():
    nl = indexed(doc("nl-1", text(6), entities=SUMMIT, lang="nl"))
    de = doc("de-1", text(7), entities=[*SUMMIT[:3], ("Q64", "LOC")], lang="de", at="2024-05-01T20:00:00Z")
    d = decide(de, [nl], SETTINGS)
    assert d["duplicate_of"] is None and d["story_id"] == "s-nl-1"


def test_same_person_on_another_event_stays_apart():
    putin_summit = indexed(doc("summit", text(8), entities=[("Q7747", "PER"), ("Q159", "LOC"), ("Q148", "LOC")]))
    # The same president and country, an unrelated speech the same day: shared weight 1 + 0.5 < 2.
    speech = doc("speech", text(9), entities=[("Q7747", "PER"), ("Q159", "LOC"), ("Q649", "LOC")])
    assert decide(speech, [putin_summit], SETTINGS)["story_id"] == "s-speech"


def test_story_score_rewards_agreeing_topics_and_needs_enough_shared_entities():
    a = doc("a", "x", entities=SUMMIT, topics=("medtop:11000000",))
    b_same = indexed(doc("b", "y", entities=SUMMIT, topics=("medtop:11000000",)))
    b_other = indexed(doc("b", "y", entities=SUMMIT, topics=("medtop:15000000",)))
    weights = entity_weights(a, SETTINGS)
    assert weights == {"Q7747": 1.0, "Q3052772": 1.0, "Q458": 1.0, "Q90": SETTINGS.place_weight}
    same = story_score(weights, {"medtop:11000000"}, b_same, SETTINGS)
    other = story_score(weights, {"medtop:11000000"}, b_other, SETTINGS)
    assert same == pytest.approx(1 + SETTINGS.topic_weight) and other == pytest.approx(1 - SETTINGS.topic_weight)
    one = indexed(doc("c", "z", entities=[("Q7747", "PER"), ("Q999", "PER")]))
    assert story_score(weights, set(), one, SETTINGS) == 0.0  # one shared QID: below min_shared_entities


def test_window_excludes_old_articles():
    old = indexed(doc("old", text(10), entities=SUMMIT, at="2024-04-27T10:00:00Z"))  # 96 h before
    recent = indexed(doc("recent", text(11), entities=SUMMIT, at="2024-04-30T12:00:00Z"))  # 22 h before
    new = doc("new", text(12), entities=SUMMIT)
    assert decide(new, [old], SETTINGS)["story_id"] == "s-new"
    assert decide(new, [old, recent], SETTINGS)["story_id"] == "s-recent"
    # Copies too: an old wire text republished is not searched for outside the window.
    assert decide(doc("again", old["body"]), [old], SETTINGS)["duplicate_of"] is None


def test_article_without_qids_starts_its_own_story():
    other = indexed(doc("other", text(13), entities=SUMMIT))
    d = decide(doc("local", text(14)), [other], SETTINGS)
    assert d == {**d, "story_id": "s-local", "duplicate_of": None, "duplicate_similarity": None}


def test_best_candidate_wins_and_replay_keeps_the_story():
    # "a-weak" comes first by id (same time): only the score puts the other first.
    weak = indexed(doc("a-weak", text(15), entities=[*SUMMIT[:2], ("Q1", "ORG"), ("Q2", "ORG"), ("Q3", "ORG")]))
    strong = indexed(doc("strong", text(16), entities=SUMMIT), story_id="s-summit")
    new = doc("new", text(17), entities=SUMMIT)
    assert decide(new, [weak, strong], SETTINGS)["story_id"] == "s-summit"
    assert decide(new, [weak, strong, indexed(new, story_id="s-weak")], SETTINGS)["story_id"] == "s-weak"


def test_assign_checks_its_input():
    with pytest.raises(ValueError, match="candidate lists"):
        assign([doc("a", "x")], [], SETTINGS)
    with pytest.raises(ValueError, match="without an id"):
        assign([{"title": "x", "body": "y"}], [[]], SETTINGS)


def test_candidate_query_is_one_plain_search_body():
    d = doc("q", text(18), entities=SUMMIT)
    body = candidate_query(d, SETTINGS)
    assert body["size"] == SETTINGS.max_candidates
    assert body["_source"] is False  # doc values only: the engine never parses a candidate's article
    assert {"story_id", "fingerprint.signature", "story_keys", "topics.code"} <= set(body["docvalue_fields"])
    should = body["query"]["bool"]["should"]
    assert should[0]["terms"]["fingerprint.bands"] == d["fingerprint"]["bands"]
    assert [c["term"]["entity_ids"] for c in should[1:]] == [q for q, _ in SUMMIT]
    span = body["query"]["bool"]["filter"][0]["bool"]["should"][0]["range"]["published_at"]
    assert span == {"gte": "2024-04-29T10:00:00.000Z", "lte": "2024-05-03T10:00:00.000Z"}  # +- 48 h
    assert candidate_query({"id": "e", "title": "", "body": ""}, SETTINGS)["query"] == {"match_none": {}}


def test_unlinked_names_link_stories_across_languages():
    # No QIDs in common: the spokeswoman and the company are unknown to the gazetteer, but their
    # names are spelled the same in Dutch and Italian.
    names = [{"id": None, "label": "PER", "name": "Hanneke van der Velden"}]
    names.append({"id": None, "label": "ORG", "name": "Bakkerij De Korenaar"})
    nl = indexed({**doc("nl-1", text(30), entities=[("Q55", "LOC")], lang="nl"), "entities": names})
    it = {**doc("it-1", text(31), lang="it"), "entities": [*names, {"id": None, "label": "PER", "name": "Rossi"}]}
    assert decide(it, [nl], SETTINGS)["story_id"] == "s-nl-1"
    terms = [c["term"] for c in candidate_query(it, SETTINGS)["query"]["bool"]["should"][1:]]
    assert terms == [{"entity_names": "Hanneke van der Velden"}, {"entity_names": "Bakkerij De Korenaar"}]


def test_signatures_of_other_settings_are_not_compared():
    body = text(40)
    old = indexed(doc("old", body))
    old["fingerprint"] = {"bands": old["fingerprint"]["bands"], "minhash": old["fingerprint"]["minhash"][:64]}
    assert decide(doc("new", body, at="2024-05-01T11:00:00Z"), [old], SETTINGS)["duplicate_of"] is None


def test_settings_need_whole_bands():
    with pytest.raises(ValueError, match="multiple of bands"):
        StoriesSettings(num_perm=100, bands=32)


def test_candidates_come_back_from_doc_values_as_they_were_decided():
    d = {**doc("a", text(13), entities=SUMMIT), "story_id": "s-a", "duplicate_of": None}
    d["fingerprint"] = fingerprint(d, SETTINGS)
    stored = {**d, **stored_fields(d, SETTINGS)}
    fields = {
        "story_id": [stored["story_id"]],
        "published_at": [stored["published_at"]],
        "story_keys": stored["story_keys"],
        "topics.code": ["medtop:11000000"],
        "fingerprint.bands": stored["fingerprint"]["bands"],
        "fingerprint.signature": [stored["fingerprint"]["signature"].rstrip("=")],  # as engines return it
    }
    responses = [{"hits": {"hits": [{"_id": "a", "fields": fields}]}}, {"hits": {}}]
    [[cand], []] = candidates_from_responses(responses)
    assert cand == candidate_of(d, SETTINGS)
    assert cand["fingerprint"]["minhash"] == d["fingerprint"]["minhash"]
    assert entity_weights(cand, SETTINGS) == entity_weights(d, SETTINGS)  # places still weigh less
    assert entity_weights(cand, SETTINGS)["Q90"] == SETTINGS.place_weight


def test_an_original_that_arrives_after_its_copy_corrects_the_copy():
    body = text(11)
    copy = indexed(doc("copy", edited(body), at="2024-05-01T12:00:00Z"))  # indexed first, as an original
    d = decide(doc("orig", body, at="2024-05-01T10:00:00Z"), [copy], SETTINGS)
    assert d["duplicate_of"] is None and d["story_id"] == "s-copy"  # the story the copy started
    assert d["corrects"]["copy"]["duplicate_of"] == "orig"
    assert d["corrects"]["copy"]["duplicate_similarity"] >= SETTINGS.duplicate_threshold


def test_a_batch_is_decided_in_first_seen_order_and_answered_in_its_own():
    body = text(12)
    batch = [doc("copy", edited(body), at="2024-05-01T12:00:00Z"), doc("orig", body, at="2024-05-01T10:00:00Z")]
    copy, orig = assign(batch, [[], []], SETTINGS)
    assert orig["duplicate_of"] is None and "corrects" not in orig
    assert copy["duplicate_of"] == "orig" and copy["story_id"] == orig["story_id"] == "s-orig"


def test_a_date_at_the_edge_of_the_calendar_gets_no_window_instead_of_an_overflow():
    for at in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        edge = doc("edge", text(14), entities=SUMMIT, at=at)
        body = candidate_query(edge, SETTINGS)
        assert "filter" not in body["query"]["bool"]
        assert decide(edge, [indexed(doc("other", text(15), entities=SUMMIT))], SETTINGS)["story_id"]
