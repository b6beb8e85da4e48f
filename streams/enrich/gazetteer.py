"""The multilingual gazetteer: known entities, their canonical names and their surface forms.

An entry is ``{key, id, name, type, aliases, tags}``:

- ``id``: a Wikidata QID, or None when nobody has checked one (a wrong QID is worse than none);
- ``name``: the canonical English name ("Vladimir Putin"), ``type``: PER | LOC | ORG | MISC;
- ``aliases``: ``{lang: [surface forms]}``, where the pseudo-language ``all`` applies to every
  language ("Putin" is written so in en, de, nl, ...);
- ``key``: the internal key the span-ruler patterns carry: the QID when there is one, else
  ``cldr:<territory code>`` or ``name:<canonical name>``.

Sources, merged by key:

1. Babel/CLDR territory names in every configured language (``Locale(lang).territories``), with
   the English CLDR name as canonical name. Numeric region codes (continents) are only used when
   a YAML file lists them under ``territories``.
2. Curated YAML files ``<gazetteer_dir>/*.yaml`` (any number; users may add their own):

   .. code-block:: yaml

      territories:            # add to / correct the CLDR entries, by territory code
        US: {id: Q30, aliases: {nl: [VS], en: [US, USA]}}
        EZ: {skip: true}
      entries:
        - {id: Q7747, name: Vladimir Putin, type: PER, tags: [head-of-state],
           aliases: {all: [Putin], nl: [Poetin], fr: [Poutine]}}
        - {id: Q649, name: Moscow, type: LOC, timezone: Europe/Moscow}  # + CLDR city names
      exclude:                # surface forms never matched (ambiguous: "Chad", "Jordan")
        en: [Chad, Jordan]

3. Generated files (``generated: true`` at the top, written by ``newsstreams gazetteer build``
   from a Wikidata dump): same entry schema plus ``sitelinks`` (how many wikis have a page on it).
   They are read after the curated files, so a curated name and type win for the same QID.
4. Lexicon files (``generated: true`` and ``lexicon: true``, written by ``newsstreams gazetteer
   lexicons``, e.g. ``lexicon-places.yaml``): unlinked entries with their own ``key``
   (``geonames:2867714``); ``all`` there means the header's ``languages``, an entry without
   ``aliases`` is matched by its name in those languages, and ``exclude`` (in the header) binds
   the lexicon's own aliases and their genitives only. Their aliases have the lowest priority
   and never take a surface form that any other source has, in any language: a lexicon only
   adds names nobody else knows.

Matching is case-sensitive (``VS`` is the United States, ``vs`` is "versus"), so every casing
that should match is listed ("NATO", "Nato"). When one surface form belongs to two entries in the
same language, curated aliases win over CLDR names, CLDR names over generated aliases, and a tie
drops the form: no guessing. Between generated aliases only, the entry with at least twice the
sitelinks of the next one wins the tie ("Paris" is the French capital, not Paris, Texas).
Demonyms and adjectives ("Russische", "French") are deliberately absent: they are not entities.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
import zipfile
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

log = logging.getLogger(__name__)

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
ALL = "all"  # pseudo-language: an alias valid in every language
XX = "xx"  # spaCy's multi-language code: the pipeline for undetermined text uses every alias

# A lexicon file's ``exclude`` is kept under these keys: it applies to lexicon aliases only.
LEXICON_EXCLUDE = "lexicon:"
# Priority of an alias when two entries claim the same surface form in one language. A genitive
# variant has the lower of _VARIANT and its alias's priority.
_CURATED, _CLDR, _GENERATED, _VARIANT, _LEXICON = 4, 3, 2, 1, 0
# A generated alias claimed by several entries goes to the most linked one only when it is this
# many times better known than the runner-up; closer calls stay unmatched.
_DOMINANCE = 2

QID = re.compile(r"^Q[1-9][0-9]*$")
_PARENTHESISED = re.compile(r"^(?P<head>.+?)\s*\((?P<inner>[^()]+)\)$")
# Genitive -s in German and Dutch ("Putins Plan", "Ruslands president") keeps the token whole.
GENITIVE_LANGS = _GENITIVE_LANGS = frozenset({"de", "nl"})

try:  # the C loader is ~10x faster; fall back where libyaml is missing
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    id: str | None
    name: str
    type: str
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass
class _Draft:
    key: str
    id: str | None
    name: str
    type: str
    aliases: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    tags: list[str] = field(default_factory=list)
    weight: int = 0  # Wikidata sitelinks, from generated files: breaks ties between their aliases

    def add(self, lang: str, surface: str, priority: int) -> None:
        surface = " ".join(str(surface).split())
        if surface:
            current = self.aliases[lang].get(surface, 0)
            self.aliases[lang][surface] = max(current, priority)


class _Aliases(Mapping):
    """``Entry.aliases`` read from the gazetteer's alias records when asked (not held per entry)."""

    __slots__ = ("_gaz", "_index")

    def __init__(self, gaz: Gazetteer, index: int):
        self._gaz, self._index = gaz, index

    def _dict(self) -> dict[str, tuple[str, ...]]:
        return self._gaz._aliases_of(self._index)

    def __getitem__(self, lang: str) -> tuple[str, ...]:
        return self._dict()[lang]

    def __iter__(self):
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())


