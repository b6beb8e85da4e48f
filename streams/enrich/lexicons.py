"""Word lists the entity rules (``streams.enrich.rules``) read, taken from packages, not typed in.

- First names and surnames: the person providers of Faker (MIT licence), every locale written in
  Latin script, merged: news names people from everywhere, not only from the article's country.
- Common words: wordfreq's most frequent words per language (code Apache-2.0; data CC BY-SA 4.0,
  built from Wikipedia, subtitles, news, books, web text and more: see wordfreq's README).
- Stop words: spaCy's lists per language (MIT).

Everything is built once per process, on first use (about 0.1 s per language), and cached.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from functools import cache

# Names shorter than this are too often words or initials ("Al", "Bo", "Ed").
MIN_NAME_LEN = 3


def _latin_name(name: str) -> bool:
    """A name in Latin letters ("Jean-Pierre", "van Dijk"): its last word capitalised."""
    last = name.rsplit(" ", 1)[-1]
    if len(name) < MIN_NAME_LEN or not last[:1].isupper() or name.isupper():
        return False
    for ch in name:
        if ch in "- ":
            continue
        if not ch.isalpha() or "LATIN" not in unicodedata.name(ch, ""):
            return False
    return True


# Faker's locale-less "en" provider lists US census names, words among them ("Author", "America"):
# the country providers are enough.
_SKIP_LOCALES = frozenset({"en"})


@cache
def _faker_names() -> tuple[dict[str, int], frozenset[str]]:
    import faker.providers.person as person

    first: dict[str, int] = {}  # name -> in how many locales
    last: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        if module.name in _SKIP_LOCALES:
            continue
        provider = getattr(importlib.import_module(f"{person.__name__}.{module.name}"), "Provider", None)
        if provider is None:
            continue
        given: set[str] = set()
        for attr in ("first_names", "first_names_male", "first_names_female"):
            given.update(n for n in _names(provider, attr) if _latin_name(n))
        for name in _names(provider, "last_names"):
            # "van Dijk", "de Vries": the surname proper, also alone ("Dijk" after "Sophie van")
            last.update(part for part in (name, name.split(" ")[-1]) if _latin_name(part))
        for name in given:
            first[name] = first.get(name, 0) + 1
    return first, frozenset(last)


def _names(provider: type, attr: str) -> list[str]:
    names = vars(provider).get(attr)  # class attributes only: some locales define properties
    if not isinstance(names, dict | tuple | list | set | frozenset):
        return []
    return [n for n in names if isinstance(n, str)]


def first_names() -> dict[str, int]:
    """Given names, as written ("Jan", "Céline", "Jean-Pierre"), with the number of countries that
    use them: "David" is a name in many, "Will" or "Floor" in few (elsewhere they are words)."""
    return _faker_names()[0]


def last_names() -> frozenset[str]:
    """Family names, as written ("Fischer", "Jansen", "Rossi")."""
    return _faker_names()[1]


@cache
def common_words(lang: str, n: int) -> frozenset[str]:
    """The ``n`` most frequent words of ``lang``, lower case (empty for a language wordfreq lacks)."""
    from wordfreq import top_n_list

    try:
        return frozenset(top_n_list(lang, n))
    except LookupError:
        return frozenset()


@cache
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words of ``lang``, lower case (empty for a language spaCy lacks)."""
    try:
        module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    except ImportError:
        return frozenset()
    return frozenset(w.lower() for w in module.STOP_WORDS)
