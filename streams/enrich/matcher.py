"""Gazetteer matching whose cost does not grow with the number of aliases.

spaCy's span ruler adds one phrase-matcher key per entity: at Wikidata scale (100k-1M aliases)
adding the patterns takes minutes and gigabytes, and matching slows down with the number of keys.
Here every surface form of the gazetteer is one entry of two shared tables, keyed by the ORTH ids
of its tokens (spaCy's string ids: the hash of the text, or a symbol's id for "X", "ORG", ...):

- ``first``: token hash -> (value of the one-token key or None, whether longer keys start there);
- ``multi``: tuple of token hashes -> value, for keys of two tokens or more;
- ``prefixes``: proper prefixes of the multi-token keys, so that a scan stops as soon as no key can
  continue;
- a value is a surface id (``Gazetteer.surface_list``), or, when one token sequence is the key of
  several forms, a tuple of ``(surface id, tag)`` candidates.

A document is scanned once: a dict lookup per token, plus a short walk where a key starts. The
match is then resolved through the language's table (surface id -> entry, ``Gazetteer.table``).

The semantics are the span ruler's with ``phrase_matcher_attr: ORTH``:

- a form matches where the document's tokens are the form's tokens under the pipeline's tokenizer
  (case-sensitive, whitespace between tokens ignored), with every match kept, nested and
  overlapping ones included (the merge keeps the longest);
- a form's tokens are its space-separated words when the tokenizer would keep each word whole
  (no special case, prefix, suffix or infix applies: ``_whole``). Shared by all languages, these
  keys cost nothing per language. Forms the tokenizer splits otherwise ("Putin's", "U.S.",
  "EU-landen") are tokenised by the pipeline's own tokenizer and entered with the pipeline's tag;
  their space-separated key is then ignored for that pipeline;
- where two entries match the same tokens (two forms with the same tokens), the ruler kept both
  spans and the merge took the first in spaCy's span order: here that one alone is kept.

Matches go, ready for the merge, to ``doc.user_data[MATCHES_KEY]`` as ``Mention``s, and, when the
component is made with ``spans=True`` (the default; the Enricher, which never reads them, turns it
off), to ``doc.spans[SPANS_KEY]`` as spans with the entity type as label and the entry key as ``id``,
as the ruler wrote them.
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from array import array
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from streams.enrich.gazetteer import Gazetteer

SPANS_KEY = "gazetteer"
MATCHES_KEY = ("newsstreams", "gazetteer")  # doc.user_data: [Mention, ...] of the gazetteer matches
FACTORY = "newsstreams_gazetteer"


class Mention(NamedTuple):
    start: int  # character offsets in the text the pipeline ran over
    end: int
    label: str
    source: str  # "model" | "gazetteer" | "rule" (streams.enrich.rules)
    key: str | None = None  # gazetteer entry key when linked


class SurfaceIndex:
    """The token keys of one gazetteer's surface forms (module docstring), for all its pipelines."""

    def __init__(self, gaz: Gazetteer):
        self.gaz = gaz
        self.first: dict[int, tuple[int | tuple | None, bool]] = {}
        self.multi: dict[tuple[int, ...], int | tuple] = {}
        self.prefixes: set[tuple[int, ...]] = set()
        self.word_ids: dict[str, int] = {}
        self.words: list[str] = []
        self.word_of: array = array("i")  # the words of every surface, concatenated ...
        self.first_word: array = array("q", [0])  # ... surface id -> its first position there
        self.tags = itertools.count()
        self._lock = threading.Lock()

    @property
    def indexed(self) -> int:
        return len(self.first_word) - 1

    def extend(self) -> None:
        """Index the surface forms added to the gazetteer since the last call (all, the first time)."""
        with self._lock:
            surfaces = self.gaz.surface_list
            word_ids, words, word_of = self.word_ids, self.words, self.word_of
            hashes: list[int] = [get_string_id(w) for w in words]
            for sid in range(self.indexed, len(surfaces)):
                key = []
                for word in surfaces[sid].split(" "):
                    wid = word_ids.get(word)
                    if wid is None:
                        wid = word_ids[word] = len(words)
                        words.append(word)
                        hashes.append(get_string_id(word))
                    word_of.append(wid)
                    key.append(hashes[wid])
                self.first_word.append(len(word_of))
                self.put(tuple(key), sid, None)

    def put(self, key: tuple[int, ...], sid: int, tag: int | None) -> None:
        """Enter surface ``sid`` under ``key``: for every pipeline (tag None) or for one."""
        first = self.first
        head = first.get(key[0], (None, False))
        if len(key) == 1:
            head = (_add(head[0], sid, tag), head[1])
        else:
            self.multi[key] = _add(self.multi.get(key), sid, tag)
            head = (head[0], True)
            for n in range(2, len(key)):
                self.prefixes.add(key[:n])
        first[key[0]] = head

    def words_of(self, sid: int) -> list[int]:
        return self.word_of[self.first_word[sid] : self.first_word[sid + 1]].tolist()


