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

Matching is case-sensitive (``VS`` is the United States, ``vs`` is "versus"), so every casing
that should match is listed ("NATO", "Nato"). When one surface form belongs to two entries in the
same language, curated aliases win over CLDR names, CLDR names over generated aliases, and a tie
drops the form: no guessing. Between generated aliases only, the entry with at least twice the
sitelinks of the next one wins the tie ("Paris" is the French capital, not Paris, Texas).
Demonyms and adjectives ("Russische", "French") are deliberately absent: they are not entities.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

ENTITY_TYPES = ("PER", "LOC", "ORG", "MISC")
ALL = "all"  # pseudo-language: an alias valid in every language
XX = "xx"  # spaCy's multi-language code: the pipeline for undetermined text uses every alias

# Priority of an alias when two entries claim the same surface form in one language.
_CURATED, _CLDR, _GENERATED, _VARIANT = 4, 3, 2, 1
# A generated alias claimed by several entries goes to the most linked one only when it is this
# many times better known than the runner-up; closer calls stay unmatched.
_DOMINANCE = 2

QID = re.compile(r"^Q[1-9][0-9]*$")
_PARENTHESISED = re.compile(r"^(?P<head>.+?)\s*\((?P<inner>[^()]+)\)$")
# Genitive -s in German and Dutch ("Putins Plan", "Ruslands president") keeps the token whole.
_GENITIVE_LANGS = {"de", "nl"}

try:  # the C loader is ~10x faster; fall back where libyaml is missing
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _YamlLoader = yaml.SafeLoader


@dataclass(frozen=True)
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

    def freeze(self) -> Entry:
        return Entry(
            key=self.key,
            id=self.id,
            name=self.name,
            type=self.type,
            aliases={lang: tuple(forms) for lang, forms in self.aliases.items() if forms},
            tags=tuple(dict.fromkeys(self.tags)),
        )


class Gazetteer:
    """Entries plus, per language, the unambiguous surface-form -> key table."""

    def __init__(self, drafts: Iterable[_Draft], exclude: Mapping[str, Iterable[str]] | None = None):
        drafts = list(drafts)
        self.entries: dict[str, Entry] = {d.key: d.freeze() for d in drafts}
        self._priorities = {d.key: d.aliases for d in drafts}
        self._weights = {d.key: d.weight for d in drafts}
        self._exclude = {lang: set(forms) for lang, forms in (exclude or {}).items()}
        self._tables: dict[str, dict[str, str]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def surfaces(self, lang: str) -> dict[str, str]:
        """Surface form -> entry key in ``lang`` (``xx``: all languages), unambiguous only."""
        table = self._tables.get(lang)
        if table is None:
            table = self._tables[lang] = self._build_table(lang)
        return table

    def lookup(self, surface: str, lang: str) -> Entry | None:
        key = self.surfaces(lang).get(surface)
        return self.entries[key] if key else None

    def patterns(self, lang: str) -> list[dict]:
        """Phrase patterns for spaCy's span/entity ruler: ``{"label", "pattern", "id"}``."""
        return [
            {"label": self.entries[key].type, "pattern": surface, "id": key}
            for surface, key in self.surfaces(lang).items()
        ]

    def _build_table(self, lang: str) -> dict[str, str]:
        excluded = self._exclude.get(ALL, set()) | (
            set().union(*self._exclude.values()) if lang == XX else self._exclude.get(lang, set())
        )
        claims: dict[str, dict[str, int]] = defaultdict(dict)  # surface -> {key: priority}
        for key, by_lang in self._priorities.items():
            entry = self.entries[key]
            langs = list(by_lang) if lang == XX else [lang, ALL]
            for alias_lang in langs:
                genitive = entry.type in ("PER", "LOC") and (
                    (alias_lang in _GENITIVE_LANGS or alias_lang == ALL) if lang == XX else lang in _GENITIVE_LANGS
                )
                for surface, priority in by_lang.get(alias_lang, {}).items():
                    forms = [(surface, priority)]
                    if genitive:
                        forms += [(g, _VARIANT) for g in _genitives(surface)]
                    for form, prio in forms:
                        if form in excluded:
                            continue
                        if claims[form].get(key, 0) < prio:
                            claims[form][key] = prio
        table: dict[str, str] = {}
        for surface, by_key in claims.items():
            best = max(by_key.values())
            winners = [key for key, prio in by_key.items() if prio == best]
            if len(winners) > 1 and best == _GENERATED:
                winners = self._dominant(winners)
            if len(winners) == 1:
                table[surface] = winners[0]
            else:
                log.debug("gazetteer: %r ambiguous in %s (%s); unmatched", surface, lang, winners)
        return table

    def _dominant(self, keys: list[str]) -> list[str]:
        ranked = sorted(keys, key=lambda k: self._weights.get(k, 0), reverse=True)
        first, second = (self._weights.get(k, 0) for k in ranked[:2])
        return ranked[:1] if first > 0 and first >= _DOMINANCE * second else ranked


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
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_YamlLoader) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with territories/entries/exclude")
    return data


def load_gazetteer(
    languages: Iterable[str],
    directory: Path | str | None,
    *,
    territories: bool = True,
) -> Gazetteer:
    """Build the gazetteer from CLDR (if ``territories``) and every ``*.yaml`` in ``directory``."""
    languages = list(dict.fromkeys(languages))
    files = sorted(Path(directory).glob("*.yaml")) if directory and Path(directory).is_dir() else []
    if directory and not files:
        log.warning("gazetteer: no YAML files in %s; only CLDR territory names are used", directory)
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
        priority = _GENERATED if doc.get("generated") else _CURATED
        for lang, forms in (doc.get("exclude") or {}).items():
            exclude[str(lang)].update(str(f) for f in forms or [])
        for i, raw in enumerate(doc.get("entries") or []):
            where = f"{fname}: entries[{i}]"
            if not isinstance(raw, dict) or not raw.get("name"):
                raise ValueError(f"{where}: every entry needs at least a name")
            qid, etype = _check(raw, where)
            code = raw.get("territory")
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

    gaz = Gazetteer(drafts.values(), exclude)
    log.info("gazetteer: %d entries from CLDR and %d YAML file(s)", len(gaz), len(files))
    return gaz


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
