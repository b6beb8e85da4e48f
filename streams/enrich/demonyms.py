"""Words that look like names but are not entities by the annotation guidelines (docs/EVALUATION.md):
nationality words and weekday names, per language, derived from CLDR (Babel) instead of listed by hand.

Trained models tag "Russian", "Danois", "Slovène", "Russische" as MISC or LOC, and a capitalised
weekday at a sentence start ("Vendredi, le peloton ...") as LOC; the guidelines annotate neither.

Nationality words are the forms of one language, compared without case and accents:

- the language's single-word names of languages ("Russian", "danois", "slovène", "Russisch"), as
  written and with that language's adjective/plural endings (``INFLECTIONS``: "Russians",
  "Russische", "norvégienne", "rusa");
- demonyms derived from the language's single-word names of countries and regions: the name, or the
  name less its last one or two letters (less "-land" in Dutch and German), plus one of that
  language's demonym suffixes (``SUFFIXES``): Iran -> Iranian / Iranien, Norvège -> Norvégien,
  Amerika -> Amerikaanse, Russland -> Russe. No suffix is a bare vowel or "-s": those make place
  names and genitives ("Camerun" -> "Camera", "Belgiës").

The endings are morphology, not a list of names; the names come from CLDR. Callers never drop a word
the gazetteer knows as an alias ("Jordan", "Georgia", "Germania"): see ``EntityPipeline``.
Months are left out on purpose: "Mars" (March in French) is also the planet, "August" a first name.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from babel import Locale, UnknownLocaleError

# Endings of adjectives and plurals added to a language's name ("Russisch" -> "Russische"); in
# Spanish and Italian they replace its final vowel ("ruso" -> "rusa", "russo" -> "russi").
INFLECTIONS: dict[str, tuple[str, ...]] = {
    "en": ("", "s"),
    "nl": ("", "e"),
    "de": ("", "e", "en", "er", "es", "em"),
    "fr": ("", "e", "s", "es", "ne", "nes"),
    "es": ("o", "a", "os", "as", "es"),
    "it": ("o", "a", "i", "e"),
}
_VOWEL_REPLACED = ("es", "it")
# Demonym suffixes added to a country or region name's stem ("Iran" -> "Iranian").
SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("an", "ans", "ian", "ians", "ean", "eans", "n", "ns", "ese", "i", "is", "ish"),
    "nl": ("se", "isch", "ische", "aan", "aans", "aanse", "anen", "er", "ers", "ees", "ese", "iër", "iërs"),
    "de": ("isch", "ische", "ischen", "ischer", "e", "en", "er", "ern", "erin", "ier", "iern", "aner", "anern"),
    "fr": (
        *("ien", "ienne", "iens", "iennes", "ais", "aise", "aises", "ois", "oise", "oises"),
        *("ain", "aine", "ains", "aines", "éen", "éenne", "éens", "éennes", "in", "ine", "ins", "ines"),
    ),
    "es": ("ano", "ana", "anos", "anas", "ense", "enses", "és", "esa", "eses", "ino", "ina", "inos", "inas"),
    "it": ("ano", "ana", "ani", "ane", "ese", "esi", "ino", "ina", "ini", "ine"),
}
MIN_LENGTH = 4  # shorter words are too often something else ("Ga", "Ewe" are language names)


def fold(word: str) -> str:
    """Case- and accent-insensitive form: "Slovène" -> "slovene"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _locale(lang: str) -> Locale | None:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return None


def _single_words(names) -> set[str]:
    return {fold(name) for name in names if name and name.isalpha()}


def _stems(name: str, lang: str) -> set[str]:
    stems = {name}
    if len(name) >= 5:
        stems |= {name[:-1], name[:-2]}
    if lang in ("nl", "de") and name.endswith("land") and len(name) >= 7:
        stems.add(name[:-4])
    return stems


@cache
def nationality_words(lang: str) -> frozenset[str]:
    """Folded nationality words of ``lang`` (module docstring); empty for a language CLDR lacks."""
    locale = _locale(lang)
    if locale is None or lang not in SUFFIXES:
        return frozenset()
    words = set()
    for language in _single_words(locale.languages.values()):
        stem = language[:-1] if lang in _VOWEL_REPLACED and language[-1] in "aeiou" else language
        words |= {language} | {stem + ending for ending in INFLECTIONS[lang]}
    places = _single_words(locale.territories.values())
    suffixes = [fold(s) for s in SUFFIXES[lang]]
    words |= {stem + suffix for place in places for stem in _stems(place, lang) for suffix in suffixes}
    words -= places  # a country's own name is a place
    return frozenset(w for w in words if len(w) >= MIN_LENGTH)


@cache
def weekday_names(lang: str) -> frozenset[str]:
    """Folded weekday names of ``lang`` (CLDR, format and stand-alone forms)."""
    locale = _locale(lang)
    if locale is None:
        return frozenset()
    days = locale.days
    return frozenset(fold(name) for context in ("format", "stand-alone") for name in days[context]["wide"].values())


def is_nationality_word(word: str, lang: str) -> bool:
    return fold(word) in nationality_words(lang)


def is_weekday(word: str, lang: str) -> bool:
    return fold(word) in weekday_names(lang)
