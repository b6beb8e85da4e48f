"""Build a gazetteer file from a Wikidata JSON dump (``latest-all.json.gz``), streamed.

The dump is one JSON array with one entity per line::

    [
    {"type":"item","id":"Q7747","labels":{...},"aliases":{...},"claims":{...},"sitelinks":{...}},
    ...
    ]

Every line but the brackets ends with ``,``. The file is read line by line (gzip, bz2 or plain,
or ``-`` for stdin, e.g. behind ``pigz -dc``); nothing but the current line is held in memory and
the output is written as it goes. An item is kept when

- one of its ``instance of`` (P31) classes is in ``classes`` (direct P31 only: the subclass tree
  would need the whole dump in memory): humans -> PER, organisations -> ORG, places -> LOC;
- it has at least ``min_sitelinks`` sitelinks (pages in Wikipedias and sister projects), the usual
  proxy for how well known it is: the long tail of homonyms stays out;
- it has a usable label in one of the languages.

Most of the ~110 million items have only a few sitelinks. A line whose count of ``"site"`` keys
(one per sitelink) after its ``"sitelinks":`` key is below the threshold is skipped without parsing
it: that byte count is what makes a pass over the full dump take hours, not days.

Output: a gazetteer YAML file in the schema ``streams.enrich.gazetteer`` reads, marked
``generated: true`` so that curated files win over it, one entry per line, in JSON syntax (which
YAML reads too, and the gazetteer loader reads fast)::

    - {"id": "Q7747", "name": "Vladimir Putin", "type": "PER", "sitelinks": 263, "aliases": {"all": [...]}}

``name`` is the English label (else the ``mul`` label, else the first label in the configured
languages). Wikidata's ``mul`` labels and aliases (valid in many languages) and forms found in every
configured language go under ``all``. Forms the case-sensitive matcher would misuse are dropped:
shorter than 3 characters, without an upper-case letter (descriptions, common nouns), with brackets
or markup, a person's one-word alias that is not their surname (nicknames: "Bill", "Vova"), and
single words that are mostly something else (months, "May", "Will", "Orange", ...).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml

try:  # ~2-3x faster parsing where installed; the standard library otherwise
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, UnicodeDecodeError)
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads
    _JSON_ERRORS = (ValueError, UnicodeDecodeError)

try:
    _Dumper = yaml.CSafeDumper
except AttributeError:  # pragma: no cover
    _Dumper = yaml.SafeDumper

# instance-of (P31) class -> entity type. Direct classes only; extend with `--class Q...=ORG`.
DEFAULT_CLASSES: dict[str, str] = {
    "Q5": "PER",  # human
    # organisations
    "Q43229": "ORG",  # organization
    "Q4830453": "ORG",  # business
    "Q783794": "ORG",  # company
    "Q891723": "ORG",  # public company
    "Q6881511": "ORG",  # enterprise
    "Q161726": "ORG",  # multinational corporation
    "Q484652": "ORG",  # international organization
    "Q245065": "ORG",  # intergovernmental organization
    "Q163740": "ORG",  # nonprofit organization
    "Q7278": "ORG",  # political party
    "Q327333": "ORG",  # government agency
    "Q22687": "ORG",  # bank
    "Q66344": "ORG",  # central bank
    "Q46970": "ORG",  # airline
    # places
    "Q6256": "LOC",  # country
    "Q3624078": "LOC",  # sovereign state
    "Q515": "LOC",  # city
    "Q1549591": "LOC",  # big city
    "Q1637706": "LOC",  # city with millions of inhabitants
    "Q5119": "LOC",  # capital
    "Q486972": "LOC",  # human settlement
}
# An item in several kept classes gets the first type here (a city-state is a place, not an org).
TYPE_ORDER = ("PER", "LOC", "ORG", "MISC")
DEFAULT_LANGUAGES = ("nl", "en", "de", "fr", "es", "it")
MUL = "mul"  # Wikidata's "default for all languages" label code
ALL = "all"  # the gazetteer's pseudo-language for the same thing

_TRAILING = frozenset(b" \t\r\n,")
_BRACKETS = frozenset(b"[]")
_OPEN, _CLOSE = ord("{"), ord("}")

MIN_CHARS = 3
MAX_WORDS = 8
_BAD_CHARS = set('()[]{}<>|=#@/\\"“”')
# One-word forms that news text mostly uses as something else, capitalised at a sentence start or
# as a common noun (months, weekdays, given names that are words). Curated files can still list
# any of them for an entry where that is safe in a given language.
COMMON_WORDS = frozenset(
    """
    January February March April May June July August September October November December
    Januari Februari Maart Mei Juni Juli Augustus Oktober
    Januar Februar März Mai Juni Juli Oktober Dezember
    Janvier Février Mars Avril Mai Juin Juillet Août Septembre Octobre Novembre Décembre
    Enero Febrero Marzo Abril Mayo Junio Julio Agosto Septiembre Octubre Noviembre Diciembre
    Gennaio Febbraio Marzo Aprile Maggio Giugno Luglio Agosto Settembre Ottobre Novembre Dicembre
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    Will Bill Mark Rose Grace Hope Faith Joy Summer Dawn Guy Pat Sue Bob Jack Max Page Young
    King Queen Prince Princess President Premier Chancellor Pope General Captain Doctor Sir Lord
    Orange Shell Apple Amazon Target Visa Delta Total Ford Oracle Mercury Jaguar Puma Corona
    Alliance Union Party Congress Parliament Government Council Commission Assembly Republic
    Kingdom Empire Federation State City Capital Bank Group Company International National
    Europa Europe America Amerika Africa Asia Ocean North South East West Central
    Der Die Das Les Het Een The And Und Et
    """.split()
)


@dataclass
class BuildStats:
    read: int = 0  # entity lines (not the brackets)
    parsed: int = 0  # lines that passed the cheap sitelink pre-check and were parsed
    kept: int = 0
    malformed: int = 0
    by_type: Counter = field(default_factory=Counter)
    too_few_sitelinks: int = 0
    other_class: int = 0
    no_names: int = 0
    bytes_read: int = 0  # of the input file as stored (compressed), for progress
    bytes_total: int | None = None
    started: float = field(default_factory=time.perf_counter)
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s or (time.perf_counter() - self.started)
        return self.read / elapsed if elapsed > 0 else 0.0

    def summary(self) -> str:
        types = ", ".join(f"{t} {self.by_type[t]:,}" for t in TYPE_ORDER if self.by_type[t])
        return (
            f"read {self.read:,} entities, kept {self.kept:,} ({types}); "
            f"skipped: {self.too_few_sitelinks:,} below the sitelink threshold, "
            f"{self.other_class:,} of other classes, {self.no_names:,} without usable names; "
            f"{self.malformed:,} malformed line(s); {self.rate:,.0f} entities/s"
        )


# --- reading -------------------------------------------------------------------------------------


@contextmanager
def open_dump(path: str | Path) -> Iterator[tuple[IO[bytes], IO[bytes] | None]]:
    """(decompressed line stream, raw file for byte progress or None). ``-`` reads stdin."""
    if str(path) == "-":
        yield sys.stdin.buffer, None
        return
    path = Path(path)
    with path.open("rb") as raw:
        magic = raw.read(3)
        raw.seek(0)
        # By content, not by name: a renamed .gz still reads.
        if magic[:2] == b"\x1f\x8b":
            stream: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="rb")
        elif magic == b"BZh":
            stream = bz2.BZ2File(raw, mode="rb")
        else:
            stream = raw
        with io.BufferedReader(stream, buffer_size=1 << 20) if stream is not raw else raw as lines:
            yield lines, raw


def iter_entities(lines: Iterable[bytes], stats: BuildStats, min_sitelinks: int = 0) -> Iterator[dict]:
    """Parsed entities of a dump's lines; malformed lines are counted in ``stats`` and skipped."""
    # Lines are ~10 kB on average: no copies (strip, slices) before the pre-check says "parse".
    for line in lines:
        end = len(line)
        while end and line[end - 1] in _TRAILING:
            end -= 1
        if not end or (end == 1 and line[0] in _BRACKETS):
            continue
        if line[0] != _OPEN:  # indented (a pretty-printed file): the slow path is fine
            line = line.strip(b" \t\r\n,")
            end = len(line)
            if not end or line in (b"[", b"]"):
                continue
        stats.read += 1
        if line[0:1] != b"{" or line[end - 1] != _CLOSE:
            stats.malformed += 1  # truncated or not an entity: no need to parse to know
            continue
        if min_sitelinks:
            # One "site" key per sitelink, counted from the "sitelinks" key (near the line's end).
            start = line.rfind(b'"sitelinks":', 0, end)
            if start < 0 or line.count(b'"site"', start, end) < min_sitelinks:
                stats.too_few_sitelinks += 1
                continue
        stats.parsed += 1
        try:
            entity = _loads(line[:end])
        except _JSON_ERRORS:
            stats.malformed += 1
            continue
        if isinstance(entity, dict):
            yield entity
        else:
            stats.malformed += 1


