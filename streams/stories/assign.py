"""Which copy an article duplicates and which story it belongs to: the decision rule. Pure.

The worker asks the index for each article's candidates (``candidate_queries``: one search body per
article, sent as one msearch per batch), then ``assign(docs, candidates, settings)`` decides for the
batch in order; every decided article joins the pool the later ones of the batch see. The rule, its
reasons and its figures are in docs/STORIES.md. Nothing here talks to Kafka or a search engine::

    for doc in docs:  # once: candidate_query and decide would each compute it otherwise
        doc["fingerprint"] = fingerprint(doc, settings)
    responses = backend.msearch(candidate_queries(docs, settings))
    for doc, decision in zip(docs, assign(docs, candidates_from_responses(responses), settings)):
        doc.update(decision)

A candidate is a plain dict: an enriched article, or an indexed one read back from the doc values
of ``CANDIDATE_FIELDS`` (``candidate_from_hit``): ``id``, ``story_id``, ``duplicate_of``,
``published_at``, ``pipeline.ingested_at``, ``story_keys`` (its entity keys, stored by the worker
with ``stored_fields``), ``topics`` (``code``) and ``fingerprint`` (``bands``, ``minhash``). A decision
is ``{"story_id", "duplicate_of", "duplicate_similarity", "fingerprint"}``: the worker writes it into
the document it indexes. A decision may also hold ``corrects``: ``{id: fields}`` of an indexed copy
that came before its original and now points at it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from streams.contracts.dates import parse_time, to_iso
from streams.settings import StoriesSettings
from streams.stories.fingerprint import fingerprint, similarity

PLACE = "LOC"
NAMED = ("PER", "ORG")
NAME_PREFIX = "name:"  # keys of unlinked names, apart from QIDs
PLACE_PREFIX = "place:"  # stored keys of places (``story_keys``): they weigh ``place_weight``
# What assign reads from an indexed candidate, as doc values: the engine never parses a candidate's
# _source (a whole article), which made the lookup of a 500-article batch take seconds.
CANDIDATE_FIELDS = [
    "story_id",
    "duplicate_of",
    "published_at",
    "pipeline.ingested_at",
    "story_keys",
    "topics.code",
    "fingerprint.bands",
    "fingerprint.signature",
]
_NEVER = datetime.max.replace(tzinfo=UTC)
BAND_BOOST = 10.0  # a copy (shared band key) ranks above any candidate found by entities alone


def story_for(article_id: str) -> str:
    """The id of the story an article starts: derived from its id, so a replay gives the same."""
    return f"s-{article_id}"


def seen_at(doc: Mapping[str, Any]) -> datetime | None:
    """When the article happened for the rule: ``published_at``, else ``pipeline.ingested_at``."""
    value = doc.get("published_at") or (doc.get("pipeline") or {}).get("ingested_at")
    return _parse_time(value) if value else None


_parse_time = lru_cache(maxsize=16384)(parse_time)  # a batch compares the same times many times


def first_seen_key(doc: Mapping[str, Any]) -> tuple[datetime, str]:
    """First seen first: earliest time (unknown times last), ties by id."""
    return (seen_at(doc) or _NEVER, str(doc.get("id")))


def in_window(a: datetime | None, b: datetime | None, settings: StoriesSettings) -> bool:
    """Within ``window_hours`` of each other; an unknown time does not exclude."""
    return a is None or b is None or abs(a - b) <= timedelta(hours=settings.window_hours)


def entity_weights(doc: Mapping[str, Any], settings: StoriesSettings) -> dict[str, float]:
    """Entity key -> weight. Keys are linked QIDs, and ``name:<name>`` for unlinked names (see
    ``unlinked_names``). Places (LOC) count ``place_weight``, people, organisations and the rest 1;
    a QID with several labels takes the highest, one without a label counts 1."""
    stored = doc.get("story_keys")
    if stored is not None:  # an indexed candidate (``stored_fields``)
        return {
            k.removeprefix(PLACE_PREFIX): settings.place_weight if k.startswith(PLACE_PREFIX) else 1.0 for k in stored
        }
    weights: dict[str, float] = {}
    for entity in doc.get("entities") or []:
        qid = entity.get("id")
        if qid:
            weight = settings.place_weight if entity.get("label") == PLACE else 1.0
            weights[qid] = max(weight, weights.get(qid, 0.0))
    for qid in doc.get("entity_ids") or []:
        weights.setdefault(qid, 1.0)
    for name in unlinked_names(doc):
        weights.setdefault(NAME_PREFIX + name.casefold(), 1.0)
    return weights


def unlinked_names(doc: Mapping[str, Any]) -> list[str]:
    """Names of people and organisations without a QID, of two words or more ("Hanneke van der
    Velden"): spelled the same in every language, so they link stories as a QID would."""
    names = []
    for entity in doc.get("entities") or []:
        name = entity.get("name") or ""
        if not entity.get("id") and entity.get("label") in NAMED and len(name.split()) >= 2:
            names.append(name)
    return list(dict.fromkeys(names))


def topic_codes(doc: Mapping[str, Any]) -> set[str]:
    return {t["code"] for t in doc.get("topics") or [] if isinstance(t, Mapping) and t.get("code")}


def story_score(
    doc_weights: Mapping[str, float],
    doc_topics: set[str],
    candidate: Mapping[str, Any],
    settings: StoriesSettings,
    memo: dict | None = None,
) -> float:
    """How strongly an article belongs with a candidate's story; 0.0 below the shared-entity bar.

    Weighted Jaccard of the entity keys, plus ``topic_weight`` when the topic sets meet and minus it
    when both have topics and they do not. The bar: the shared keys must weigh at least
    ``min_shared_entities`` (so one person plus the country they govern, 1.5, is not enough).
    """
    cand_weights, cand_topics = _keys(candidate, settings, memo)
    shared = doc_weights.keys() & cand_weights.keys()
    shared_weight = sum(max(doc_weights[q], cand_weights[q]) for q in shared)
    if shared_weight < settings.min_shared_entities:
        return 0.0
    union = {**cand_weights, **{q: max(w, cand_weights.get(q, 0.0)) for q, w in doc_weights.items()}}
    score = shared_weight / sum(union.values())
    if doc_topics and cand_topics:
        score += settings.topic_weight if doc_topics & cand_topics else -settings.topic_weight
    return score


def _keys(doc: Mapping[str, Any], settings: StoriesSettings, memo: dict | None) -> tuple[dict[str, float], set[str]]:
    """``entity_weights`` and ``topic_codes`` of ``doc``, computed once per batch when ``memo`` is given
    (it holds the document too, so its ``id()`` is not reused while the memo lives)."""
    if memo is None:
        return entity_weights(doc, settings), topic_codes(doc)
    found = memo.get(id(doc))
    if found is None:
        found = memo[id(doc)] = (doc, entity_weights(doc, settings), topic_codes(doc))
    return found[1], found[2]


def find_duplicate(
    doc_id: str, signature: Sequence[int], bands: Sequence[str], pool: Sequence[Mapping[str, Any]], threshold: float
) -> tuple[Mapping[str, Any], float] | None:
    """The first-seen copy in the pool (a shared band key and similarity >= threshold), or None."""
    keys = set(bands)
    sharing = [
        cand
        for cand in pool
        if cand.get("id") != doc_id and keys.intersection((cand.get("fingerprint") or {}).get("bands") or ())
    ]
    for cand in sorted(sharing, key=first_seen_key):  # the first copy found is the first seen
        score = similarity(signature, cand["fingerprint"].get("minhash") or [])  # other settings: 0.0
        if score >= threshold:
            return cand, score
    return None


def decide(
    doc: Mapping[str, Any], pool: Sequence[Mapping[str, Any]], settings: StoriesSettings, memo: dict | None = None
) -> dict:
    """``{"story_id", "duplicate_of", "duplicate_similarity", "fingerprint"}`` for one article.

    ``pool`` holds the candidates: the index's and the batch's earlier articles, already decided.
    ``memo``: per-candidate values kept across the decisions of one batch (``assign``).
    """
    doc_id = str(doc["id"])
    fp = doc.get("fingerprint") or fingerprint(doc, settings)
    when = seen_at(doc)
    pool = [c for c in pool if in_window(when, seen_at(c), settings)]
    decision = {"story_id": None, "duplicate_of": None, "duplicate_similarity": None, "fingerprint": fp}

    # A replayed article keeps the story it was given (the index or the batch already holds it).
    earlier = [c.get("story_id") for c in pool if c.get("id") == doc_id and c.get("story_id")]

    copy = find_duplicate(doc_id, fp["minhash"], fp["bands"], pool, settings.duplicate_threshold)
    if copy is not None:
        cand, score = copy
        original = cand.get("duplicate_of") or cand["id"]
        if original == cand["id"] and first_seen_key(doc) < first_seen_key(cand):
            # The copy came first (partitions and feeds reorder): this article is the original and
            # the copy is corrected to point at it (the worker writes ``corrects`` to the index).
            decision["story_id"] = earlier[0] if earlier else cand.get("story_id") or story_for(cand["id"])
            decision["corrects"] = {cand["id"]: {"duplicate_of": doc_id, "duplicate_similarity": round(score, 4)}}
            return decision
        if original != doc_id:  # a later copy that points back at this article: it stays the original
            decision.update(duplicate_of=original, duplicate_similarity=round(score, 4))
            decision["story_id"] = earlier[0] if earlier else cand.get("story_id") or story_for(original)
            return decision

    if earlier:
        decision["story_id"] = earlier[0]
        return decision
    decision["story_id"] = best_story(doc, pool, settings, memo) or story_for(doc_id)
    return decision


def best_story(
    doc: Mapping[str, Any], pool: Sequence[Mapping[str, Any]], settings: StoriesSettings, memo: dict | None = None
) -> str | None:
    """The story of the best-scoring candidate at or above ``join_threshold`` (ties: first seen)."""
    weights, topics = entity_weights(doc, settings), topic_codes(doc)
    if not weights:
        return None
    best: tuple[float, tuple[datetime, str]] | None = None
    story = None
    for cand in pool:
        if cand.get("id") == doc.get("id"):
            continue
        score = story_score(weights, topics, cand, settings, memo)
        if score < settings.join_threshold:
            continue
        rank = (-score, first_seen_key(cand))
        if best is None or rank < best:
            best, story = rank, cand.get("story_id") or story_for(cand.get("duplicate_of") or cand["id"])
    return story


def assign(
    docs: Sequence[Mapping[str, Any]], candidates: Sequence[Sequence[Mapping[str, Any]]], settings: StoriesSettings
) -> list[dict]:
    """One decision per article, in order (see ``decide``); ``candidates[i]`` are the index's for
    ``docs[i]``. Each article also sees the batch's earlier articles with their decisions."""
    if len(candidates) != len(docs):
        raise ValueError(f"{len(docs)} articles but {len(candidates)} candidate lists")
    # In first-seen order, so that an original decides before its copies; returned in input order.
    order = sorted(range(len(docs)), key=lambda i: first_seen_key(docs[i]))
    memo: dict = {}
    decided: list[dict] = []
    by_key: dict[str, set[int]] = {}  # band key or entity key -> positions in ``decided``
    out: list[dict] = [{}] * len(docs)
    for i in order:
        doc = docs[i]
        if not doc.get("id"):
            raise ValueError("an article without an id cannot join a story")
        fp = doc.get("fingerprint") or fingerprint(doc, settings)
        keys = [*fp["bands"], *_keys(doc, settings, memo)[0]]
        related = set().union(*(by_key[k] for k in keys if k in by_key))  # only these can be chosen
        # The latest page of them: a copy among them leads to its original, a member to its story.
        pool = [*candidates[i], *(decided[j] for j in sorted(related)[-settings.max_candidates :])]
        decision = decide({**doc, "fingerprint": fp}, pool, settings, memo)
        out[i] = decision
        for key in keys:
            by_key.setdefault(key, set()).add(len(decided))
        decided.append({**doc, **decision})
    return out


def candidate_query(doc: Mapping[str, Any], settings: StoriesSettings) -> dict:
    """The search body that finds one article's candidates in the index (plain data, no client).

    Should: the article's band keys (boosted: copies first), one ``term`` per linked QID and per
    unlinked name (so candidates sharing more, and rarer, entities rank higher: the engine's IDF);
    filter: the time window on ``published_at``, or on ``pipeline.ingested_at`` for documents
    without one. An article with no band keys, QIDs or names gets a body that matches nothing.
    """
    bands = list((doc.get("fingerprint") or fingerprint(doc, settings))["bands"])
    qids = [k for k in entity_weights(doc, settings) if not k.startswith(NAME_PREFIX)]
    names = unlinked_names(doc)
    if not bands and not qids and not names:
        return {"size": 0, "query": {"match_none": {}}}
    should: list[dict] = []
    if bands:
        should.append({"terms": {"fingerprint.bands": bands, "boost": BAND_BOOST}})
    should.extend({"term": {"entity_ids": qid}} for qid in qids)
    should.extend({"term": {"entity_names": name}} for name in names)
    query: dict[str, Any] = {"should": should, "minimum_should_match": 1}
    when = seen_at(doc)
    window = timedelta(hours=settings.window_hours)
    if when is not None and datetime.min.replace(tzinfo=UTC) + window < when < _NEVER - window:
        # (a date at the calendar's edge, year 1 or 9999, gets no window rather than an overflow)
        span = {"gte": to_iso(when - window), "lte": to_iso(when + window)}
        query["filter"] = [
            {
                "bool": {
                    "should": [
                        {"range": {"published_at": span}},
                        {
                            "bool": {
                                "must_not": [{"exists": {"field": "published_at"}}],
                                "filter": [{"range": {"pipeline.ingested_at": span}}],
                            }
                        },
                    ],
                    "minimum_should_match": 1,
                }
            }
        ]
    return {
        "size": settings.max_candidates,
        "track_total_hits": False,  # the top page only: the engine may skip what cannot make it
        "_source": False,
        "docvalue_fields": CANDIDATE_FIELDS,
        "query": {"bool": query},
    }


def candidate_queries(docs: Sequence[Mapping[str, Any]], settings: StoriesSettings) -> list[dict]:
    """``candidate_query`` of each article, in order: the bodies of one msearch for the batch."""
    return [candidate_query(doc, settings) for doc in docs]


def candidates_from_responses(responses: Sequence[Mapping[str, Any]]) -> list[list[dict]]:
    """The candidates of each article from the msearch responses (in the order of the bodies)."""
    return [[candidate_from_hit(hit) for hit in resp.get("hits", {}).get("hits", [])] for resp in responses]


def candidate_from_hit(hit: Mapping[str, Any]) -> dict:
    """A hit of ``candidate_query`` (doc values of ``CANDIDATE_FIELDS``) as the candidate ``decide`` reads."""
    fields = hit.get("fields") or {}

    def one(name: str) -> Any:
        values = fields.get(name) or [None]
        return values[0]

    signature = one("fingerprint.signature")
    return {
        "id": hit["_id"],
        "story_id": one("story_id"),
        "duplicate_of": one("duplicate_of"),
        "published_at": one("published_at"),
        "pipeline": {"ingested_at": one("pipeline.ingested_at")},
        "story_keys": list(fields.get("story_keys") or []),
        "topics": [{"code": code} for code in fields.get("topics.code") or []],
        "fingerprint": {
            "bands": list(fields.get("fingerprint.bands") or []),
            "minhash": unpack_signature(signature) if signature else [],
        },
    }


def candidate_of(doc: Mapping[str, Any], settings: StoriesSettings, stored: Mapping[str, Any] | None = None) -> dict:
    """A decided article as ``candidate_from_hit`` would read it back from the index (``stored``: its
    ``stored_fields``, when the caller has them)."""
    fp = doc.get("fingerprint") or {}
    stored = stored or stored_fields(doc, settings)
    return {
        "id": str(doc["id"]),
        "story_id": doc.get("story_id"),
        "duplicate_of": doc.get("duplicate_of"),
        "published_at": doc.get("published_at"),
        "pipeline": {"ingested_at": (doc.get("pipeline") or {}).get("ingested_at")},
        "story_keys": stored["story_keys"],
        "topics": [{"code": code} for code in topic_codes(doc)],
        "fingerprint": {"bands": list(fp.get("bands") or []), "minhash": list(fp.get("minhash") or [])},
    }


def stored_fields(doc: Mapping[str, Any], settings: StoriesSettings) -> dict:
    """What the index keeps for later lookups: ``story_keys`` (the entity keys, places marked) and the
    fingerprint as ``bands`` + ``signature`` (the MinHash packed as base64 doc values)."""
    fp = doc.get("fingerprint") or {}
    keys = [
        PLACE_PREFIX + key if weight < 1.0 and not key.startswith(NAME_PREFIX) else key
        for key, weight in entity_weights(doc, settings).items()
    ]
    return {
        "story_keys": keys,
        "fingerprint": {"bands": list(fp.get("bands") or []), "signature": pack_signature(fp.get("minhash") or [])},
    }


def pack_signature(signature: Sequence[int]) -> str:
    return base64.b64encode(np.asarray(signature, dtype="<u4").tobytes()).decode("ascii")


def unpack_signature(packed: str) -> list[int]:
    """``pack_signature`` undone (engines return doc values of binary fields without the padding)."""
    raw = base64.b64decode(packed + "=" * (-len(packed) % 4))
    return np.frombuffer(raw, dtype="<u4").tolist()
