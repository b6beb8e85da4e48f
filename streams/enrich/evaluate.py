"""Evaluation of the enrichment against hand-annotated articles (``newsstreams eval DIR``).

Pure Python over dicts: ``load_cases(directory)`` reads the annotated set, the caller enriches
``[case.article for case in cases]`` (``Enricher.enrich_batch``), and ``evaluate(cases, docs)``
compares. The annotation format is documented in ``docs/EVALUATION.md``; in short, one JSON file
per article::

    {"article": {"id": "...", "title": "...", "body": "..."},
     "gold": {"language": "nl",
              "entities": [{"text": "Poetin", "label": "PER", "id": "Q7747"}, ...],
              "topics": ["medtop:11000000", "medtop:16000000"]}}

How things are counted
----------------------
- **Entities** are matched per article as a *set* of ``(surface text, label)`` pairs: an entity
  mentioned five times counts once, and a prediction is right when the same exact surface
  (case-sensitive, whitespace collapsed) carries the same label anywhere in the title or body.
  Offsets are not compared. Precision, recall and F1 are micro-averaged over articles, per
  language (the gold language), per label, and in total.
- **Linking** is measured on gold entities that have a QID, deduplicated per article by
  ``(text, QID)``. Such an entity is *found* when any predicted entity has the same surface text
  (whatever its label: linking is judged apart from typing). A found entity is *correct* when a
  prediction with that text carries the gold QID, *wrong* when predictions with that text carry
  only other QIDs, *unlinked* when they carry none. ``accuracy = correct / found``;
  ``recall = correct / gold with QID``. Gold entities without a QID (``id: null`` means "not
  identifiable, or the annotator was not sure") are never counted as wrongly linked; links the
  system gives them are reported apart (``linked_without_gold_qid``).
- **Topics**: an article is a hit when one of its (up to 3) predicted topics is a gold topic;
  ``accuracy = hits / articles with gold topics``. ``top1`` counts the best topic alone.
- **Language**: detected language == gold language.
- **Models**: the ``pipeline.ner_model`` values seen per detected language.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streams.enrich.gazetteer import ENTITY_TYPES, QID
from streams.enrich.topics import topic_code

_LANG = re.compile(r"^[a-z]{2,3}$")
_SPACE = re.compile(r"\s+")
FIELDS = ("title", "body")


class InvalidCase(ValueError):
    """An annotation file that does not follow the format (the message names the file)."""


def norm_text(text: str) -> str:
    """Surface text as compared: whitespace collapsed, case kept."""
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class GoldEntity:
    text: str
    label: str
    id: str | None = None


@dataclass(frozen=True)
class Case:
    name: str  # file name relative to the set's directory
    article: dict[str, Any]
    language: str
    entities: tuple[GoldEntity, ...]
    topics: tuple[str, ...]
    meta: dict[str, Any] = field(default_factory=dict)


# --- loading ----------------------------------------------------------------------------------


def parse_case(data: Any, name: str = "<case>") -> Case:
    """One annotation object -> ``Case``; ``InvalidCase`` says what is wrong and where."""

    def bad(message: str) -> InvalidCase:
        return InvalidCase(f"{name}: {message}")

    if not isinstance(data, dict):
        raise bad("expected an object with 'article' and 'gold'")
    article, gold = data.get("article"), data.get("gold")
    if not isinstance(article, dict) or not isinstance(gold, dict):
        raise bad("expected an object with 'article' and 'gold' objects")
    for f in FIELDS:
        if not isinstance(article.get(f), str) or not article[f].strip():
            raise bad(f"article.{f} must be a non-empty string")
    language = gold.get("language")
    if not isinstance(language, str) or not _LANG.match(language):
        raise bad(f"gold.language must be an ISO 639-1 code, got {language!r}")

    entities: dict[tuple[str, str], GoldEntity] = {}
    for i, raw in enumerate(gold.get("entities") or []):
        where = f"gold.entities[{i}]"
        if not isinstance(raw, dict):
            raise bad(f"{where} must be an object")
        text, label, qid = raw.get("text"), raw.get("label"), raw.get("id")
        if not isinstance(text, str) or not norm_text(text):
            raise bad(f"{where}.text must be a non-empty string")
        if label not in ENTITY_TYPES:
            raise bad(f"{where}.label must be one of {', '.join(ENTITY_TYPES)}, got {label!r}")
        if qid is not None and (not isinstance(qid, str) or not QID.match(qid)):
            raise bad(f"{where}.id must be a Wikidata QID (Q123) or null, got {qid!r}")
        if not any(text in article[f] for f in FIELDS):
            raise bad(f"{where}: {text!r} occurs in neither the title nor the body")
        if "field" in raw or "start" in raw or "end" in raw:  # optional offsets: must be right
            f, start, end = raw.get("field"), raw.get("start"), raw.get("end")
            if (
                f not in FIELDS
                or not isinstance(start, int)
                or not isinstance(end, int)
                or article[f][start:end] != text
            ):
                raise bad(f"{where}: offsets {f}[{start}:{end}] do not give {text!r}")
        key = (norm_text(text), label)
        previous = entities.get(key)
        if previous is not None and previous.id != qid:
            raise bad(f"{where}: {text!r} ({label}) is annotated with two ids, {previous.id!r} and {qid!r}")
        entities[key] = GoldEntity(key[0], label, qid)

    topics_raw = gold.get("topics") or []
    if not isinstance(topics_raw, list):
        raise bad("gold.topics must be a list of IPTC codes")
    try:
        topics = tuple(dict.fromkeys(topic_code(t) for t in topics_raw))
    except ValueError as exc:
        raise bad(f"gold.topics: {exc}") from None
    meta = {k: v for k, v in data.items() if k not in ("article", "gold")}
    return Case(name, dict(article), language, tuple(entities.values()), topics, meta)


def load_cases(directory: Path | str) -> list[Case]:
    """Every ``*.json`` file under ``directory`` (recursive, sorted, hidden entries skipped)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidCase(f"{directory}: not a directory")
    cases = []
    for path in sorted(directory.rglob("*.json")):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidCase(f"{rel}: {exc}") from None
        cases.append(parse_case(data, str(rel.with_suffix(""))))
    if not cases:
        raise InvalidCase(f"{directory}: no annotated articles (*.json)")
    ids = Counter(str(c.article.get("id")) for c in cases if c.article.get("id"))
    dupes = [i for i, n in ids.items() if n > 1]
    if dupes:
        raise InvalidCase(f"{directory}: article ids used more than once: {', '.join(dupes)}")
    return cases