def _add(old: int | tuple | None, sid: int, tag: int | None) -> int | tuple:
    """A key's value with one more surface: an id alone while it is the only, untagged one."""
    if old is None:
        return sid if tag is None else ((sid, tag),)
    known = ((old, None),) if type(old) is int else old
    return known if (sid, tag) in known else (*known, (sid, tag))


_INDEXES: weakref.WeakKeyDictionary[Gazetteer, SurfaceIndex] = weakref.WeakKeyDictionary()
_INDEXES_LOCK = threading.Lock()


def surface_index(gaz: Gazetteer) -> SurfaceIndex:
    """The gazetteer's shared index, extended to its current surface forms."""
    with _INDEXES_LOCK:
        index = _INDEXES.get(gaz)
        if index is None:
            index = _INDEXES[gaz] = SurfaceIndex(gaz)
    if index.indexed < len(gaz.surface_list):
        index.extend()
    return index


def _whole(tokenizer) -> Callable[[str], bool]:
    """word -> True when ``tokenizer`` surely keeps it as one token (no special case, affix, infix).

    Mirrors spaCy's tokenizer on a whitespace-free string: a special case applies, or prefixes and
    suffixes are split off, or infixes split the rest; none of these: one token. (Whatever else, such
    as ``token_match``, can only keep a string whole.) False means "ask the tokenizer".
    """
    rules = tokenizer.rules or {}
    prefix, suffix, infix = tokenizer.prefix_search, tokenizer.suffix_search, tokenizer.infix_finditer

    def whole(word: str) -> bool:
        if word in rules:
            return False
        if prefix is not None and (m := prefix(word)) is not None and m.end() > m.start():
            return False
        if suffix is not None and (m := suffix(word)) is not None and m.end() > m.start():
            return False
        return infix is None or next(iter(infix(word)), None) is None

    return whole


def _scratch(tokenizer: Tokenizer) -> Tokenizer:
    """The same tokenizer over a vocabulary of its own, to tokenise surface forms with.

    Tokenising forms with the pipeline's own tokenizer would add their words to its vocabulary;
    past 10,000 lexemes spaCy stops adding words (they stay out of vocabulary) and the tokenizer
    stops caching the chunks that contain them: a large gazetteer would then slow down every
    document. Token ids (ORTH) are string hashes, the same whatever the vocabulary."""
    return Tokenizer(
        Vocab(strings=[]),
        rules=tokenizer.rules,
        prefix_search=tokenizer.prefix_search,
        suffix_search=tokenizer.suffix_search,
        infix_finditer=tokenizer.infix_finditer,
        token_match=tokenizer.token_match,
        url_match=tokenizer.url_match,
        faster_heuristics=tokenizer.faster_heuristics,
    )


