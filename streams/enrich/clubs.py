"""Clubs named like their place, in sports articles: "Bayern", "Dortmund", "Napoli", "Roma".

Sports reporting calls a club by the place in its name ("Bayern gewinnt gegen Dortmund", "il Napoli
batte la Roma"), and the gazetteer links that word to the place. In an article whose main topic is
sport, such a place mention is re-linked to the club. The short forms come from the gazetteer itself,
not from a list: a word of a two-word club name (``tags: [sport]``, type ORG) that is also a place
in the same language. A word that two clubs share ("Milan", "Madrid", "Manchester") stays a place.

Venues keep the place: the word after a locative preposition ("in München", "à Paris", "a Roma") or
before a number ("Paris 2024") is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from streams.enrich.gazetteer import Gazetteer
from streams.enrich.matcher import Mention

SPORT = "medtop:15000000"  # IPTC Media Topic "sport"

# Prepositions that make the next word a place ("in Dortmund", "nach Madrid", "a Roma").
LOCATIVES: dict[str, frozenset[str]] = {
    "en": frozenset({"in", "at", "to", "from", "near", "of"}),
    "nl": frozenset({"in", "naar", "uit", "bij", "te", "van"}),
    "de": frozenset({"in", "nach", "aus", "bei", "im", "von"}),
    "fr": frozenset({"à", "a", "en", "vers", "de", "depuis"}),
    "es": frozenset({"en", "a", "desde", "de", "hacia"}),
    "it": frozenset({"a", "in", "da", "di", "verso"}),
}
_WORD_BEFORE = re.compile(r"(\w+)\W*$")
_NUMBER_AFTER = re.compile(r"\s*\d")


def club_short_forms(gazetteer: Gazetteer, lang: str) -> dict[str, str]:
    """Place-like word -> club key in ``lang``: only words that one club alone holds."""
    found: dict[str, set[str]] = {}
    for entry in gazetteer.entries.values():
        if entry.type != "ORG" or "sport" not in entry.tags:
            continue
        for alias in {entry.name, *entry.aliases.get(lang, ()), *entry.aliases.get("all", ())}:
            words = alias.split()
            if len(words) != 2:
                continue
            for word in words:
                place = gazetteer.lookup(word, lang)
                if place is not None and place.type == "LOC":
                    found.setdefault(word, set()).add(entry.key)
    return {word: next(iter(keys)) for word, keys in found.items() if len(keys) == 1}


def as_clubs(mentions: Iterable[Mention], text: str, lang: str, forms: dict[str, str]) -> list[Mention]:
    """``mentions`` with places that name a club (``forms``) re-linked to it, venues kept."""
    locatives = LOCATIVES.get(lang, frozenset())
    out = []
    for m in mentions:
        club = forms.get(text[m.start : m.end]) if m.label == "LOC" else None
        if club is not None and not _venue(text, m, locatives):
            m = Mention(m.start, m.end, "ORG", m.source, club)
        out.append(m)
    return out


def _venue(text: str, m: Mention, locatives: frozenset[str]) -> bool:
    before = _WORD_BEFORE.search(text, max(0, m.start - 24), m.start)
    if before is not None and before.group(1).lower() in locatives:
        return True
    return _NUMBER_AFTER.match(text, m.end) is not None
