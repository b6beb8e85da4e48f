"""Which place names from a lexicon are safe to match in news text, per language.

A place lexicon (GeoNames towns, ISO 3166-2 regions) holds many names that news text mostly uses
as something else: common words ("Most", "Split", "Police", "Mobile", "Reading", German nouns such
as "Essen" or "Hof"), first names ("Florence", "Tyler", "Nancy"), codes ("MUC") and transcriptions
from other scripts. The gazetteer matches case-sensitively, so a lower-case word never matches,
but a capitalised one does at every sentence start, in titles and, in German, for every noun.

``PlaceGuard.verdict(name, lang, population)`` applies, in order:

1. shape: Latin script, starts with a capital, not all capitals (codes, acronyms), no digits,
   at most ``max_words`` words;
2. length: a one-word name of ``short_chars`` letters or fewer needs ``short_population``
   inhabitants (short strings collide most with abbreviations and name parts);
3. person names: a name whose every word is a common first name or surname in one of the
   languages (Faker's person lists, MIT: "Florence", "Tyler", "Wilson", "Diego Martin") is
   dropped, unless it is the own name of a place of ``famous_population`` inhabitants;
4. word frequency: a one-word name is dropped in ``lang`` when its frequency there (wordfreq's
   Zipf scale, case-folded: it cannot tell "nice" from "Nice") is higher than the place's size
   explains: the bar is ``log10(population)`` less a margin (``home_margin`` where ``lang`` is
   spoken in the place's country, else ``foreign_margin``), never below ``common_zipf``
   (``home_zipf`` at home, ``region_zipf`` for a region at home: a place is named more often in
   its own language). A big city is a frequent word because it is big ("Paris", "Hamburg"); a
   town of 60,000 as frequent as "most" or "police" is a word. The size counts for the place's
   own name, and for its other names only at home; names without a population (regions) use the
   floor.

In English, whose headlines capitalise every word, a name of several words is dropped when each
of its capitalised words is frequent by the same bar ("High Point", "New Hope", "West End").

Shape also drops transcriptions from other scripts that GeoNames lists as alternate names
(Wade-Giles "Te-huis", "P'u-t'o"); ``place_lexicon`` drops an alternate name that is another name
of the same place without its accents ("Sale" for Salé) except in English, which writes them so.

The frequency source is a callable ``(text, lang) -> zipf`` so that tests and other sources can
stand in for wordfreq.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Zipf = Callable[[str, str], float]

_PUNCTUATION = frozenset(" -'’.")
_DUTCH_PREFIX = re.compile(r"^['’][st][ -](?=[A-Z])")  # 's-Hertogenbosch, 't Zandt
# An apostrophe inside a word before a lower-case letter: transcriptions (P'u-t'o, Ya'an, Kassel'),
# not elisions (L'Aquila, Côte-d'Or) nor possessives (King's Lynn).
_ROMAN = re.compile(r"^[IVXLCDM]{2,}[a-zèé]{0,3}$")
_ELIDED = re.compile(r"^[a-z]{1,4}['’][A-ZÀ-Þ]")  # d'Or, dell'Aquila
_TRANSCRIPTION_APOSTROPHE = re.compile(r"['’](?!s\b)(?![A-ZÀ-Þ])")


def latin_name_shape(name: str, max_words: int = 4) -> str | None:
    """None when ``name`` has the shape of a matchable place name, else why not."""
    if not name or name != " ".join(name.split()):
        return "spacing"
    if len(name.split(" ")) > max_words:
        return "too many words"
    letters = [ch for ch in name if ch.isalpha()]
    if len(letters) < 2:
        return "too short"
    for ch in name:
        if ch.isalpha():
            if not unicodedata.name(ch, "").startswith("LATIN"):
                return "not Latin script"
        elif ch not in _PUNCTUATION:
            return "digit or symbol"
    bare = _DUTCH_PREFIX.sub("", name)
    if not bare[:1].isupper():
        return "not capitalised"
    if all(ch.isupper() for ch in letters):
        return "all capitals"
    if _TRANSCRIPTION_APOSTROPHE.search(bare):
        return "transcription"
    words = bare.replace("-", " ").split(" ")
    if any(word[:1].islower() and word not in PARTICLES and not _ELIDED.match(word) for word in words):
        return "lower-case word"  # "The own", "Lungsod ng Turino"; not "Frankfurt am Main"
    if words[-1][:1].islower() and not _ELIDED.match(words[-1]):
        return "lower-case word"  # "Anconn-a", "Sankt-Peterburg-a"
    if any(len(word) == 1 and word.isupper() for word in words[1:]):
        return "initial"  # "The D", "Torino I"; not the article of "A Coruña"
    if any(_ROMAN.match(word) for word in words):
        return "numeral"  # "XIXe" (arrondissement), "Torino II"
    # Hyphen-joined syllables (Wade-Giles "Te-huis", "A-mi"), unlike "Île-de-France", "Saint-Lô".
    parts = bare.split(" ")[0].split("-") if "-" in bare else []
    if any(len(part) <= 2 and part[:1].isupper() for part in parts[1:]) or (parts and len(parts[0]) <= 2):
        return "transcription"
    return None


# The lower-case words of place names in the six languages ("Frankfurt am Main", "Castellammare di
# Stabia", "Bergen op Zoom", "Stratford-upon-Avon", "Saint-Jean-de-Luz", "Alcalá de Henares").
PARTICLES = frozenset(
    """
    a aan am an and auf bei da dal das de degli dei del della delle dello den der des di do dos
    du e el en et im in la las le les lo los op on of sous sur the to upon van von y zu zum zur
    """.split()
)
# Languages whose headlines capitalise every word ("New Hope for ..."), where a name made only of
# common words is a phrase as often as a place.
TITLE_CASE_LANGUAGES = frozenset({"en"})


def ascii_fold(text: str) -> str:
    """ "Salé" -> "Sale": the form an alternate name has when a source dropped the accents."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def person_names(languages: Iterable[str]) -> frozenset[str]:
    """Common first names and surnames of every Faker person locale of ``languages`` (en -> en_US,
    en_GB, ...); one-word names only ("van Dijk" is no town's name)."""
    import importlib
    import pkgutil

    from faker.providers import person

    wanted = set(languages)
    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        if module.name.split("_")[0] not in wanted:
            continue
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female", "last_names"):
            found = vars(provider).get(attr)  # a list or a weighted dict; some locales make it a property
            if isinstance(found, list | tuple | dict):
                names.update(str(n) for n in found)
    return frozenset(n for n in names if " " not in n)