# --- one entity ----------------------------------------------------------------------------------


def instance_classes(entity: Mapping) -> list[str]:
    """QIDs of the item's P31 (instance of) values, deprecated statements left out."""
    out = []
    for claim in (entity.get("claims") or {}).get("P31") or []:
        if not isinstance(claim, dict) or claim.get("rank") == "deprecated":
            continue
        value = ((claim.get("mainsnak") or {}).get("datavalue") or {}).get("value")
        if isinstance(value, dict):
            qid = value.get("id") or (f"Q{value['numeric-id']}" if value.get("numeric-id") is not None else None)
            if qid:
                out.append(str(qid))
    return out


def entity_type(entity: Mapping, classes: Mapping[str, str]) -> str | None:
    types = {classes[q] for q in instance_classes(entity) if q in classes}
    return next((t for t in TYPE_ORDER if t in types), None)


def clean_form(form: Any) -> str | None:
    """The form as matched ("  Vladimir   Putin " -> "Vladimir Putin"), or None when unusable."""
    if not isinstance(form, str):
        return None
    form = " ".join(form.split())
    if len(form) < MIN_CHARS or len(form.split()) > MAX_WORDS:
        return None
    if not any(c.isupper() for c in form) or _BAD_CHARS.intersection(form):
        return None
    if " " not in form and form in COMMON_WORDS:
        return None
    return form


