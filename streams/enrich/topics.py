"""Topics: IPTC Media Topics top-level codes from multilingual stem lexicons plus entity signals.

Lexicons live in ``<topics_dir>/<lang>.yaml``::

    topics:
      "11000000":            # politics (the medtop: prefix is optional)
        - regering           # a stem: counts every lowercase token that starts with it
        - wet$               # a trailing $: the whole token only ("wet" must not count "weten")

and entity signals in ``<topics_dir>/signals.yaml``, keyed by entity id (QID or gazetteer key) or
``tag:<gazetteer tag>``::

    signals:
      Q7184: {"16000000": 2.0, "11000000": 1.0}       # NATO
      "tag:head-of-state": {"11000000": 1.0}

Scoring, per topic: evidence = token hits (a token counts once per topic; title tokens count
``title_weight`` times) + the signal weights of each distinct entity. The score saturates with
evidence relative to text length: ``1 - exp(-evidence / (1 + tokens / 100))``, so a short text
with two clear hits and a long one with twenty both score high, and nothing scores 0 only when
there is no evidence. Up to ``max_topics`` topics at or above ``threshold``, best first; none -> [].

Tokens (``words``): lowercase runs of letters, with inner hyphens and apostrophes kept ("covid-19"
-> "covid", "rock'n'roll" stays whole). ``score_text`` scores a text directly and gives the same
result as ``score`` over ``words(text)``, faster: no token can cross whitespace, so the text is split
on whitespace and each distinct chunk's tokens and topic hits are remembered per lexicon (news
repeats its words: most chunks are known after a few articles).
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

# IPTC Media Topics, top level (https://cv.iptc.org/newscodes/mediatopic/).
IPTC_TOP_LEVEL: dict[str, str] = {
    "medtop:01000000": "arts, culture, entertainment and media",
    "medtop:02000000": "crime, law and justice",
    "medtop:03000000": "disaster, accident and emergency incident",
    "medtop:04000000": "economy, business and finance",
    "medtop:05000000": "education",
    "medtop:06000000": "environment",
    "medtop:07000000": "health",
    "medtop:08000000": "human interest",
    "medtop:09000000": "labour",
    "medtop:10000000": "lifestyle and leisure",
    "medtop:11000000": "politics",
    "medtop:12000000": "religion",
    "medtop:13000000": "science and technology",
    "medtop:14000000": "society",
    "medtop:15000000": "sport",
    "medtop:16000000": "conflict, war and peace",
    "medtop:17000000": "weather",
}

_MAX_CACHE = 200_000  # distinct tokens (and chunks) remembered per lexicon before the cache is reset
WORDS = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")  # letters, inner hyphens/apostrophes


def words(text: str) -> list[str]:
    """The lowercase tokens topics are scored on."""
    return WORDS.findall(text.lower())


def topic_code(raw: object) -> str:
    code = str(raw).strip()
    if not code.startswith("medtop:"):
        code = f"medtop:{code.zfill(8)}"
    if code not in IPTC_TOP_LEVEL:
        raise ValueError(f"unknown IPTC top-level media topic {raw!r}")
    return code


@dataclass
class Lexicon:
    """Stems -> topic codes, with a per-token cache (news text repeats its words)."""

    prefixes: dict[str, frozenset[str]] = field(default_factory=dict)
    exact: dict[str, frozenset[str]] = field(default_factory=dict)
    _cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _chunks: dict[str, tuple[int, tuple[tuple[str, int], ...]] | int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._lengths = sorted({len(p) for p in self.prefixes})

    @classmethod
    def from_mapping(cls, topics: Mapping[object, Iterable[str]]) -> Lexicon:
        prefixes: dict[str, set[str]] = defaultdict(set)
        exact: dict[str, set[str]] = defaultdict(set)
        for raw_code, stems in topics.items():
            code = topic_code(raw_code)
            for stem in stems or []:
                stem = str(stem).strip().lower()
                if stem.endswith("$"):
                    exact[stem[:-1]].add(code)
                elif stem:
                    prefixes[stem].add(code)
        return cls(
            {k: frozenset(v) for k, v in prefixes.items()},
            {k: frozenset(v) for k, v in exact.items()},
        )

    @classmethod
    def merged(cls, lexicons: Iterable[Lexicon]) -> Lexicon:
        prefixes: dict[str, set[str]] = defaultdict(set)
        exact: dict[str, set[str]] = defaultdict(set)
        for lex in lexicons:
            for k, v in lex.prefixes.items():
                prefixes[k] |= v
            for k, v in lex.exact.items():
                exact[k] |= v
        return cls(
            {k: frozenset(v) for k, v in prefixes.items()},
            {k: frozenset(v) for k, v in exact.items()},
        )

    def topics_of(self, token: str) -> frozenset[str]:
        """Topic codes of one lowercase token."""
        hit = self._cache.get(token)
        if hit is not None:
            return hit
        codes: set[str] = set(self.exact.get(token, ()))
        for n in self._lengths:
            if n > len(token):
                break
            found = self.prefixes.get(token[:n])
            if found:
                codes |= found
        result = frozenset(codes)
        if len(self._cache) >= _MAX_CACHE:
            self._cache.clear()
        self._cache[token] = result
        return result

    def chunk(self, chunk: str) -> tuple[int, tuple[tuple[str, int], ...]]:
        """(tokens in a whitespace-free chunk, ((code, hits), ...) over those tokens), as ``words``
        sees it: lowercased here (a chunk lowercased alone is the same as within its text)."""
        lower = chunk.lower()
        tokens = [lower] if lower.isalpha() else WORDS.findall(lower)
        hits: dict[str, int] = {}
        for token in tokens:
            for code in self.topics_of(token):
                hits[code] = hits.get(code, 0) + 1
        return len(tokens), tuple(hits.items())

    def remember(self, chunk: str) -> tuple[int, tuple[tuple[str, int], ...]] | int:
        """What ``score_text`` keeps of a chunk: 0 for the usual one token without a topic, else
        (tokens - 1, hits)."""
        count, hits = self.chunk(chunk)
        result = 0 if count == 1 and not hits else (count - 1, hits)
        if len(self._chunks) >= _MAX_CACHE:
            self._chunks.clear()
        self._chunks[chunk] = result
        return result


_UNSEEN = (None,)  # truthy: a chunk not seen yet
_SECOND = itemgetter(1)


class TopicScorer:
    def __init__(
        self,
        lexicons: Mapping[str, Lexicon],
        signals: Mapping[str, Mapping[str, float]] | None = None,
        *,
        threshold: float = 0.4,
        max_topics: int = 3,
        title_weight: float = 2.0,
    ):
        self.lexicons = dict(lexicons)
        self._any = Lexicon.merged(self.lexicons.values())  # for undetermined text
        self.signals = {k: dict(v) for k, v in (signals or {}).items()}
        self.threshold = threshold
        self.max_topics = max_topics
        self.title_weight = title_weight

    @classmethod
    def load(cls, directory: Path | str, languages: Iterable[str] | None = None, **kw) -> TopicScorer:
        directory = Path(directory)
        wanted = set(languages) if languages is not None else None
        lexicons = {}
        for path in sorted(directory.glob("*.yaml")):
            if path.stem == "signals" or (wanted is not None and path.stem not in wanted):
                continue
            data = _read_yaml(path)
            lexicons[path.stem] = Lexicon.from_mapping(data.get("topics") or {})
        signals: dict[str, dict[str, float]] = {}
        signal_file = directory / "signals.yaml"
        if signal_file.exists():
            for key, weights in (_read_yaml(signal_file).get("signals") or {}).items():
                signals[str(key)] = {topic_code(c): float(w) for c, w in (weights or {}).items()}
        if not lexicons:
            log.warning("topics: no lexicons in %s; only entity signals can give topics", directory)
        return cls(lexicons, signals, **kw)

    def lexicon(self, lang: str) -> Lexicon:
        return self.lexicons.get(lang) or self._any

    def score(
        self,
        lang: str,
        tokens: Iterable[str],
        *,
        title_tokens: Iterable[str] = (),
        entity_signals: Iterable[Iterable[str]] = (),
    ) -> list[dict]:
        """Topics for lowercase ``tokens`` (body and title) of a text in ``lang``.

        ``title_tokens`` are counted again with ``title_weight - 1``; ``entity_signals`` holds, per
        distinct entity, the keys to look up in the signal map (its id, its tags as ``tag:<t>``).
        """
        lexicon = self.lexicon(lang)
        evidence: dict[str, float] = defaultdict(float)
        n = 0
        for token in tokens:
            n += 1
            for code in lexicon.topics_of(token):
                evidence[code] += 1.0
        return self._finish(lexicon, evidence, n, title_tokens, entity_signals)

    def score_text(
        self,
        lang: str,
        text: str,
        *,
        title: str = "",
        entity_signals: Iterable[Iterable[str]] = (),
    ) -> list[dict]:
        """``score(lang, words(text), title_tokens=words(title), ...)``, the same floats, faster."""
        lexicon = self.lexicon(lang)
        evidence: dict[str, float] = defaultdict(float)
        parts = text.split()
        n = len(parts)
        for more, hits in self._chunks(lexicon, parts):
            n += more
            for code, k in hits:
                evidence[code] += k  # whole numbers: exact in any order, as one by one
        if title and self.title_weight != 1.0:
            extra = self.title_weight - 1.0
            for _, hits in self._chunks(lexicon, title.split()):
                for code, k in hits:
                    for _ in range(k):  # one by one, as ``score`` adds them
                        evidence[code] += extra
        return self._finish(lexicon, evidence, n, (), entity_signals)

    @staticmethod
    def _chunks(lexicon: Lexicon, parts: list[str]) -> Iterable[tuple[int, tuple[tuple[str, int], ...]]]:
        """(tokens - 1, hits) of the chunks that have more than one plain token: most chunks are one
        token without a topic, remembered as 0 and dropped by ``filter`` without a turn of a loop."""
        for part, seen in filter(_SECOND, zip(parts, map(lexicon._chunks.get, parts, repeat(_UNSEEN)), strict=True)):
            if seen is _UNSEEN:
                seen = lexicon.remember(part)
                if not seen:
                    continue
            yield seen

    def _finish(self, lexicon, evidence, n, title_tokens, entity_signals) -> list[dict]:
        if self.title_weight != 1.0:
            for token in title_tokens:
                for code in lexicon.topics_of(token):
                    evidence[code] += self.title_weight - 1.0
        for keys in entity_signals:
            best: dict[str, float] = {}
            for key in keys:  # an entity's id and tags may both carry a signal: take the strongest
                for code, weight in self.signals.get(key, {}).items():
                    best[code] = max(best.get(code, 0.0), weight)
            for code, weight in best.items():
                evidence[code] += weight
        scale = 1.0 + n / 100.0
        scored = [(code, 1.0 - math.exp(-ev / scale)) for code, ev in evidence.items() if ev > 0]
        scored.sort(key=lambda cs: (-cs[1], cs[0]))
        return [
            {"code": code, "label": IPTC_TOP_LEVEL[code], "score": round(score, 3)}
            for code, score in scored[: self.max_topics]
            if score >= self.threshold
        ]


def _read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data