class Gazetteer:
    """Entries plus, per language, the unambiguous surface-form -> entry table.

    Held as arrays, so that a Wikidata-size gazetteer (a million aliases) stays compact and loads
    from a compiled file (``compile_path``) without YAML:

    - entries in order (``keys``), their type and weight (sitelinks);
    - every surface form once (``surface_list``; an id is its index), genitive variants included;
    - alias records ``(entry, language, surface, priority)``, grouped by entry: the sources;
    - per language, once resolved: an ``array('i')`` from surface id to entry index (-1: none).

    Resolution (``table``) follows the rules of the module docstring; it is vectorised, and its
    result does not depend on the order of entries or aliases.
    """

    def __init__(self, drafts: Iterable[_Draft], exclude: Mapping[str, Iterable[str]] | None = None):
        drafts = list(drafts)
        parts = _Parts(exclude={lang: sorted(set(forms)) for lang, forms in (exclude or {}).items()})
        surface_ids: dict[str, int] = {}
        lang_ids: dict[str, int] = {}
        for index, d in enumerate(drafts):
            parts.keys.append(d.key)
            parts.ids.append(d.id)
            parts.names.append(d.name)
            parts.types.append(d.type)
            parts.weights.append(d.weight)
            parts.tags.append(tuple(dict.fromkeys(d.tags)))
            for lang, forms in d.aliases.items():
                lang_id = lang_ids.setdefault(lang, len(lang_ids))
                for surface, priority in forms.items():
                    sid = surface_ids.setdefault(surface, len(surface_ids))
                    parts.records.append((index, lang_id, sid, priority))
        parts.alias_langs = list(lang_ids)
        parts.surfaces = list(surface_ids)
        self._init(parts, surface_ids)

    @classmethod
    def _from_parts(cls, parts: _Parts) -> Gazetteer:
        gaz = cls.__new__(cls)
        gaz._init(parts, None)
        return gaz

    def _init(self, parts: _Parts, surface_ids: dict[str, int] | None) -> None:
        self.keys: list[str] = parts.keys
        self._types = parts.types
        self._weights = np.asarray(parts.weights, dtype=np.int64)
        self.surface_list: list[str] = parts.surfaces
        self._surface_ids = surface_ids if surface_ids is not None else {s: i for i, s in enumerate(parts.surfaces)}
        records = np.asarray(parts.records, dtype=np.int64).reshape(-1, 4)
        self._rec_entry = records[:, 0].astype(np.int32)
        self._rec_lang = records[:, 1].astype(np.int16)
        self._rec_sid = records[:, 2].astype(np.int32)
        self._rec_prio = records[:, 3].astype(np.int8)
        self._rec_start = np.searchsorted(self._rec_entry, np.arange(len(self.keys) + 1)).astype(np.int64)
        self.alias_langs: list[str] = parts.alias_langs
        self._exclude = {lang: set(forms) for lang, forms in parts.exclude.items()}
        self._tables: dict[str, array] = dict(parts.tables)
        self._genitive_of: np.ndarray | None = parts.genitives
        self._surface_dicts: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self.entries: dict[str, Entry] = {}
        for i, key in enumerate(self.keys):
            self.entries[key] = Entry(
                key=key,
                id=parts.ids[i],
                name=parts.names[i],
                type=parts.types[i],
                aliases=_Aliases(self, i),
                tags=parts.tags[i],
            )
        self.entry_list: list[Entry] = list(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    # --- per language ---------------------------------------------------------------------------

    def table(self, lang: str) -> array:
        """Surface id -> entry index in ``lang`` (-1: no entry); ids past its end have none."""
        table = self._tables.get(lang)
        if table is None:
            with self._lock:
                table = self._tables.get(lang)
                if table is None:
                    table = self._tables[lang] = self._resolve(lang)
        return table

    def size(self, lang: str) -> int:
        """How many surface forms match in ``lang``."""
        return int((np.frombuffer(self.table(lang), dtype=np.int32) >= 0).sum())

    def surfaces(self, lang: str) -> dict[str, str]:
        """Surface form -> entry key in ``lang`` (``xx``: all languages), unambiguous only.

        Built as a dict when asked (tools, tests): the pipeline reads ``table`` instead."""
        found = self._surface_dicts.get(lang)
        if found is None:
            table, keys, surfaces = self.table(lang), self.keys, self.surface_list
            found = {surfaces[sid]: keys[e] for sid, e in enumerate(table) if e >= 0}
            self._surface_dicts[lang] = found
        return found

    def surface_id(self, surface: str) -> int | None:
        return self._surface_ids.get(surface)

    def lookup(self, surface: str, lang: str) -> Entry | None:
        table = self.table(lang)  # first: resolving a language adds its genitive forms ("Putins")
        sid = self._surface_ids.get(surface)
        if sid is None:
            return None
        index = table[sid] if sid < len(table) else -1
        return self.entry_list[index] if index >= 0 else None

    def patterns(self, lang: str) -> list[dict]:
        """Phrase patterns for spaCy's span/entity ruler: ``{"label", "pattern", "id"}``."""
        return [
            {"label": self.entries[key].type, "pattern": surface, "id": key}
            for surface, key in self.surfaces(lang).items()
        ]

    def _aliases_of(self, index: int) -> dict[str, tuple[str, ...]]:
        start, end = self._rec_start[index], self._rec_start[index + 1]
        out: dict[str, list[str]] = {}
        for lang_id, sid in zip(self._rec_lang[start:end].tolist(), self._rec_sid[start:end].tolist(), strict=True):
            out.setdefault(self.alias_langs[lang_id], []).append(self.surface_list[sid])
        return {lang: tuple(forms) for lang, forms in out.items()}

    # --- resolution -----------------------------------------------------------------------------

    def _intern(self, surface: str) -> int:
        sid = self._surface_ids.get(surface)
        if sid is None:
            sid = self._surface_ids[surface] = len(self.surface_list)
            self.surface_list.append(surface)
        return sid

    def _genitives(self) -> np.ndarray:
        """Surface id -> id of its genitive form (-1: none), for the surfaces of the records."""
        known = self._genitive_of
        n = int(self._rec_sid.max()) + 1 if len(self._rec_sid) else 0
        if known is None or len(known) < n:
            out = np.full(n, -1, dtype=np.int32)
            if known is not None:
                out[: len(known)] = known
            start = 0 if known is None else len(known)
            for sid in range(start, n):
                forms = _genitives(self.surface_list[sid])
                if forms:
                    out[sid] = self._intern(forms[0])
            self._genitive_of = known = out
        return known

    def _resolve(self, lang: str) -> array:
        """The rules of the module docstring, over all alias records at once."""
        lang_ids = {name: i for i, name in enumerate(self.alias_langs)}
        excluded = _excluded_in(lang, {k: v for k, v in self._exclude.items() if not k.startswith(LEXICON_EXCLUDE)})
        lexicon_excluded = _excluded_in(
            lang, {k[len(LEXICON_EXCLUDE) :]: v for k, v in self._exclude.items() if k.startswith(LEXICON_EXCLUDE)}
        )
        entry, sid, prio = self._rec_entry, self._rec_sid, self._rec_prio
        types = np.array([t in ("PER", "LOC") for t in self._types], dtype=bool)
        if lang == XX:
            use = np.ones(len(entry), dtype=bool)
            genitive_langs = [lang_ids[x] for x in (*_GENITIVE_LANGS, ALL) if x in lang_ids]
            genitive = types[entry] & np.isin(self._rec_lang, genitive_langs)
        else:
            wanted = [lang_ids[x] for x in (lang, ALL) if x in lang_ids]
            use = np.isin(self._rec_lang, wanted)
            genitive = types[entry] & use if lang in _GENITIVE_LANGS else np.zeros(len(entry), dtype=bool)
        claims_sid = [sid[use]]
        claims_entry = [entry[use]]
        claims_prio = [prio[use]]
        if genitive.any():
            variants = self._genitives()[sid[genitive]]
            has = variants >= 0
            claims_sid.append(variants[has])
            claims_entry.append(entry[genitive][has])
            claims_prio.append(np.minimum(prio[genitive][has], _VARIANT))
        c_sid = np.concatenate(claims_sid).astype(np.int64)
        c_entry = np.concatenate(claims_entry).astype(np.int64)
        c_prio = np.concatenate(claims_prio).astype(np.int64)
        lexical = c_prio == _LEXICON
        if lexical.any():  # a lexicon never takes a form that another source has, in any language
            owned = np.zeros(len(self.surface_list), dtype=bool)
            owned[sid[prio > _LEXICON]] = True
            keep = ~(lexical & owned[c_sid])
            if lexicon_excluded:
                banned = [i for i in (self._surface_ids.get(form) for form in lexicon_excluded) if i is not None]
                keep &= ~(lexical & np.isin(c_sid, banned))
            c_sid, c_entry, c_prio = c_sid[keep], c_entry[keep], c_prio[keep]
        if excluded:
            banned = [i for i in (self._surface_ids.get(form) for form in excluded) if i is not None]
            keep = ~np.isin(c_sid, banned)
            c_sid, c_entry, c_prio = c_sid[keep], c_entry[keep], c_prio[keep]
        table = array("i", [-1]) * len(self.surface_list)
        if not len(c_sid):
            return table
        # Per (surface, entry): its best priority. Then per surface: the entries at the best priority.
        order = np.lexsort((-c_prio, c_entry, c_sid))
        c_sid, c_entry, c_prio = c_sid[order], c_entry[order], c_prio[order]
        first = np.ones(len(c_sid), dtype=bool)
        first[1:] = (c_sid[1:] != c_sid[:-1]) | (c_entry[1:] != c_entry[:-1])
        c_sid, c_entry, c_prio = c_sid[first], c_entry[first], c_prio[first]
        best = np.maximum.reduceat(c_prio, _group_starts(c_sid))
        best_of = np.repeat(best, np.diff(np.append(_group_starts(c_sid), len(c_sid))))
        top = c_prio == best_of
        w_sid, w_entry, w_prio = c_sid[top], c_entry[top], c_prio[top]
        starts = _group_starts(w_sid)
        counts = np.diff(np.append(starts, len(w_sid)))
        winners = {}
        single = counts == 1
        for s, e in zip(w_sid[starts[single]].tolist(), w_entry[starts[single]].tolist(), strict=True):
            winners[s] = e
        # Ties between generated aliases: the entry with at least _DOMINANCE times the sitelinks
        # of the runner-up wins; any other tie leaves the form unmatched.
        tied = np.flatnonzero(~single & (w_prio[starts] == _GENERATED))
        for g in tied.tolist():
            a, b = starts[g], starts[g] + counts[g]
            candidates = w_entry[a:b]
            weights = self._weights[candidates]
            ranked = np.argsort(-weights, kind="stable")
            top1, top2 = int(weights[ranked[0]]), int(weights[ranked[1]])
            if top1 > 0 and top1 >= _DOMINANCE * top2:
                winners[int(w_sid[a])] = int(candidates[ranked[0]])
        for s, e in winners.items():
            table[s] = e
        return table

    # --- compiled form --------------------------------------------------------------------------

    def _parts(self, languages: Iterable[str]) -> _Parts:
        """Everything needed to rebuild this gazetteer, with ``languages`` resolved."""
        tables = {lang: self.table(lang) for lang in dict.fromkeys(languages)}
        self._genitives()
        n = len(self.surface_list)
        for table in tables.values():
            if len(table) < n:
                table.extend(array("i", [-1]) * (n - len(table)))
        entries = self.entry_list
        return _Parts(
            keys=self.keys,
            ids=[e.id for e in entries],
            names=[e.name for e in entries],
            types=self._types,
            weights=self._weights.tolist(),
            tags=[e.tags for e in entries],
            surfaces=self.surface_list,
            records=np.stack(
                [self._rec_entry, self._rec_lang.astype(np.int32), self._rec_sid, self._rec_prio.astype(np.int32)],
                axis=1,
            ),
            alias_langs=self.alias_langs,
            exclude={lang: sorted(forms) for lang, forms in self._exclude.items()},
            tables=tables,
            genitives=self._genitive_of,
        )


def _excluded_in(lang: str, exclude: Mapping[str, set[str]]) -> set[str]:
    """The excluded forms that apply in ``lang`` (``xx``: those of every language)."""
    return set(exclude.get(ALL, set())) | (set().union(*exclude.values()) if lang == XX else exclude.get(lang, set()))


def _group_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Start index of each run of equal values in a sorted array."""
    if not len(sorted_values):
        return np.zeros(0, dtype=np.int64)
    new = np.ones(len(sorted_values), dtype=bool)
    new[1:] = sorted_values[1:] != sorted_values[:-1]
    return np.flatnonzero(new)


@dataclass
class _Parts:
    """A gazetteer as plain lists and arrays: what ``Gazetteer`` is built from and compiled to."""

    keys: list[str] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    tags: list[tuple[str, ...]] = field(default_factory=list)
    surfaces: list[str] = field(default_factory=list)
    records: Any = field(default_factory=list)  # (entry, language id, surface id, priority) rows
    alias_langs: list[str] = field(default_factory=list)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, array] = field(default_factory=dict)
    genitives: np.ndarray | None = None


def genitive_forms(surface: str) -> list[str]:
    """The genitive the gazetteer adds for ``surface`` in German and Dutch ("Putin" -> "Putins")."""
    return _genitives(surface)


def _genitives(surface: str) -> list[str]:
    last = surface[-1:]
    if last.islower() and last not in "sxzß":
        return [surface + "s"]
    return []


def _territory_forms(name: str) -> list[str]:
    """ "Myanmar (Birma)" -> ["Myanmar (Birma)", "Myanmar", "Birma"]."""
    forms = [name]
    m = _PARENTHESISED.match(name)
    if m:
        forms += [m.group("head"), m.group("inner")]
    return forms


def _canonical(name: str) -> str:
    m = _PARENTHESISED.match(name)
    return m.group("head") if m else name


def _check(entry: Mapping, where: str) -> tuple[str | None, str]:
    qid = entry.get("id")
    if qid is not None and not (isinstance(qid, str) and QID.match(qid)):
        raise ValueError(f"{where}: id must be a Wikidata QID like Q7747 or null, got {qid!r}")
    etype = entry.get("type", "LOC")
    if etype not in ENTITY_TYPES:
        raise ValueError(f"{where}: type must be one of {ENTITY_TYPES}, got {etype!r}")
    return qid, etype


def _add_aliases(draft: _Draft, aliases: Mapping | None, where: str, priority: int = _CURATED) -> None:
    for lang, forms in (aliases or {}).items():
        if isinstance(forms, str):
            forms = [forms]
        if not isinstance(forms, list):
            raise ValueError(f"{where}: aliases.{lang} must be a list of strings")
        for form in forms:
            draft.add(str(lang), str(form), priority)


def _read_yaml(path: Path) -> dict:
    data = _read_generated(path)
    if data is None:
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_YamlLoader) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with territories/entries/exclude")
    return data


def _read_generated(path: Path) -> dict | None:
    """A file ``gazetteer build`` wrote, read line by line: its YAML header, then one entry per line
    (``- {...}``, JSON syntax, parsed as JSON; other one-line flow mappings as YAML). None for any
    other file (read as YAML as a whole): no ``generated: true`` header, or an entry over lines."""
    with path.open(encoding="utf-8") as fh:
        head = []
        for line in fh:
            if line.startswith("entries:"):
                if line.strip() != "entries:":
                    return None
                break
            head.append(line)
            if len(head) > 200:
                return None
        else:
            return None
        try:
            data = yaml.load("".join(head), Loader=_YamlLoader)
        except yaml.YAMLError:
            return None
        if not isinstance(data, dict) or data.get("generated") is not True or set(data) & {"entries", "territories"}:
            return None
        entries = []
        for line in fh:
            if line.startswith("- {"):
                try:
                    entry = json.loads(line[2:])
                except ValueError:
                    try:
                        entry = yaml.load(line[2:], Loader=_YamlLoader)
                    except yaml.YAMLError:
                        return None
                if not isinstance(entry, dict):
                    return None
                entries.append(entry)
            elif line.strip() and not line.lstrip().startswith("#"):
                return None  # something else after the entries: read the file as YAML
    data["entries"] = entries
    return data


def load_gazetteer(
    languages: Iterable[str],
    directory: Path | str | None,
    *,
    territories: bool = True,
    compiled: bool | None = None,
) -> Gazetteer:
    """The gazetteer from CLDR (if ``territories``) and every ``*.yaml`` in ``directory``.

    A compiled copy (``compile_path``: same files, languages, Babel and format) is loaded instead of
    the YAML when there is one. ``compiled``: None = use one if present and write one when the YAML
    files are large (``COMPILE_MIN_BYTES``: a Wikidata build); True = always write one (``gazetteer
    build`` and ``gazetteer compile``); False = YAML only, nothing written.
    """
    languages = list(dict.fromkeys(languages))
    files = sorted(Path(directory).glob("*.yaml")) if directory and Path(directory).is_dir() else []
    if directory and not files:
        log.warning("gazetteer: no YAML files in %s; only CLDR territory names are used", directory)
    cache = compile_path(directory, files, languages, territories) if directory and compiled is not False else None
    if cache is not None and cache.is_file():
        started = time.perf_counter()
        try:
            gaz = read_compiled(cache)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("gazetteer: compiled copy %s unreadable (%s); reading the YAML", cache, exc)
        else:
            log.info(
                "gazetteer: %d entries from the compiled copy %s in %.2fs",
                len(gaz),
                cache.name,
                time.perf_counter() - started,
            )
            return gaz
    drafts, exclude = _read_drafts(languages, files, territories)
    gaz = Gazetteer(drafts, exclude)
    log.info("gazetteer: %d entries from CLDR and %d YAML file(s)", len(gaz), len(files))
    big = sum(path.stat().st_size for path in files) >= COMPILE_MIN_BYTES
    if cache is not None and (compiled or big):
        try:
            write_compiled(gaz, cache, [*languages, XX])
        except OSError as exc:  # a read-only directory: the YAML is read at every start
            log.warning("gazetteer: could not write the compiled copy %s: %s", cache, exc)
    return gaz


def _read_drafts(
    languages: list[str], files: list[Path], territories: bool
) -> tuple[list[_Draft], dict[str, set[str]]]:
    docs = [(path.name, _read_yaml(path)) for path in files]
    # Generated files last: a curated entry then gives the canonical name and type of its QID.
    docs.sort(key=lambda doc: bool(doc[1].get("generated")))

    territory_cfg: dict[str, dict] = {}
    for _fname, doc in docs:
        for code, cfg in (doc.get("territories") or {}).items():
            territory_cfg.setdefault(str(code), {}).update(cfg or {})

    drafts: dict[str, _Draft] = {}
    by_code: dict[str, str] = {}

    def draft_for(qid: str | None, key: str, name: str, etype: str) -> _Draft:
        key = qid or key
        if key not in drafts:
            drafts[key] = _Draft(key=key, id=qid, name=name, type=etype)
        return drafts[key]

    if territories:
        _add_territories(languages, territory_cfg, draft_for, by_code)

    exclude: dict[str, set[str]] = defaultdict(set)
    for fname, doc in docs:
        lexicon = bool(doc.get("generated") and doc.get("lexicon"))
        priority = _LEXICON if lexicon else _GENERATED if doc.get("generated") else _CURATED
        lexicon_langs = [str(lang) for lang in doc.get("languages") or languages] if lexicon else []
        covered = set(languages) <= set(lexicon_langs)
        for lang, forms in (doc.get("exclude") or {}).items():
            # A lexicon's exclusions (its common-word genitives: "Basis" from Basi) bind it alone.
            exclude[f"{LEXICON_EXCLUDE}{lang}" if lexicon else str(lang)].update(str(f) for f in forms or [])
        for i, raw in enumerate(doc.get("entries") or []):
            where = f"{fname}: entries[{i}]"
            if not isinstance(raw, dict) or not raw.get("name"):
                raise ValueError(f"{where}: every entry needs at least a name")
            qid, etype = _check(raw, where)
            code = raw.get("territory")
            if lexicon:
                if not isinstance(raw.get("key"), str) or ":" not in raw["key"]:
                    raise ValueError(f"{where}: a lexicon entry needs a key like geonames:2867714")
                draft = draft_for(qid, raw["key"], str(raw["name"]), etype)
                aliases = raw.get("aliases") or {ALL: [draft.name]}
                # ``all`` = the languages the lexicon was built (guarded) for: kept as ``all`` (one
                # record per form) while they cover every language loaded.
                everywhere = [ALL] if covered else lexicon_langs
                for lang in everywhere:
                    _add_aliases(draft, {lang: aliases.get(ALL) or []}, where, priority)
                _add_aliases(draft, {k: v for k, v in aliases.items() if k != ALL}, where, priority)
                continue
            if code is not None and str(code) in by_code:
                draft = drafts[by_code[str(code)]]  # extra aliases for a CLDR territory
            else:
                draft = draft_for(qid, f"name:{raw['name']}", str(raw["name"]), etype)
            draft.add(ALL, draft.name, priority)
            _add_aliases(draft, raw.get("aliases"), where, priority)
            draft.tags.extend(raw.get("tags") or [])
            if raw.get("sitelinks"):
                draft.weight = max(draft.weight, int(raw["sitelinks"]))
            if raw.get("timezone"):
                _add_city_names(draft, str(raw["timezone"]), languages)

    return list(drafts.values()), exclude


def _add_territories(languages, territory_cfg, draft_for, by_code) -> None:
    from babel import Locale, UnknownLocaleError

    english = Locale("en").territories
    names_by_lang = {}
    for lang in languages:
        try:
            names_by_lang[lang] = Locale(lang).territories
        except (UnknownLocaleError, ValueError):
            log.warning("gazetteer: Babel has no locale %r; no territory names in it", lang)
    for code, en_name in english.items():
        cfg = territory_cfg.get(code, {})
        if cfg.get("skip") or (code.isdigit() and not cfg):
            continue  # regions (001 world, 419 ...) only when curated; EZ/QO/ZZ are skipped in YAML
        where = f"territories.{code}"
        qid, etype = _check(cfg, where)
        draft = draft_for(qid, f"cldr:{code}", cfg.get("name") or _canonical(en_name), etype)
        by_code[code] = draft.key
        for lang, names in names_by_lang.items():
            if code in names:
                for form in _territory_forms(names[code]):
                    draft.add(lang, form, _CLDR)
        _add_aliases(draft, cfg.get("aliases"), where)
        draft.tags.extend(cfg.get("tags") or [])


def _add_city_names(draft: _Draft, timezone: str, languages: list[str]) -> None:
    """CLDR exemplar city of a time zone in every language: Europe/Moscow -> Moskou, Moskau, ..."""
    from babel.dates import get_timezone_location

    for lang in languages:
        try:
            city = get_timezone_location(timezone, locale=lang, return_city=True)
        except Exception as exc:  # noqa: BLE001 - unknown zone or locale: the curated aliases still apply
            log.debug("gazetteer: no city name for %s in %s: %s", timezone, lang, exc)
            continue
        draft.add(lang, city, _CLDR)


# --- compiled copy ------------------------------------------------------------------------------
#
# One uncompressed .npz (numpy arrays, no pickle) in <gazetteer_dir>/.compiled/, named after a
# fingerprint of everything the result depends on: the YAML files' names and contents, the
# languages (in order), territories on/off, Babel's version (CLDR names) and FORMAT. Strings are
# stored as one UTF-8 text joined by NUL. A stale or foreign copy is never read: another
# fingerprint is another name. The few most recent copies are kept.

FORMAT = 1
COMPILE_MIN_BYTES = 1_000_000  # YAML this large is compiled on first load (curated files: ~0.1 MB, lexicons: 3 MB)
COMPILED_DIR = ".compiled"
_KEEP_COMPILED = 3


def compile_path(directory: Path | str, files: Iterable[Path], languages: Iterable[str], territories: bool) -> Path:
    """Where the compiled copy of these inputs lives (whether or not it exists)."""
    import babel

    digest = hashlib.sha256()
    head = {"format": FORMAT, "languages": list(languages), "territories": territories, "babel": babel.__version__}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for path in files:
        digest.update(b"\0" + path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return Path(directory) / COMPILED_DIR / f"gazetteer-{digest.hexdigest()[:24]}.npz"


def _join(strings: Iterable[str], what: str) -> np.ndarray:
    strings = list(strings)
    text = "\0".join(strings)
    if strings and text.count("\0") != len(strings) - 1:
        raise ValueError(f"a {what} contains a NUL character: not compiled")
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _split(data: np.ndarray, n: int) -> list[str]:
    if n == 0:
        return []
    out = data.tobytes().decode("utf-8").split("\0")
    if len(out) != n:
        raise ValueError(f"expected {n} strings, found {len(out)}")
    return out


def write_compiled(gaz: Gazetteer, path: Path | str, languages: Iterable[str]) -> Path:
    """Write ``gaz`` with ``languages`` resolved to ``path`` (atomically)."""
    started = time.perf_counter()
    parts = gaz._parts(languages)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tag_counts = [len(t) for t in parts.tags]
    meta = {
        "format": FORMAT,
        "counts": {"entries": len(parts.keys), "surfaces": len(parts.surfaces), "tags": sum(tag_counts)},
        "alias_langs": parts.alias_langs,
        "exclude": parts.exclude,
        "tables": list(parts.tables),
        "no_id": [i for i, qid in enumerate(parts.ids) if qid is None],
    }
    # Entries with a QID are keyed by it: the ids are then the keys, less those without one.
    ids = [qid if qid is not None else "" for qid in parts.ids]
    same = all(qid == key for qid, key in zip(ids, parts.keys, strict=True) if qid)
    meta["id_is_key"] = same
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "keys": _join(parts.keys, "key"),
        "names": _join(parts.names, "name"),
        "types": np.array([ENTITY_TYPES.index(t) for t in parts.types], dtype=np.uint8),
        "weights": np.asarray(parts.weights, dtype=np.int64),
        "tags": _join([t for tags in parts.tags for t in tags], "tag"),
        "tag_counts": np.asarray(tag_counts, dtype=np.int32),
        "surfaces": _join(parts.surfaces, "surface form"),
        "records": np.asarray(parts.records, dtype=np.int32).reshape(-1, 4),
        "genitives": parts.genitives if parts.genitives is not None else np.zeros(0, dtype=np.int32),
    }
    if not same:
        arrays["ids"] = _join(ids, "id")
    for i, table in enumerate(parts.tables.values()):
        arrays[f"table{i}"] = np.frombuffer(table, dtype=np.int32)
    tmp = path.with_name(path.name + f".{os.getpid()}.part")
    try:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    siblings = sorted(path.parent.glob("gazetteer-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in siblings[_KEEP_COMPILED:]:
        old.unlink(missing_ok=True)
    log.info(
        "gazetteer: compiled %d entries, %d surface forms (%s) to %s in %.2fs",
        len(parts.keys),
        len(parts.surfaces),
        ", ".join(parts.tables),
        path,
        time.perf_counter() - started,
    )
    return path


def read_compiled(path: Path | str) -> Gazetteer:
    """A gazetteer from a file ``write_compiled`` wrote."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"compiled gazetteer format {meta.get('format')}, expected {FORMAT}")
        counts = meta["counts"]
        n = counts["entries"]
        keys = _split(data["keys"], n)
        if meta["id_is_key"]:
            ids: list[str | None] = list(keys)
            for i in meta["no_id"]:
                ids[i] = None
        else:
            ids = [qid or None for qid in _split(data["ids"], n)]
        tag_list = _split(data["tags"], counts["tags"])
        tags, at = [], 0
        for count in data["tag_counts"].tolist():
            tags.append(tuple(tag_list[at : at + count]) if count else ())
            at += count
        type_names = [ENTITY_TYPES[t] for t in data["types"].tolist()]
        genitives = data["genitives"]
        parts = _Parts(
            keys=keys,
            ids=ids,
            names=_split(data["names"], n),
            types=type_names,
            weights=data["weights"],
            tags=tags,
            surfaces=_split(data["surfaces"], counts["surfaces"]),
            records=data["records"],
            alias_langs=meta["alias_langs"],
            exclude=meta["exclude"],
            tables={lang: array("i", data[f"table{i}"].tobytes()) for i, lang in enumerate(meta["tables"])},
            genitives=genitives if len(genitives) else None,
        )
    return Gazetteer._from_parts(parts)