def _surnames(labels: Iterable[str]) -> set[str]:
    return {label.split()[-1] for label in labels if " " in label}


def entity_forms(entity: Mapping, languages: Iterable[str], *, person: bool = False) -> dict[str, list[str]]:
    """``{lang|all: [forms]}``: labels first, then aliases; ``mul`` -> ``all``."""
    labels = entity.get("labels") or {}
    aliases = entity.get("aliases") or {}
    langs = list(dict.fromkeys([*languages, MUL]))
    raw: dict[str, list[tuple[str, bool]]] = {}  # lang -> [(form, is_label)]
    for lang in langs:
        found: list[tuple[str, bool]] = []
        label = (labels.get(lang) or {}).get("value") if isinstance(labels.get(lang), dict) else None
        if label:
            found.append((label, True))
        for alias in aliases.get(lang) or []:
            if isinstance(alias, dict) and alias.get("value"):
                found.append((alias["value"], False))
        if found:
            raw[lang] = found

    surnames = _surnames(v for forms in raw.values() for v, is_label in forms if is_label and isinstance(v, str))
    forms_by_lang: dict[str, list[str]] = {}
    for lang, found in raw.items():
        kept: list[str] = []
        for value, is_label in found:
            form = clean_form(value)
            if form is None:
                continue
            # A person's one-word alias: the surname ("Poetin") yes, a nickname ("Vova") no.
            if person and not is_label and " " not in form and form not in surnames:
                continue
            if form not in kept:
                kept.append(form)
        if kept:
            forms_by_lang[ALL if lang == MUL else lang] = kept

    # A form in every configured language (or in mul) is written once, under `all`; with one
    # language only, `all` would claim languages the build never looked at.
    configured = [lang for lang in langs if lang != MUL]
    common = (
        set.intersection(*(set(forms_by_lang.get(lang, ())) for lang in configured)) if len(configured) > 1 else set()
    )
    everywhere = list(forms_by_lang.get(ALL, []))
    for lang in configured:
        everywhere += [f for f in forms_by_lang.get(lang, []) if f in common and f not in everywhere]
    out: dict[str, list[str]] = {ALL: everywhere} if everywhere else {}
    for lang in configured:
        rest = [f for f in forms_by_lang.get(lang, []) if f not in everywhere]
        if rest:
            out[lang] = rest
    return out


def entity_name(entity: Mapping, languages: Iterable[str]) -> str | None:
    labels = entity.get("labels") or {}
    for lang in ("en", MUL, *languages):
        label = labels.get(lang)
        if isinstance(label, dict) and clean_form(label.get("value")):
            return " ".join(label["value"].split())
    return None