# --- counting ---------------------------------------------------------------------------------


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    @property
    def gold(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:  # None: nothing predicted, precision undefined
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:  # None: nothing to find
        return self.tp / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:  # 2PR/(P+R) = 2tp/(2tp+fp+fn); None when there is nothing
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _r(self.precision),
            "recall": _r(self.recall),
            "f1": _r(self.f1),
        }


@dataclass
class Linking:
    gold_with_qid: int = 0
    found: int = 0
    correct: int = 0
    wrong: int = 0
    unlinked: int = 0
    linked_without_gold_qid: int = 0

    def merge(self, other: Linking) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.correct / self.gold_with_qid if self.gold_with_qid else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "gold_with_qid": self.gold_with_qid,
            "found": self.found,
            "correct": self.correct,
            "wrong": self.wrong,
            "unlinked": self.unlinked,
            "linked_without_gold_qid": self.linked_without_gold_qid,
            "accuracy": _r(self.accuracy),
            "recall": _r(self.recall),
        }


@dataclass
class Share:
    hits: int = 0
    total: int = 0

    def add(self, hit: bool) -> None:
        self.hits += bool(hit)
        self.total += 1

    @property
    def accuracy(self) -> float | None:
        return self.hits / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "total": self.total, "accuracy": _r(self.accuracy)}


@dataclass
class LanguageRow:
    """Everything measured over the articles of one gold language (or all of them)."""

    articles: int = 0
    entities: PRF = field(default_factory=PRF)
    linking: Linking = field(default_factory=Linking)
    topics: Share = field(default_factory=Share)
    topics_top1: Share = field(default_factory=Share)
    no_topics: int = 0
    language: Share = field(default_factory=Share)
    models: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "entities": self.entities.to_dict(),
            "linking": self.linking.to_dict(),
            "topics": self.topics.to_dict(),
            "topics_top1": self.topics_top1.to_dict(),
            "no_topics": self.no_topics,
            "language": self.language.to_dict(),
            "models": dict(self.models),
        }


@dataclass
class CaseResult:
    name: str
    id: Any
    gold_language: str
    language: str | None
    model: str | None
    missed: list[tuple[str, str]]
    spurious: list[tuple[str, str]]
    linking: Linking
    wrong_links: list[dict[str, Any]]
    gold_topics: list[str]
    topics: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "gold_language": self.gold_language,
            "language": self.language,
            "model": self.model,
            "missed": [list(x) for x in self.missed],
            "spurious": [list(x) for x in self.spurious],
            "wrong_links": self.wrong_links,
            "gold_topics": self.gold_topics,
            "topics": self.topics,
        }