def wordfreq_zipf() -> Zipf:
    """wordfreq's Zipf frequency (Apache-2.0 code; data CC BY-SA 4.0), with a cache."""
    from functools import lru_cache

    from wordfreq import zipf_frequency

    @lru_cache(maxsize=1 << 20)
    def zipf(text: str, lang: str) -> float:
        return zipf_frequency(text, lang)

    return zipf


@dataclass
class PlaceGuard:
    """The rules of the module docstring; ``verdict`` gives None (keep) or the reason to drop."""

    zipf: Zipf
    person_names: frozenset[str] = field(default_factory=frozenset)
    max_words: int = 4
    common_zipf: float = 3.5
    home_zipf: float = 4.0
    region_zipf: float = 4.5
    home_margin: float = 0.8
    foreign_margin: float = 1.5
    short_chars: int = 3
    short_population: int = 100_000
    famous_population: int = 500_000

    def verdict(
        self,
        name: str,
        lang: str,
        population: int | None = None,
        *,
        home: bool = False,
        main: bool = True,
        region: bool = False,
    ) -> str | None:
        """None to keep ``name`` in ``lang``, else why not. ``home``: ``lang`` is spoken in the place's
        country; ``main``: the place's own name, not one of its alternate names; ``region``: a
        first-level subdivision (large, though its population is unknown)."""
        shape = latin_name_shape(name, self.max_words)
        if shape is not None:
            return shape
        words = name.replace("-", " ").split(" ")
        famous = main and (population or 0) >= self.famous_population
        if len(words) == 1 and len(name) <= self.short_chars and (population or 0) < self.short_population:
            return "short name of a small place"
        if not famous and all(word in self.person_names for word in words):
            return "person name"  # "Florence", "Tyler", "Diego Martin"
        # A city's size explains the frequency of its own name, and of its name in its own
        # languages ("Nürnberg" for Nuremberg), not that of any alternate name ("Vele" for Belém).
        sized = population if main or home else None
        bar = self.word_bar(sized, home, region)
        if len(words) == 1 and self.zipf(name.lower(), lang) >= bar:
            return "frequent word"  # (several words: wordfreq's estimate for a phrase says little)
        if len(words) > 1 and lang in TITLE_CASE_LANGUAGES:
            named = [word for word in words if word[:1].isupper()]
            if all(self.zipf(word.lower(), lang) >= bar for word in named):
                return "phrase of frequent words"  # "High Point", "New Hope", "West End"
        return None

    def word_bar(self, population: int | None, home: bool = False, region: bool = False) -> float:
        """The Zipf frequency from which a name counts as a word rather than this place."""
        floor = (self.region_zipf if region else self.home_zipf) if home else self.common_zipf
        if not population or population < 1:
            return floor
        margin = self.home_margin if home else self.foreign_margin
        return max(floor, math.log10(population) - margin)