def to_entry(
    entity: Mapping,
    classes: Mapping[str, str],
    languages: list[str],
    stats: BuildStats,
    min_sitelinks: int,
) -> dict | None:
    """The gazetteer entry for one parsed entity, or None (counted in ``stats``)."""
    qid = entity.get("id")
    if entity.get("type") != "item" or not isinstance(qid, str) or not qid.startswith("Q"):
        stats.other_class += 1
        return None
    sitelinks = entity.get("sitelinks") or {}
    if len(sitelinks) < min_sitelinks:
        stats.too_few_sitelinks += 1  # the "site" pre-check only gives an upper bound
        return None
    etype = entity_type(entity, classes)
    if etype is None:
        stats.other_class += 1
        return None
    name = entity_name(entity, languages)
    forms = entity_forms(entity, languages, person=etype == "PER")
    if name is None or not forms:
        stats.no_names += 1
        return None
    # The loader adds the name in every language itself; listing it again would only cost space.
    aliases = {lang: [f for f in fs if f != name] for lang, fs in forms.items()}
    entry = {"id": qid, "name": name, "type": etype, "sitelinks": len(sitelinks)}
    aliases = {lang: fs for lang, fs in aliases.items() if fs}
    if aliases:
        entry["aliases"] = aliases
    return entry


# --- writing -------------------------------------------------------------------------------------


def _header(dump: str, languages: list[str], min_sitelinks: int, classes: Mapping[str, str]) -> str:
    built = datetime.now(UTC).replace(microsecond=0).isoformat()
    meta = {
        "generated": True,
        "source": {
            "wikidata_dump": os.path.basename(dump) if dump != "-" else "<stdin>",
            "built_at": built,
            "min_sitelinks": min_sitelinks,
            "languages": languages,
            "classes": dict(classes),
        },
    }
    return (
        "# Generated by `newsstreams gazetteer build` from a Wikidata dump. Do not edit: rebuild it,\n"
        "# and put corrections in a curated file (curated entries and aliases win over these).\n"
        + yaml.dump(meta, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10_000)
        + "entries:\n"
    )


def _entry_line(entry: dict) -> str:
    # One flow mapping per line: greppable, diffable, and written as the dump is read. JSON syntax
    # (valid YAML): the gazetteer loader reads such lines with the JSON parser, ~30x faster than YAML.
    return "- " + json.dumps(entry, ensure_ascii=False) + "\n"


def build_gazetteer(
    dump: str | Path,
    out: str | Path,
    *,
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    min_sitelinks: int = 20,
    classes: Mapping[str, str] | None = None,
    on_progress: Callable[[BuildStats], None] | None = None,
    progress_every: int = 100_000,
) -> BuildStats:
    """Stream ``dump`` into the gazetteer file ``out`` (written to a temp file, then renamed)."""
    languages = list(dict.fromkeys(languages))
    if not languages:
        raise ValueError("at least one language is needed")
    classes = dict(DEFAULT_CLASSES if classes is None else classes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")  # not *.yaml: the loader never sees a half file
    stats = BuildStats()
    if str(dump) != "-":
        stats.bytes_total = Path(dump).stat().st_size
    try:
        with open_dump(dump) as (lines, raw), tmp.open("w", encoding="utf-8") as fh:
            fh.write(_header(str(dump), languages, min_sitelinks, classes))
            next_report = progress_every
            for entity in iter_entities(_counting(lines, stats, raw), stats, min_sitelinks):
                entry = to_entry(entity, classes, languages, stats, min_sitelinks)
                if entry is not None:
                    fh.write(_entry_line(entry))
                    stats.kept += 1
                    stats.by_type[entry["type"]] += 1
                if on_progress and stats.read >= next_report:
                    next_report = stats.read + progress_every
                    on_progress(stats)
            stats.elapsed_s = time.perf_counter() - stats.started
            fh.write(f"# {stats.summary()}\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    if on_progress:
        on_progress(stats)
    return stats


def _counting(lines: IO[bytes], stats: BuildStats, raw: IO[bytes] | None) -> Iterator[bytes]:
    """The lines, updating the compressed-bytes position every few thousand lines."""
    for i, line in enumerate(lines):
        if raw is not None and not i & 0x3FF:
            stats.bytes_read = raw.tell()
        yield line
    if raw is not None:
        stats.bytes_read = raw.tell()


def parse_classes(specs: Iterable[str], base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``["Q11032=ORG", ...]`` on top of ``base`` (the defaults); ``Q...=`` removes a class."""
    classes = dict(DEFAULT_CLASSES if base is None else base)
    for spec in specs:
        qid, sep, etype = spec.partition("=")
        qid, etype = qid.strip(), etype.strip().upper()
        if not sep or not qid.startswith("Q") or not qid[1:].isdigit():
            raise ValueError(f"expected QID=TYPE such as Q11032=ORG, got {spec!r}")
        if not etype:
            classes.pop(qid, None)
        elif etype in ("PER", "LOC", "ORG", "MISC"):
            classes[qid] = etype
        else:
            raise ValueError(f"type must be PER, LOC, ORG or MISC, got {etype!r} in {spec!r}")
    return classes
