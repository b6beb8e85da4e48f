"""``Enricher``: language -> entities -> topics -> (translations) over a batch of article dicts.

Indexed text and entity offsets
-------------------------------
NER runs once per article over ``title + "\\n\\n" + body`` (the paragraph break keeps a title and
the first body sentence from running into one another, and no multi-word match can span it).
Each entity carries ``field: "title" | "body"`` and ``start``/``end`` **relative to that field**,
so ``article[field][start:end] == text`` always holds; an entity the model puts across the break
is dropped.

Output = the input dict (all fields kept) plus ``language``, ``language_confidence``,
``entities``, ``entity_ids`` / ``entity_names`` (deduplicated, in order of first mention; an
unlinked entity contributes its text as name and no id), ``topics``, ``translations`` and
``pipeline: {version, ner_model, ingested_at, enriched_at}`` (other keys already in the input's
``pipeline`` are kept). ``pipeline.indexed_at`` is the indexer's.

Batches: articles are grouped by detected language and each group goes through its pipeline's
``nlp.pipe`` in one call. Pipelines are built on first use (or by ``warm_up()``), once each.
Pure Python over dicts: no Kafka, no search client.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import streams
from streams.contracts.dates import utc_now_iso
from streams.enrich.clubs import SPORT, as_clubs, club_short_forms
from streams.enrich.entities import EntityPipeline, Mention, build_pipeline, pipeline_language
from streams.enrich.gazetteer import Gazetteer, load_gazetteer
from streams.enrich.language import UND, LanguageDetector
from streams.enrich.models import model_for
from streams.enrich.topics import TopicScorer
from streams.settings import EnrichSettings, Settings
from streams.stories.fingerprint import fingerprint

log = logging.getLogger(__name__)

SEPARATOR = "\n\n"  # between title and body in the text NER runs over
# spaCy's tokenizer strips a token's prefixes and suffixes one at a time and searches the rest of the
# token again after each: a whitespace-free run of punctuation costs time quadratic in its length
# (1 MB of "<?" or of quotes: hours for one article), and every symbol is a token of its own. So NER
# sees a run of symbols as spaces, and in a whitespace-free run longer than ``MAX_RUN_CHARS`` every
# character that is not a letter, digit or combining mark (``ner_text``).
MAX_RUN_CHARS = 32
_NOISE = re.compile(rf"(?P<symbols>[^\w\s]{{3,}})|\S{{{MAX_RUN_CHARS + 1},}}")

# Translation hook: (article, enriched) -> {lang: {"title", "summary", ...}}; a
# ``streams.enrich.translate.Translator`` (``Enricher.from_settings`` builds the configured one).
TranslateFn = Callable[[Mapping[str, Any], Mapping[str, Any]], dict]


@dataclass(frozen=True, slots=True)
class EnrichResult:
    """One article's outcome: the enriched document, or the error that stopped it."""

    doc: dict | None = None
    error: BaseException | None = None


def ner_text(text: str) -> str:
    """``text`` as NER sees it: runs of three or more symbols blanked, long whitespace-free runs
    split at their symbols (``MAX_RUN_CHARS``). Same length, so every offset into it is an offset
    into ``text``."""

    def spaced(m: re.Match) -> str:
        if m.group("symbols"):
            return " " * len(m.group())
        return "".join(c if c.isalnum() or c == "_" or unicodedata.category(c)[0] == "M" else " " for c in m.group())

    return _NOISE.sub(spaced, text)


def compose_text(title: str, body: str) -> tuple[str, int]:
    """The text NER runs over, and where the body starts in it."""
    return f"{title}{SEPARATOR}{body}", len(title) + len(SEPARATOR)


