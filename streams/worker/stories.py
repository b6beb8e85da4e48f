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

import asyncio
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
        # The CPU parts run in a thread: the event loop keeps serving the consumers and producers.
        try:
            bodies = await asyncio.to_thread(self._queries, docs)
            try:
                responses = await until_answered(partial(self.search.msearch, bodies), "story lookup", self.worker)
            except SearchError as exc:  # a refusal (transient failures are retried until answered)
                log.error("stories skipped for a batch of %d: the candidate lookup failed: %s", len(docs), exc)
                responses = None
            corrections = await asyncio.to_thread(self._decide, docs, responses)
        except Exception:  # noqa: BLE001 - a bug or an article the rule cannot read: index, never dead-letter
            log.exception("stories skipped for a batch of %d: the decision failed", len(docs))
            for doc in docs:
                for key in (*DECIDED, "story_keys", "fingerprint"):
                    doc.pop(key, None)
            return
        if corrections:
            await correct(self.search, corrections, self.worker)

    def _queries(self, docs: Sequence[dict]) -> list[dict]:
        """The batch's msearch: its already indexed articles (a replay keeps its decisions), then
        each article's candidates."""
        for doc in docs:  # a record from the topic is input like any other: its fingerprint is checked
            if not valid_fingerprint(doc.get("fingerprint"), self.settings):
                doc["fingerprint"] = fingerprint(doc, self.settings)
        ids = [str(doc["id"]) for doc in docs]
        known = {"query": {"ids": {"values": ids}}, "size": len(ids), "_source": list(DECIDED)}
        return [known, *candidate_queries(docs, self.settings)]

    def _decide(self, docs: Sequence[dict], responses: list[dict] | None) -> dict[str, dict]:
        """Set the decisions on ``docs`` (none without ``responses``) and the fields the index keeps;
        returns the corrections of indexed copies."""
        corrections: dict[str, dict] = {}
        if responses is not None:
            corrections = decide_batch(docs, responses, self._recent_for, self.settings)
        by_key: dict[str, list[dict]] = {}
        for doc in docs:
            stored = stored_fields(doc, self.settings)  # as the index keeps them: what later lookups read
            if responses is not None:
                candidate = candidate_of(doc, self.settings, stored)
                for key in self._keys(doc):
                    by_key.setdefault(key, []).append(candidate)
            doc.update(stored)
        if responses is not None:
            self.recent.append(by_key)
        return corrections

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


def decide_batch(
    docs: Sequence[dict],
    responses: list[dict],
    recent: Callable[[dict], list[dict]],
    settings: StoriesSettings,
) -> dict[str, dict]:
    """Set the story fields on ``docs`` from the msearch ``responses`` (``StoryStep._queries``) and
    ``recent(doc)``, the candidates the index may not show yet; returns the corrections of copies."""
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
    for doc in docs:
        if str(doc["id"]) in indexed:
            doc.update({k: indexed[str(doc["id"])].get(k) for k in DECIDED})
    return corrections


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
