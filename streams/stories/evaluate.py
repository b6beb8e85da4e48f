"""Evaluating duplicates and stories against a labelled set; the offline runner. Pure.

``load_cases(directory)`` reads the set (one JSON file per article)::

    {"article": {"id", "title", "body", "language", "source", "published_at"},
     "story": "<event slug>", "duplicate_of": "<article id>" | null, "note": "..."}

The caller enriches the articles (``Enricher.enrich_batch``), ``run_offline(docs, settings)`` decides
every article with the worker's rule, and ``evaluate(gold, predicted)`` compares. Both mappings are
``{article_id: (story, duplicate_of)}``. ``evaluate_cases(cases, docs, settings)`` does all three and
adds ``errors`` (split and merged stories, missed and wrong duplicates) for ``newsstreams eval``.

How things are counted
----------------------
- **Duplicates**: the pairs ``(article, duplicate_of)``, each side first followed down its chain to
  the original (a copy of a copy counts as a copy of the original). Precision = right predicted
  pairs / predicted pairs, recall = right predicted pairs / gold pairs.
- **Stories**: B-cubed over articles. For an article, precision is the share of its predicted
  story that is in its gold story (itself included), recall the share of its gold story that is in
  its predicted story; both are averaged over all articles, F1 is their harmonic mean. Labels are
  never compared, only groupings.
- **Cross-language**: of the pairs of articles in different languages that share a gold story, the
  share that share a predicted story (recall of the cross-language links alone).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from streams.settings import StoriesSettings
from streams.stories.assign import assign, entity_weights, first_seen_key, in_window, seen_at
from streams.stories.fingerprint import fingerprint

Labels = Mapping[str, tuple[str, str | None]]


class InvalidCase(ValueError):
    """A file of the set that does not follow the format (the message names the file)."""


@dataclass(frozen=True, slots=True)
class StoryCase:
    article: dict
    story: str
    duplicate_of: str | None


def load_cases(directory: str | Path) -> list[StoryCase]:
    """Every ``*.json`` of the directory, by file name; ``InvalidCase`` names a malformed file."""
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        raise InvalidCase(f"{directory}: no *.json files")
    cases, ids = [], set()
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            article, story, dup = data["article"], data["story"], data.get("duplicate_of")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidCase(f"{path}: {exc!r}") from None
        if not isinstance(article, dict) or not isinstance(article.get("id"), str) or not article["id"]:
            raise InvalidCase(f"{path}: article.id must be a non-empty string")
        if not isinstance(story, str) or not story:
            raise InvalidCase(f"{path}: story must be a non-empty string")
        if dup is not None and not isinstance(dup, str):
            raise InvalidCase(f"{path}: duplicate_of must be an article id or null")
        if article["id"] in ids:
            raise InvalidCase(f"{path}: article id {article['id']!r} appears twice")
        ids.add(article["id"])
        cases.append(StoryCase(article, story, dup))
    for case in cases:
        if case.duplicate_of is not None and case.duplicate_of not in ids:
            raise InvalidCase(f"{case.article['id']}: duplicate_of {case.duplicate_of!r} is not in the set")
    return cases


def gold_labels(cases: Sequence[StoryCase]) -> dict[str, tuple[str, str | None]]:
    return {c.article["id"]: (c.story, c.duplicate_of) for c in cases}


def predicted_labels(docs: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, str | None]]:
    return {d["id"]: (d["story_id"], d.get("duplicate_of")) for d in docs}


# -- the offline runner ------------------------------------------------------------------------------


def matches_query(doc: Mapping[str, Any], cand: Mapping[str, Any], settings: StoriesSettings) -> bool:
    """What ``candidate_query`` asks of the index: a shared band key or QID, within the window."""
    if not in_window(seen_at(doc), seen_at(cand), settings):
        return False
    bands = set(doc["fingerprint"]["bands"]) & set((cand.get("fingerprint") or {}).get("bands") or ())
    return bool(bands) or bool(entity_weights(doc, settings).keys() & entity_weights(cand, settings).keys())


def _rank(doc: Mapping[str, Any], cand: Mapping[str, Any], settings: StoriesSettings) -> tuple:
    # The engine's order, roughly: copies first, then more shared QIDs, then the most recent.
    copy = bool(set(doc["fingerprint"]["bands"]) & set(cand["fingerprint"]["bands"]))
    shared = len(entity_weights(doc, settings).keys() & entity_weights(cand, settings).keys())
    when = seen_at(cand)
    return (not copy, -shared, -(when.timestamp() if when else 0.0))


def run_offline(
    docs: Sequence[Mapping[str, Any]], settings: StoriesSettings, *, batch_size: int = 10, sort: bool = True
) -> list[dict]:
    """The worker's rule over enriched articles with an in-memory index: each batch's candidates are
    the earlier articles that pass ``candidate_query``'s filters (its ``max_candidates`` best).
    Articles arrive in publication order (``sort``; else as given). Returns copies of the articles
    with ``story_id``, ``duplicate_of``, ``duplicate_similarity`` and ``fingerprint`` set."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    pending = [{**d, "fingerprint": d.get("fingerprint") or fingerprint(d, settings)} for d in docs]
    if sort:
        pending.sort(key=first_seen_key)
    index: list[dict] = []
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        found = []
        for doc in batch:
            hits = [c for c in index if matches_query(doc, c, settings)]
            found.append(sorted(hits, key=lambda c, doc=doc: _rank(doc, c, settings))[: settings.max_candidates])
        for doc, decision in zip(batch, assign(batch, found, settings), strict=True):
            corrects = decision.pop("corrects", {})
            for earlier in index:
                earlier.update(corrects.get(earlier["id"], {}))
            index.append({**doc, **decision})
    return index