class Enricher:
    def __init__(
        self,
        settings: EnrichSettings,
        *,
        topics_dir: Path | str | None = None,
        gazetteer: Gazetteer | None = None,
        translate: TranslateFn | None = None,
        fingerprint: Callable[[dict], dict] | None = None,
    ):
        self.settings = settings
        self.languages = list(dict.fromkeys(settings.languages))
        self.detector = LanguageDetector(self.languages)
        self.gazetteer = gazetteer or load_gazetteer(self.languages, settings.gazetteer_dir)
        self.topics = TopicScorer.load(topics_dir or settings.topics_dir, self.languages)
        self.translate = translate  # None: translations stay {} (a Translator plugs in here)
        self.fingerprint = fingerprint  # near-duplicate signature (streams.stories), None: not computed
        self._pipelines: dict[str, EntityPipeline] = {}
        self._club_forms: dict[str, dict[str, str]] = {}  # per pipeline language (``clubs``)
        self._lock = threading.RLock()  # re-entrant: an unsupported language borrows "xx"

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Enricher:
        """The Enricher of the worker and the CLI: ``settings.enrich`` + the configured translator."""
        from streams.enrich.translate import make_translator

        kwargs.setdefault("translate", make_translator(settings.translate))
        if settings.stories.enabled:  # here, in the enrich process, not on the index agent's loop
            kwargs.setdefault("fingerprint", partial(fingerprint, settings=settings.stories))
        return cls(settings.enrich, **kwargs)

    # --- pipelines ----------------------------------------------------------------------------

    def pipeline(self, lang: str) -> EntityPipeline:
        """The entity pipeline for a detected language (``und`` -> the multi-language one)."""
        key = pipeline_language(lang)
        if key not in self._pipelines:
            with self._lock:
                if key not in self._pipelines:
                    self._pipelines[key] = self._build(key)
        return self._pipelines[key]

    def _build(self, key: str) -> EntityPipeline:
        started = time.perf_counter()
        choice = model_for(key, self.settings)  # the rule `newsstreams models list` shows
        if choice.served_by != key:
            log.warning("spaCy has no language %r; using the %r pipeline", key, choice.served_by)
            return self.pipeline(choice.served_by)
        pipe = build_pipeline(key, self.gazetteer, choice=choice, spans=False)  # mentions come from user_data
        self._club_forms[key] = club_short_forms(self.gazetteer, key)
        log.info(
            "entity pipeline %s: %s, %d gazetteer patterns, built in %.2fs",
            key,
            pipe.ner_model,
            self.gazetteer.size(key),
            time.perf_counter() - started,
        )
        return pipe

    def warm_up(self, languages: Iterable[str] | None = None) -> dict[str, float]:
        """Build pipelines up front (worker start); returns build seconds per language."""
        took = {}
        for lang in list(languages or self.languages) + [UND]:
            started = time.perf_counter()
            self.pipeline(lang)
            took[pipeline_language(lang)] = round(time.perf_counter() - started, 3)
        return took

    # --- enrichment ---------------------------------------------------------------------------

    def enrich(self, article: Mapping[str, Any]) -> dict:
        """One article; raises what stopped it."""
        result = self.enrich_batch([article])[0]
        if result.error is not None:
            raise result.error
        return result.doc  # type: ignore[return-value]

    def enrich_batch(self, articles: list[Mapping[str, Any]]) -> list[EnrichResult]:
        """One result per article, in input order; never raises for an article's own failure.

        The batch goes through ``nlp.pipe`` at once; if that fails, each article is tried alone so
        only the culprits get an error.
        """
        try:
            return [EnrichResult(doc) for doc in self._enrich_all(articles)]
        except Exception as batch_exc:  # noqa: BLE001 - isolated below, article by article
            if len(articles) > 1:
                log.warning("batch enrichment failed (%s); retrying article by article", batch_exc)
        results = []
        for article in articles:
            try:
                results.append(EnrichResult(self._enrich_all([article])[0]))
            except Exception as exc:  # noqa: BLE001 - the article's own failure, reported in its result
                results.append(EnrichResult(error=exc))
        return results

    def _enrich_all(self, articles: list[Mapping[str, Any]]) -> list[dict]:
        prepared = []
        groups: dict[str, list[int]] = defaultdict(list)
        for i, article in enumerate(articles):
            title = article.get("title") or ""
            body = article.get("body") or ""
            text, body_start = compose_text(title, body)
            lang, conf = self.detector.detect(text, article.get("language"))
            prepared.append((text, body_start, lang, conf))
            groups[pipeline_language(lang)].append(i)

        docs: list[Any] = [None] * len(articles)
        pipes: list[EntityPipeline | None] = [None] * len(articles)
        for key, indices in groups.items():
            pipe = self.pipeline(key)
            texts = [ner_text(prepared[i][0]) for i in indices]
            for i, doc in zip(indices, pipe.nlp.pipe(texts), strict=True):
                docs[i] = doc
                pipes[i] = pipe

        enriched_at = utc_now_iso()
        out = []
        for i, article in enumerate(articles):
            text, body_start, lang, conf = prepared[i]
            doc, pipe = docs[i], pipes[i]
            out.append(self._document(article, text, doc, pipe, lang, conf, body_start, enriched_at))
        return out

    def _document(self, article, text, doc, pipe: EntityPipeline, lang, conf, body_start, enriched_at):
        title_len = body_start - len(SEPARATOR)
        mentions = pipe.mentions(doc, text)
        # Topics: lowercase words (``topics.words``: hyphenated compounds kept whole); title words
        # weigh more; each distinct entity signals once.
        signals = []
        for key in dict.fromkeys(m.key for m in mentions if m.key):
            entry = self.gazetteer.get(key)
            if entry is not None:
                signals.append([entry.key, *([entry.id] if entry.id else [])] + [f"tag:{t}" for t in entry.tags])
        topics = self.topics.score_text(lang, text, title=text[:title_len], entity_signals=signals)
        if topics and topics[0]["code"] == SPORT:  # "Bayern", "Napoli": the club, not the place
            mentions = as_clubs(mentions, text, pipe.lang, self._club_forms[pipe.lang])
        entities = self._entities(mentions, text, title_len, body_start)
        # Bounded record: a body that repeats names thousands of times must not make a record the
        # broker refuses. The total is kept; ids and names come from all mentions, deduplicated.
        entity_count, cap = len(entities), self.settings.max_entities

        result = copy.deepcopy(dict(article))
        result.update(
            language=lang,
            language_confidence=None if conf is None else round(conf, 4),
            entities=entities[:cap],
            entity_count=entity_count,
            entity_ids=list(dict.fromkeys(e["id"] for e in entities if e["id"]))[:cap],
            entity_names=list(dict.fromkeys(e["name"] for e in entities))[:cap],
            topics=topics,
            translations={},
        )
        if self.translate is not None:
            # Translation hook: a failure must never block indexing (the Translator records it).
            try:
                result["translations"] = self.translate(article, result) or {}
            except Exception as exc:  # noqa: BLE001 - a translator never blocks indexing
                log.warning("translation failed for %s: %s", article.get("id"), exc)
        pipeline = dict(article.get("pipeline") or {})
        pipeline.update(
            version=streams.__version__,
            ner_model=pipe.ner_model,
            ingested_at=pipeline.get("ingested_at"),
            enriched_at=enriched_at,
        )
        result["pipeline"] = pipeline
        if self.fingerprint is not None:
            result["fingerprint"] = self.fingerprint(result)
        return result

    def _entities(self, mentions: list[Mention], text: str, title_len: int, body_start: int) -> list[dict]:
        """The output entities of ``mentions``; one across the title/body break is dropped."""
        get = self.gazetteer.entries.get
        out = []
        for start, end, label, source, key in mentions:
            if end <= title_len:
                field, offset = "title", 0
            elif start >= body_start:
                field, offset = "body", body_start
            else:
                continue  # across the title/body break
            entry = get(key) if key else None
            surface = text[start:end]
            out.append(
                {
                    "text": surface,
                    "label": label,
                    "start": start - offset,
                    "end": end - offset,
                    "field": field,
                    "id": entry.id if entry else None,
                    "name": entry.name if entry else surface,
                    "source": source,
                }
            )
        return out