@dataclass
class Report:
    total: LanguageRow
    by_language: dict[str, LanguageRow]
    by_type: dict[str, PRF]
    models: dict[str, list[str]]  # detected language -> ner_model values
    cases: list[CaseResult]

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.total.articles,
            "entities": {
                "micro": self.total.entities.to_dict(),
                "by_type": {t: p.to_dict() for t, p in self.by_type.items()},
                "by_language": {k: r.entities.to_dict() for k, r in self.by_language.items()},
            },
            "linking": {
                **self.total.linking.to_dict(),
                "by_language": {k: r.linking.to_dict() for k, r in self.by_language.items()},
            },
            "topics": {
                **self.total.topics.to_dict(),
                "top1": self.total.topics_top1.to_dict(),
                "no_topics": self.total.no_topics,
                "by_language": {k: r.topics.to_dict() for k, r in self.by_language.items()},
            },
            "language": {
                **self.total.language.to_dict(),
                "by_language": {k: r.language.to_dict() for k, r in self.by_language.items()},
            },
            "models": self.models,
            "by_language": {k: r.to_dict() for k, r in self.by_language.items()},
            "cases": [c.to_dict() for c in self.cases],
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _predicted_entities(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e for e in doc.get("entities") or [] if isinstance(e, Mapping) and e.get("text")]


def link_case(
    gold: Iterable[GoldEntity], predicted: Iterable[Mapping[str, Any]]
) -> tuple[Linking, list[dict[str, Any]]]:
    """Linking counts of one article, and its wrong links (see the module docstring)."""
    ids_by_text: dict[str, set[str]] = defaultdict(set)
    seen_texts: set[str] = set()
    for e in predicted:
        text = norm_text(str(e["text"]))
        seen_texts.add(text)
        if e.get("id"):
            ids_by_text[text].add(str(e["id"]))
    counts, wrong = Linking(), []
    gold = list(gold)
    with_qid = {(g.text, g.id) for g in gold if g.id}
    for text, qid in sorted(with_qid):
        counts.gold_with_qid += 1
        if text not in seen_texts:
            continue
        counts.found += 1
        ids = ids_by_text.get(text, set())
        if qid in ids:
            counts.correct += 1
        elif ids:
            counts.wrong += 1
            wrong.append({"text": text, "gold": qid, "predicted": sorted(ids)})
        else:
            counts.unlinked += 1
    texts_with_qid = {text for text, _ in with_qid}
    for text in sorted({g.text for g in gold if not g.id} - texts_with_qid):
        if ids_by_text.get(text):
            counts.linked_without_gold_qid += 1
    return counts, wrong


def evaluate(cases: Sequence[Case], docs: Sequence[Mapping[str, Any]]) -> Report:
    """Compare enriched documents with the gold annotation, case by case (same order)."""
    if len(cases) != len(docs):
        raise ValueError(f"{len(cases)} cases but {len(docs)} enriched documents")
    total = LanguageRow()
    by_language: dict[str, LanguageRow] = {}
    by_type = {t: PRF() for t in ENTITY_TYPES}
    models: dict[str, Counter] = defaultdict(Counter)
    results = []
    for case, doc in zip(cases, docs, strict=True):
        row = by_language.setdefault(case.language, LanguageRow())
        predicted = _predicted_entities(doc)
        gold_set = {(g.text, g.label) for g in case.entities}
        pred_set = {(norm_text(str(e["text"])), str(e.get("label"))) for e in predicted}
        tp, fp, fn = gold_set & pred_set, pred_set - gold_set, gold_set - pred_set
        for r in (row, total):
            r.articles += 1
            r.entities.add(len(tp), len(fp), len(fn))
        for label, prf in by_type.items():
            prf.add(
                sum(1 for _, lab in tp if lab == label),
                sum(1 for _, lab in fp if lab == label),
                sum(1 for _, lab in fn if lab == label),
            )
        for _, label in fp:  # a label outside PER/LOC/ORG/MISC still counts against precision
            if label not in by_type:
                by_type.setdefault(label, PRF()).add(0, 1, 0)

        linking, wrong = link_case(case.entities, predicted)
        row.linking.merge(linking)
        total.linking.merge(linking)

        topics = [str(t.get("code")) for t in doc.get("topics") or [] if isinstance(t, Mapping)]
        if case.topics:
            hit = any(t in case.topics for t in topics[:3])
            top1 = bool(topics) and topics[0] in case.topics
            for r in (row, total):
                r.topics.add(hit)
                r.topics_top1.add(top1)
        if not topics:
            row.no_topics += 1
            total.no_topics += 1

        detected = doc.get("language")
        for r in (row, total):
            r.language.add(detected == case.language)
        model = (doc.get("pipeline") or {}).get("ner_model")
        if model:
            row.models[model] += 1
            total.models[model] += 1
            models[str(detected)][model] += 1

        results.append(
            CaseResult(
                name=case.name,
                id=case.article.get("id"),
                gold_language=case.language,
                language=detected,
                model=model,
                missed=sorted(fn),
                spurious=sorted(fp),
                linking=linking,
                wrong_links=wrong,
                gold_topics=list(case.topics),
                topics=topics,
            )
        )
    return Report(
        total=total,
        by_language=dict(sorted(by_language.items())),
        by_type=by_type,
        models={lang: sorted(c) for lang, c in sorted(models.items())},
        cases=results,
    )