class GazetteerMatcher:
    """The pipeline component (``FACTORY``): gazetteer matches of one language (module docstring)."""

    def __init__(self, name: str = SPANS_KEY, spans: bool = True):
        self.name = name
        self.spans = spans
        self.ready = False

    def configure(self, nlp: Language, gaz: Gazetteer, lang: str) -> GazetteerMatcher:
        """Index ``gaz``'s forms of ``lang`` for this pipeline's tokenizer (already tuned)."""
        self.gaz, self.lang = gaz, lang
        self.table = gaz.table(lang)
        self.index = index = surface_index(gaz)
        self.tag = next(index.tags)
        self.apart: set[int] = set()  # surfaces whose space-separated key is not theirs here
        self.types = [entry.type for entry in gaz.entry_list]
        strings = nlp.vocab.strings
        self._order = lambda e: (strings[self.types[e]], strings[gaz.keys[e]])  # spaCy's span order
        tokenizer = _scratch(nlp.tokenizer)
        table = np.frombuffer(self.table, dtype=np.int32)
        present = np.flatnonzero(table >= 0)
        starts = np.array(index.first_word[: len(table) + 1], dtype=np.int64)
        word_of = np.array(index.word_of[: starts[-1]], dtype=np.int64)
        # The words of this language's forms that the tokenizer might split (each word once), then
        # the forms with such a word.
        used = np.zeros(len(index.words), dtype=bool)
        lengths = np.diff(starts)
        in_table = np.zeros(len(table), dtype=bool)
        in_table[present] = True
        used[word_of[np.repeat(in_table, lengths)]] = True
        whole = _whole(tokenizer)
        split = np.zeros(len(index.words) + 1, dtype=bool)
        words = index.words
        for wid in np.flatnonzero(used).tolist():
            split[wid] = not whole(words[wid])
        suspect = np.zeros(len(table), dtype=bool)
        if len(word_of):  # per surface: does any of its words split?
            suspect[:] = np.logical_or.reduceat(split[word_of], starts[:-1])
        suspect &= in_table
        # A form is tokenised whitespace chunk by whitespace chunk, except where a special case with
        # a space in it ("EE. UU." in Spanish) spans chunks: such forms are tokenised whole.
        spaced = [k for k in (tokenizer.rules or {}) if " " in k and k.strip()]
        across = re.compile("|".join(re.escape(k) for k in sorted(spaced, key=len, reverse=True))) if spaced else None
        surfaces = gaz.surface_list
        tokens_of_word: dict[int, tuple[int, ...]] = {}
        own: list[tuple[tuple[int, ...], int]] = []  # (tokens, surface) where they are not its words
        for sid in np.flatnonzero(suspect).tolist():
            wids = index.words_of(sid)
            if across is not None and len(wids) > 1 and across.search(surfaces[sid]):
                tokens = tuple(t.orth for t in tokenizer(surfaces[sid]))
            else:
                tokens = ()
                for wid in wids:
                    found = tokens_of_word.get(wid)
                    if found is None:
                        found = tokens_of_word[wid] = tuple(t.orth for t in tokenizer(words[wid]))
                    tokens += found
            if tokens != tuple(get_string_id(words[w]) for w in wids):
                own.append((tokens, sid))
        if across is not None:
            for sid in present.tolist():  # forms of whole words that a spaced special case still spans
                if not suspect[sid] and " " in surfaces[sid] and across.search(surfaces[sid]):
                    tokens = tuple(t.orth for t in tokenizer(surfaces[sid]))
                    if tokens != tuple(get_string_id(words[w]) for w in index.words_of(sid)):
                        own.append((tokens, sid))
        with index._lock:
            for tokens, sid in own:
                self.apart.add(sid)
                if tokens:
                    index.put(tokens, sid, self.tag)
        self.ready = True
        return self

    def entry(self, value: int | tuple) -> int:
        """The entry a match stands for in this pipeline, or -1."""
        table = self.table
        if type(value) is int:
            return table[value] if value < len(table) and value not in self.apart else -1
        found = set()
        for sid, tag in value:
            if sid < len(table) and (sid not in self.apart if tag is None else tag == self.tag) and table[sid] >= 0:
                found.add(table[sid])
        if not found:
            return -1
        return min(found, key=self._order) if len(found) > 1 else found.pop()

    def __call__(self, doc: Doc) -> Doc:
        if not self.ready:
            raise ValueError(f"the {FACTORY!r} component is not configured: use entities.build_pipeline")
        index = self.index
        first, multi, prefixes = index.first, index.multi, index.prefixes
        table, apart, entry = self.table, self.apart, self.entry
        size = len(table)
        orths = doc.to_array(ORTH).tolist()
        n = len(orths)
        found = []
        for i, h in enumerate(orths):
            head = first.get(h)
            if head is None:
                continue
            value, longer = head
            if value is not None:
                if type(value) is int:
                    e = table[value] if value < size and value not in apart else -1
                else:
                    e = entry(value)
                if e >= 0:
                    found.append((i, i + 1, e))
            if longer:
                key = (h,)
                for j in range(i + 1, n):
                    key += (orths[j],)
                    value = multi.get(key)
                    if value is not None:
                        if type(value) is int:
                            e = table[value] if value < size and value not in apart else -1
                        else:
                            e = entry(value)
                        if e >= 0:
                            found.append((i, j + 1, e))
                    if key not in prefixes:
                        break
        types, keys = self.types, self.gaz.keys
        mentions = []
        for start, end, e in found:
            last = doc[end - 1]
            mentions.append(Mention(doc[start].idx, last.idx + len(last), types[e], "gazetteer", keys[e]))
        doc.user_data[MATCHES_KEY] = mentions
        if self.spans:
            doc.spans[SPANS_KEY] = [Span(doc, s, e, label=types[x], span_id=keys[x]) for s, e, x in found]
        return doc


@Language.factory(FACTORY, default_config={"spans": True})
def make_gazetteer_matcher(nlp: Language, name: str, spans: bool) -> GazetteerMatcher:
    return GazetteerMatcher(name, spans)