# -- the metrics ------------------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return _ratio(2 * p * r, p + r)


def _root(article: str, labels: Labels) -> str:
    seen = {article}
    while (nxt := labels.get(article, (None, None))[1]) is not None and nxt not in seen:
        seen.add(nxt)
        article = nxt
    return article


def duplicate_scores(gold: Labels, predicted: Labels) -> dict:
    gold_pairs = {(a, _root(a, gold)) for a, (_, d) in gold.items() if d is not None}
    pred_pairs = {(a, _root(a, predicted)) for a, (_, d) in predicted.items() if d is not None}
    right = len(gold_pairs & pred_pairs)
    p, r = _ratio(right, len(pred_pairs)), _ratio(right, len(gold_pairs))
    return {"gold": len(gold_pairs), "predicted": len(pred_pairs), "right": right, "precision": p, "recall": r,
            "f1": _f1(p, r)}  # fmt: skip


def _clusters(labels: Labels) -> dict[str, set[str]]:
    members: dict[str, set[str]] = defaultdict(set)
    for article, (story, _) in labels.items():
        members[story].add(article)
    return {article: members[story] for article, (story, _) in labels.items()}


def bcubed(gold: Labels, predicted: Labels) -> dict:
    """B-cubed precision, recall and F1 of the story grouping (articles of ``gold``)."""
    missing = gold.keys() - predicted.keys()
    if missing:
        raise ValueError(f"no prediction for {len(missing)} article(s), e.g. {sorted(missing)[0]!r}")
    pred = {a: predicted[a] for a in gold}
    g, c = _clusters(gold), _clusters(pred)
    p = sum(len(c[a] & g[a]) / len(c[a]) for a in gold) / len(gold) if gold else 0.0
    r = sum(len(c[a] & g[a]) / len(g[a]) for a in gold) / len(gold) if gold else 0.0
    return {"precision": p, "recall": r, "f1": _f1(p, r)}


def cross_language_recall(gold: Labels, predicted: Labels, languages: Mapping[str, str]) -> dict:
    pairs = [
        (a, b)
        for a, b in combinations(sorted(gold), 2)
        if gold[a][0] == gold[b][0] and languages.get(a) != languages.get(b)
    ]
    joined = sum(predicted[a][0] == predicted[b][0] for a, b in pairs)
    return {"pairs": len(pairs), "joined": joined, "recall": _ratio(joined, len(pairs))}


def errors(gold: Labels, predicted: Labels) -> dict:
    """What went wrong, by article id: stories split over several predicted ones, predicted stories
    that join several gold ones, duplicates missed and duplicate links that are wrong."""
    gold_pairs = {(a, _root(a, gold)) for a, (_, d) in gold.items() if d is not None}
    pred_pairs = {(a, _root(a, predicted)) for a, (_, d) in predicted.items() if d is not None}
    return {
        "split": _spread(gold, predicted),
        "merged": _spread({a: predicted[a] for a in gold}, gold),
        "missed_duplicates": sorted(gold_pairs - pred_pairs),
        "wrong_duplicates": sorted(pred_pairs - gold_pairs),
    }


def _spread(by: Labels, other: Labels) -> dict[str, dict[str, list[str]]]:
    """Stories of ``by`` whose articles fall in several stories of ``other``: {story: {other: ids}}."""
    groups: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for article in sorted(by):
        groups[by[article][0]][other[article][0]].append(article)
    return {story: dict(parts) for story, parts in sorted(groups.items()) if len(parts) > 1}


def evaluate(gold: Labels, predicted: Labels, languages: Mapping[str, str] | None = None) -> dict:
    """Every figure: ``duplicates``, ``stories`` (B-cubed), ``cross_language`` (with ``languages``)."""
    out = {
        "articles": len(gold),
        "gold_stories": len({s for s, _ in gold.values()}),
        "predicted_stories": len({predicted[a][0] for a in gold if a in predicted}),
        "duplicates": duplicate_scores(gold, predicted),
        "stories": bcubed(gold, predicted),
    }
    if languages is not None:
        out["cross_language"] = cross_language_recall(gold, predicted, languages)
    return out


def evaluate_cases(cases: Sequence[StoryCase], docs: Sequence[Mapping[str, Any]], settings: StoriesSettings) -> dict:
    """The whole evaluation of a labelled set: ``docs`` are the cases' articles enriched, in the same
    order. Every figure of ``evaluate`` plus ``errors``; languages are the set's (else detected)."""
    if len(cases) != len(docs):
        raise ValueError(f"{len(cases)} cases but {len(docs)} enriched articles")
    for case, doc in zip(cases, docs, strict=True):
        if doc.get("id") != case.article["id"]:
            raise ValueError(f"enriched article {doc.get('id')!r} is not case {case.article['id']!r}: keep the order")
    gold, predicted = gold_labels(cases), predicted_labels(run_offline(docs, settings))
    languages = {
        c.article["id"]: c.article.get("language") or d.get("language") for c, d in zip(cases, docs, strict=True)
    }
    return {**evaluate(gold, predicted, languages), "errors": errors(gold, predicted)}
