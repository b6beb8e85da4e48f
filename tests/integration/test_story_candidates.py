"""The stories rule against the real engine: ``candidate_query`` bodies, sent as one msearch, find
exactly the candidates the offline runner assumes, and deciding on the engine's candidates gives the
offline decisions (docs/STORIES.md).

The labelled set (tests/data/stories) is enriched, decided offline and indexed with its decisions;
then each article's msearch hits are compared with ``matches_query`` over the whole set, and each
article is decided again from its hits that were published before it (what the worker's index held
when the article arrived). Runs once per search kind: the msearch goes through both clients.
"""

from __future__ import annotations

import pytest

from streams.enrich import Enricher
from streams.settings import PROJECT_DIR, EnrichSettings, StoriesSettings
from streams.stories.assign import candidate_queries, candidates_from_responses, decide, first_seen_key, stored_fields
from streams.stories.evaluate import load_cases, matches_query, run_offline

pytestmark = [pytest.mark.integration, pytest.mark.search_kinds]

SETTINGS = StoriesSettings()
DECISION = ("story_id", "duplicate_of", "duplicate_similarity")


@pytest.fixture(scope="module")
def decided() -> list[dict]:
    cases = load_cases(PROJECT_DIR / "tests" / "data" / "stories")
    docs = [r.doc for r in Enricher(EnrichSettings()).enrich_batch([c.article for c in cases])]
    return run_offline(docs, SETTINGS)


def test_engine_candidates_match_the_offline_rule(fresh_backend, decided):
    assert fresh_backend.bulk_index([{**d, **stored_fields(d, SETTINGS)} for d in decided]) == []
    fresh_backend.refresh()
    responses = fresh_backend.msearch(candidate_queries(decided, SETTINGS))
    assert len(responses) == len(decided)
    by_id = {d["id"]: d for d in decided}
    for doc, hits in zip(decided, candidates_from_responses(responses), strict=True):
        assert len(hits) < SETTINGS.max_candidates  # else the engine's ranking would decide what is cut
        assert {h["id"] for h in hits} == {c["id"] for c in decided if matches_query(doc, c, SETTINGS)}
        earlier = [h for h in hits if first_seen_key(h) < first_seen_key(doc)]
        again = decide({k: v for k, v in doc.items() if k not in DECISION}, earlier, SETTINGS)
        assert {k: again[k] for k in DECISION} == {k: by_id[doc["id"]][k] for k in DECISION}, doc["id"]
