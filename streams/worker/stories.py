"""The index agent's stories step: near-duplicates and story ids, decided against the index.

One msearch per batch: the first body fetches the batch's articles that are already indexed (a
replayed batch keeps the decisions it was indexed with, so a restart changes no story), the others
are each article's candidates (``streams.stories.assign.candidate_query``). The decision itself is
pure (``assign``). State lives in the index only: any number of workers share it.

A transient engine failure is retried until the engine answers, as indexing is. A refusal of the
lookup is never an article's fault: the batch is indexed without stories (logged), rather than sent
to the dead-letter topic.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial

from streams.search import SearchBackend, SearchError
from streams.settings import StoriesSettings, WorkerSettings
from streams.stories.assign import (
    assign,
    candidate_from_hit,
    candidate_of,
    candidate_queries,
    entity_weights,
    stored_fields,
)
from streams.stories.fingerprint import fingerprint, valid_fingerprint
from streams.worker.delivery import until_answered

log = logging.getLogger(__name__)

DECIDED = ("story_id", "duplicate_of", "duplicate_similarity")


class StoryStep:
    """``await step(docs)`` sets ``fingerprint``, ``story_id``, ``duplicate_of`` and
    ``duplicate_similarity`` on the batch's documents before they are indexed.

    The index shows a document only after its next refresh (about a second): the articles this
    worker decided in its last ``RECENT_BATCHES`` batches are candidates too, so a copy that arrives
    right after its original still finds it."""

    RECENT_BATCHES = 4

    def __init__(self, search: SearchBackend, settings: StoriesSettings, worker: WorkerSettings):
        self.search, self.settings, self.worker = search, settings, worker
        # Per recent batch: band key or entity key -> its decided articles, as candidates.
        self.recent: deque[dict[str, list[dict]]] = deque(maxlen=self.RECENT_BATCHES)

    async def __call__(self, docs: Sequence[dict]) -> None:
        if not self.settings.enabled or not docs:
            return
        if await add_stories(self.search, docs, self.settings, self.worker, recent=self._recent_for):
            by_key: dict[str, list[dict]] = {}
            for doc in docs:
                candidate = candidate_of(doc, self.settings)
                for key in self._keys(doc):
                    by_key.setdefault(key, []).append(candidate)
            self.recent.append(by_key)
        for doc in docs:  # as the index keeps them: doc values the next lookups read
            doc.update(stored_fields(doc, self.settings))

    def _keys(self, doc: dict) -> set[str]:
        return set(doc["fingerprint"]["bands"]) | entity_weights(doc, self.settings).keys()

    def _recent_for(self, doc: dict) -> list[dict]:
        """The recent articles that share a key with ``doc``, newest batch first, at most a page."""
        found: dict[str, dict] = {}
        keys = self._keys(doc)
        for by_key in reversed(self.recent):
            for key in keys:
                for candidate in by_key.get(key, ()):
                    if candidate["id"] != doc["id"]:
                        found.setdefault(candidate["id"], candidate)
                        if len(found) >= self.settings.max_candidates:
                            return list(found.values())
        return list(found.values())


async def add_stories(
    search: SearchBackend,
    docs: Sequence[dict],
    settings: StoriesSettings,
    worker: WorkerSettings,
    recent: Callable[[dict], list[dict]] = lambda doc: [],
) -> bool:
    """Set the story fields on ``docs`` (see ``StoryStep``); ``recent(doc)``: candidates the index
    may not show yet. False when the lookup was refused and the batch goes without stories."""
    for doc in docs:  # a record from the topic is input like any other: its fingerprint is checked
        if not valid_fingerprint(doc.get("fingerprint"), settings):
            doc["fingerprint"] = fingerprint(doc, settings)
    ids = [str(doc["id"]) for doc in docs]
    known = {"query": {"ids": {"values": ids}}, "size": len(ids), "_source": list(DECIDED)}
    bodies = [known, *candidate_queries(docs, settings)]
    try:
        responses = await until_answered(partial(search.msearch, bodies), "story candidate lookup", worker)
    except SearchError as exc:  # a refusal (transient failures are retried until answered)
        log.error("stories skipped for a batch of %d: the candidate lookup failed: %s", len(docs), exc)
        return False
    indexed = {h["_id"]: h["_source"] for h in responses[0]["hits"]["hits"] if h["_source"].get("story_id")}
    fresh = [doc for doc in docs if str(doc["id"]) not in indexed]
    found = {}
    for doc, resp in zip(docs, responses[1:], strict=True):
        mine = recent(doc)
        seen = {str(c["id"]) for c in mine} | {str(doc["id"])}
        found[id(doc)] = mine + [candidate_from_hit(h) for h in resp["hits"]["hits"] if h["_id"] not in seen]
    corrections: dict[str, dict] = {}
    for doc, decision in zip(fresh, assign(fresh, [found[id(d)] for d in fresh], settings), strict=True):
        corrections.update(decision.pop("corrects", {}))
        doc.update(decision)
    if corrections:
        await correct(search, corrections, worker)
    for doc in docs:
        if str(doc["id"]) in indexed:
            doc.update({k: indexed[str(doc["id"])].get(k) for k in DECIDED})
    return True


async def correct(search: SearchBackend, corrections: dict[str, dict], worker: WorkerSettings) -> None:
    """Point indexed copies that came before their original at it. A refused update is logged: the
    copy keeps its own decision, nothing is lost."""
    try:
        refused = await until_answered(partial(search.update_fields, corrections), "copy correction", worker)
    except SearchError as exc:
        log.warning("%d copy correction(s) not written: %s", len(corrections), exc)
        return
    for error in refused:
        log.warning("copy correction of %s not written: %s %s", error.doc_id, error.status, error.reason)
