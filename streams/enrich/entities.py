"""Named entities: one spaCy pipeline per language, model NER merged with gazetteer matches.

Pipeline per language (built once, at first use):

1. Base: the model ``streams.enrich.models.choose_model`` picks (the configured trained model,
   ``models[lang]``, a package name or a path, if installed; else ``fallback_model``, e.g. the
   multilingual ``xx_ent_wiki_sm``, if installed), the first that loads; else
   ``spacy.blank(lang)``, logged once as a warning. Components NER does not need (parser,
   lemmatizer, tagger, ...) are not even loaded (``exclude``): they cost most of a trained
   pipeline's time and memory. A shared embedding component (``tok2vec``, ``transformer``) that
   no enabled component listens to is then disabled (``unheard_embedders``): in the official
   small and medium models NER embeds tokens itself, and the shared ``tok2vec`` only fed the
   parser and the morphologizer.
2. Tokenizer tuning, so that gazetteer acronyms are tokens of their own:
   - Dutch (like other languages) lists its abbreviations also in upper case ("vs." -> "VS."),
     so a sentence-final "VS." stays one token and the alias "VS" never matches. For every
     all-caps alias whose "<alias>." is a tokenizer special case, a new special case splits off
     the period. This is targeted: "vs." (versus) and other abbreviations are untouched, and the
     entity span is exactly "VS" (a regex token pattern would have swallowed the period).
   - A hyphen after an all-caps word is split off ("NAVO-lid", "NATO-Staaten", "EU-landen"), so
     the acronym matches; Dutch and German otherwise keep such compounds as one token.
3. The gazetteer matcher (``streams.enrich.matcher``: the semantics of spaCy's ``span_ruler`` with
   one phrase pattern per alias, at a cost that does not grow with the number of aliases) runs
   FIRST and writes gazetteer matches to ``doc.spans["gazetteer"]`` instead of ``doc.ents``: the
   model's NER is then neither constrained by the matches nor overwriting them, and both sets
   reach ``merge_mentions`` intact. Matching is on ORTH (case-sensitive): the alias "VS" does not
   match "vs", and both "NATO" and "Nato" are listed where both are used.

Model spans are settled before the merge (``EntityPipeline.settle``; the same rules serve any span
that did not come from the gazetteer, e.g. rule-based ones), following the annotation guidelines of
docs/EVALUATION.md:

1. Numeric labels (DATE, MONEY, ...) and NORP (nationalities, religious and political groups) are
   dropped; so are spans that start with a lower-case word (common nouns and institutions written
   as such: "posidonie", "ministère de la Santé", "université de Tours"; a person only when wholly
   in lower case: "de Gaulle" starts with a particle). A span is cut at a line break or a
   headline's colon: names do not run across one.
2. A leading determiner or elision of the language (``DETERMINERS``: "the", "het", "l'", ...) is
   trimmed ("l'Espagne" -> "Espagne"), except where it belongs to the name. The gazetteer decides
   first: the full form is kept when it is a known alias and the trimmed one is not ("Den Haag",
   "The Lancet" when listed), trimmed when only the trimmed one is known ("The European Union").
   When neither is known, a capitalised article inside a sentence is the writer marking it as part
   of the name ("published in The Lancet", "zoals De Nachtwacht"): kept; else trimmed. A person's
   span also loses the lower-case words in front of the name, titles ("général de Gaulle" -> "de
   Gaulle"), but keeps short ones, particles of the name ("de", "van der").
3. One-word MISC/LOC spans that are nationality words ("Danois", "Russian", "Russische") and
   weekday names at a sentence start ("Vendredi, le peloton") are dropped, unless the gazetteer
   knows the word as an alias (``streams.enrich.demonyms``: derived from CLDR, not listed by hand).
4. A span whose (trimmed) text is a known alias of a compatible type is linked.
5. An unlinked person's span that ends with a linked gazetteer match of a person's full name (two
   words or more) gives way to that match, which keeps its link: what is in front is a title
   ("Bundeskanzler Friedrich Merz", "Premier ministre britannique Keir Starmer"), as a first name
   cannot come before a full name. In front of a one-word name a capitalised word may be a first
   name ("Brigitte Macron" is not Emmanuel Macron): the longer span stays, unlinked (lower-case
   titles went in rule 2). Other labels never give way: "Banque de France" is not France, "New
   Mexico" is not Mexico, "Paris Saint-Germain" is not Paris.
6. A model's unlinked person on exactly the span of a gazetteer place or organisation wins over it
   ("Washington crossed the Delaware": a person is never linked to a place; the model read the
   context). The reverse is not done: a known person's name is rarely a place.

7. Where a trained model runs, the people and organisation rules (``streams.enrich.rules``) correct
   its unlinked mentions (``corrected_by_rules``): a rule mention that starts where a model mention
   starts gives it its label, and its end where it reaches further. Small models find names well
   but type institutions badly ("Météo-France" LOC, "ARS" MISC) and cut names at a particle or a
   legal form; the rules read the name's own words (head words, acronyms, given names).

Where no trained model runs, the same rules add their mentions before the merge: one that overlaps
a settled model mention is dropped, one whose text is a known alias of a compatible type is linked.

Merge policy (``merge_mentions``): longer spans (in characters) win over shorter overlapping ones,
and on equal length the gazetteer wins because it carries a link. A model mention that is not a
known alias keeps ``id`` None and ``name`` = its text.

Labels are normalised to PER / LOC / ORG / MISC whatever the model's label set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter

import spacy
from spacy.lang.char_classes import ALPHA, ALPHA_UPPER
from spacy.language import Language
from spacy.tokens import Doc

from streams.enrich.demonyms import is_nationality_word, is_weekday, nationality_words, weekday_names
from streams.enrich.gazetteer import XX, Gazetteer
from streams.enrich.matcher import FACTORY, MATCHES_KEY, SPANS_KEY, GazetteerMatcher, Mention
from streams.enrich.models import ModelChoice, choose_model
from streams.enrich.rules import LANGUAGES as RULE_LANGUAGES
from streams.enrich.rules import EntityRules, drop_overlapping

log = logging.getLogger(__name__)

RULER_NAME = "gazetteer"
__all__ = ["SPANS_KEY", "Mention", "EntityPipeline", "build_pipeline", "merge_mentions", "normalise_label"]

# Model label -> our label; None = not an entity for us (numbers, dates).
LABELS: dict[str, str | None] = {
    "PER": "PER",
    "PERSON": "PER",
    "persName": "PER",
    "LOC": "LOC",
    "GPE": "LOC",
    "FAC": "LOC",
    "placeName": "LOC",
    "geogName": "LOC",
    "ORG": "ORG",
    "orgName": "ORG",
    "MISC": "MISC",
    # NORP: nationalities, religious and political groups ("Russian", "Muslims"): the annotation
    # guidelines do not annotate demonyms and such adjectives.
    "NORP": None,
    "EVENT": "MISC",
    "PRODUCT": "MISC",
    "WORK_OF_ART": "MISC",
    "LAW": "MISC",
    "LANGUAGE": "MISC",
    "DATE": None,
    "TIME": None,
    "PERCENT": None,
    "MONEY": None,
    "QUANTITY": None,
    "ORDINAL": None,
    "CARDINAL": None,
    "date": None,
    "time": None,
}

# Components a trained pipeline runs that NER does not need.
_NOT_FOR_NER = {
    "parser",
    "tagger",
    "morphologizer",
    "lemmatizer",
    "trainable_lemmatizer",
    "attribute_ruler",
    "senter",
    "sentencizer",
    "textcat",
    "textcat_multilabel",
    "spancat",
}

# A hyphen after an all-caps word (>= 2 capitals) and before a letter: "NAVO-lid" -> NAVO - lid.
_ACRONYM_HYPHEN = rf"(?<=[{ALPHA_UPPER}][{ALPHA_UPPER}])-(?=[{ALPHA}])"


def normalise_label(label: str) -> str | None:
    """spaCy label -> PER/LOC/ORG/MISC, or None to drop. Unknown labels become MISC."""
    if label in LABELS:
        return LABELS[label]
    return LABELS.get(label.upper(), "MISC")


def merge_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    """Non-overlapping mentions in text order: longer spans first, gazetteer first on ties."""
    ordered = sorted(mentions, key=_START_END)
    last_end = -1
    for m in ordered:
        if m.end <= m.start or m.start < last_end:
            break
        last_end = m.end
    else:  # nothing overlaps, nothing is empty: every mention stays (the general rule's result)
        return ordered
    ranked = sorted(ordered, key=_rank)
    taken = bytearray(max(m.end for m in ranked))
    chosen = []
    for m in ranked:
        start, end = m.start, m.end
        if end <= start or taken.find(1, start, end) >= 0:
            continue
        taken[start:end] = b"\x01" * (end - start)
        chosen.append(m)
    chosen.sort(key=_START)
    return chosen


_START_END = itemgetter(0, 1)
_START = itemgetter(0)


def _rank(m: Mention) -> tuple[int, bool, int]:
    return (m.start - m.end, m.source != "gazetteer", m.start)


def _compatible(model_label: str, entry_type: str) -> bool:
    # A person is never a place; places, organisations and things are often each other's
    # metonyms (the Kremlin, Washington, the EU) and models disagree on them.
    return (model_label == "PER") == (entry_type == "PER")


# Leading determiners and elisions per language, trimmed from model spans (see the module docstring).
DETERMINERS: dict[str, tuple[str, ...]] = {
    "en": ("the",),
    "nl": ("de", "het", "'t", "’t"),
    "de": ("der", "die", "das", "den", "dem", "des"),
    "fr": ("le", "la", "les", "l'", "l’"),
    "es": ("el", "la", "los", "las"),
    "it": ("il", "lo", "la", "i", "gli", "le", "l'", "l’"),
}
# What may come before a sentence's first word (after spaces): a capital there says nothing.
_SENTENCE_OPENERS = frozenset("\n.!?:;«»\"“”„‘’'([—–…")
# Labels a one-word nationality word may carry in a model's output ("Danois" LOC, "Russian" MISC).
_NATIONALITY_LABELS = frozenset({"MISC", "LOC"})


def _determiner_pattern(lang: str) -> re.Pattern | None:
    words = DETERMINERS.get(lang)
    if not words:
        return None
    # A word is followed by whitespace; an elision (ends in an apostrophe) runs into the next word.
    alternatives = [re.escape(w) + (r"(?=\w)" if w[-1] in "'’" else r"\s+") for w in words]
    return re.compile("(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")", re.IGNORECASE)


_BREAK = re.compile(r"\n|\s*:\s")


def _cut_at_line_break(m: Mention, text: str) -> Mention:
    """Rule 1: a name does not run across a line break (the tokenizer kept a final period on the word
    before it: "Moody's.\n\nDans l'hémicycle") nor a headline's colon ("Tour de France : Pogačar"):
    the span ends before it, without that period."""
    found = _BREAK.search(text, m.start, m.end)
    if found is None:
        return m
    end = len(text[m.start : found.start()].rstrip().removesuffix(".")) + m.start
    return m._replace(end=end)


_WORD = re.compile(r"\S+")
_PARTICLE_MAX = 3  # "de", "van", "von", "der", "du", "la": longer lower-case words are titles


def _without_titles(m: Mention, text: str) -> Mention:
    """Rule 2 for a person: without the lower-case words in front of the name ("général de Gaulle"
    -> "de Gaulle", "président Poutine" -> "Poutine"); short ones are particles of it and stay."""
    if m.label != "PER":
        return m
    start = m.start
    for word in _WORD.finditer(text, m.start, m.end):
        w = word.group()
        if len(w) <= _PARTICLE_MAX or not w.islower():
            break
        start = word.end()
    if start == m.start:
        return m
    while start < m.end and text[start].isspace():
        start += 1
    return m._replace(start=start)


def _sentence_start(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_OPENERS


@dataclass
class EntityPipeline:
    lang: str
    nlp: Language
    ner_model: str  # "<package>+gazetteer" | "blank+gazetteer"
    gazetteer: Gazetteer
    rules: EntityRules | None = None  # PER/ORG rules (``streams.enrich.rules``) of the language
    trained: bool = False  # a trained NER runs: the rules only correct its mentions (rule 7)

    def __post_init__(self) -> None:
        self._determiner = _determiner_pattern(self.lang)

    def mentions(self, doc: Doc, text: str | None = None) -> list[Mention]:
        """Merged, linked mentions of ``doc`` (``text`` = ``doc.text``, if the caller has it)."""
        text = doc.text if text is None else text  # Doc.text re-joins all tokens: once per doc
        matched = doc.user_data.get(MATCHES_KEY)  # the matcher's, as Mentions
        ents = doc.ents
        if matched is not None and not ents and self.rules is None:
            return merge_mentions(matched)  # gazetteer mentions only: all linked already
        if matched is not None:
            gazetteer = list(matched)
        else:  # a doc annotated otherwise
            gazetteer = [
                Mention(span.start_char, span.end_char, span.label_, "gazetteer", span.id_)
                for span in doc.spans.get(SPANS_KEY, ())
            ]
        model = []
        for ent in ents:
            label = normalise_label(ent.label_)
            if label is not None:
                model.append(Mention(ent.start_char, ent.end_char, label, "model"))
        settled = self.settle(model, gazetteer, text)
        # Rule 6: a model's person on exactly a gazetteer place or organisation ("Washington crossed
        # the Delaware"): places are often named like people, and the model read the context.
        people = {(m.start, m.end) for m in settled if m.label == "PER" and m.key is None}
        if people:
            gazetteer = [g for g in gazetteer if g.label == "PER" or (g.start, g.end) not in people]
        if self.rules is not None and self.trained:
            settled = corrected_by_rules(settled, self.rules.find(text, gazetteer))
        elif self.rules is not None:  # never over a model's mention; linked where the gazetteer knows them
            ruled = drop_overlapping(self.rules.find(text, gazetteer), settled)
            settled += [m if m.key is not None else self._link(m, text) for m in ruled]
        return merge_mentions(gazetteer + settled)

    def settle(self, proposed: Iterable[Mention], gazetteer: Iterable[Mention], text: str) -> list[Mention]:
        """Rules 1-5 of the module docstring for spans that did not come from the gazetteer (a model's,
        rule-based ones): trimmed, dropped, linked, or given way to a linked gazetteer match inside
        them. ``gazetteer``: the document's gazetteer mentions; ``text``: what offsets refer to."""
        ending_at: dict[int, list[Mention]] = {}
        for g in gazetteer:
            if g.key is not None:
                ending_at.setdefault(g.end, []).append(g)
        out = []
        for m in proposed:
            if m.key is None:
                m = _without_titles(self._trim(_cut_at_line_break(m, text), text), text)
                if self._not_a_name(m, text):
                    continue
                m = self._link(m, text)
            if m.key is None and self._gives_way(m, ending_at.get(m.end, ()), text):
                continue
            out.append(m)
        return out

    def _known(self, surface: str, label: str) -> bool:
        entry = self.gazetteer.lookup(surface, self.lang)
        return entry is not None and _compatible(label, entry.type)

    def _trim(self, m: Mention, text: str) -> Mention:
        """Rule 2: without its leading determiner, unless that belongs to the name."""
        found = self._determiner.match(text, m.start, m.end) if self._determiner else None
        if found is None or found.end() >= m.end:
            return m
        full, trimmed = text[m.start : m.end], text[found.end() : m.end]
        full_known, trimmed_known = self._known(full, m.label), self._known(trimmed, m.label)
        if full_known != trimmed_known:
            keep = full_known
        else:  # neither (or both) known: a capital inside a sentence marks the article as the name's
            keep = text[m.start].isupper() and not _sentence_start(text, m.start)
        return m if keep else m._replace(start=found.end())

    def _not_a_name(self, m: Mention, text: str) -> bool:
        """Rules 1 and 3: nothing alphanumeric, a lower-case start, a nationality word or a weekday."""
        surface = text[m.start : m.end]
        if not any(ch.isalnum() for ch in surface):
            return True
        first = surface.split(maxsplit=1)[0]
        # Cased and without a capital (scripts without case are not judged this way). A person's
        # name may start with a particle ("de Gaulle", "van Gogh"): only a person in lower case.
        lower_start = any(ch.islower() for ch in first) and not any(ch.isupper() for ch in first)
        if lower_start and (m.label != "PER" or not any(ch.isupper() for ch in surface)):
            return self.gazetteer.lookup(surface, self.lang) is None
        # A weekday is capitalised only by its place ("Vendredi, le peloton ..."): elsewhere it may
        # be a name ("Sheffield Wednesday" as "Wednesday").
        if (is_weekday(surface, self.lang) and _sentence_start(text, m.start)) or (
            m.label in _NATIONALITY_LABELS and is_nationality_word(surface, self.lang)
        ):
            return self.gazetteer.lookup(surface, self.lang) is None  # a known alias is a name
        return False

    def _gives_way(self, m: Mention, ending_here: Iterable[Mention], text: str) -> bool:
        """Rule 5: a person's span ends with a linked full name (two words or more) of a person."""
        if m.label != "PER":
            return False
        return any(
            g.start > m.start and g.label == "PER" and any(ch.isspace() for ch in text[g.start : g.end])
            for g in ending_here
        )

    def _link(self, m: Mention, text: str) -> Mention:
        if m.key is not None:
            return m
        entry = self.gazetteer.lookup(text[m.start : m.end], self.lang)
        if entry is not None and _compatible(m.label, entry.type):
            return Mention(m.start, m.end, entry.type, m.source, entry.key)
        return m


def _load_base(lang: str, candidates: Iterable[str]) -> tuple[Language, str | None]:
    """The first installed candidate that loads, else ``spacy.blank(lang)`` (label None)."""
    for name in candidates:
        try:
            nlp = spacy.load(name, exclude=sorted(_NOT_FOR_NER))
        except Exception as exc:  # noqa: BLE001 - a broken install must not stop the worker: fall through
            log.warning("spaCy model %r failed to load (%s); trying the next option", name, exc)
            continue
        for pipe in nlp.pipe_names:
            if pipe in _NOT_FOR_NER:
                nlp.disable_pipe(pipe)
        for pipe in unheard_embedders(nlp):
            log.info("%s: %r disabled: no enabled component listens to it", name, pipe)
            nlp.disable_pipe(pipe)
        # A path-loaded pipeline is named like a package: <lang>_<name>.
        label = name if spacy.util.is_package(name) else f"{nlp.meta['lang']}_{nlp.meta['name']}"
        return nlp, label
    return spacy.blank(lang), None


def unheard_embedders(nlp: Language) -> list[str]:
    """Enabled components that only embed tokens for listeners (``tok2vec``, ``transformer``: they
    have ``listening_components``) while no other enabled component listens to them."""
    enabled = set(nlp.pipe_names)
    out = []
    for name, proc in nlp.pipeline:
        listeners = getattr(proc, "listening_components", None)
        if listeners is not None and not (set(listeners) & (enabled - {name})):
            out.append(name)
    return out


def tune_tokenizer(nlp: Language, is_alias: Callable[[str], bool]) -> None:
    """Make all-caps aliases separate tokens (see module docstring)."""
    tokenizer = nlp.tokenizer
    rules = tokenizer.rules or {}
    # From the special cases (thousands), not the aliases (up to millions): "<ALIAS>." -> is ALIAS one?
    for special in [k for k in rules if k.endswith(".")]:
        alias = special[:-1]
        if " " in alias or len(alias) < 2 or not alias.isupper() or not alias.isalpha():
            continue
        if is_alias(alias):
            tokenizer.add_special_case(special, [{"ORTH": alias}, {"ORTH": "."}])
    old = tokenizer.infix_finditer
    pattern = _ACRONYM_HYPHEN if old is None else f"{old.__self__.pattern}|{_ACRONYM_HYPHEN}"
    tokenizer.infix_finditer = re.compile(pattern).finditer


def build_pipeline(
    lang: str,
    gazetteer: Gazetteer,
    *,
    model: str | None = None,
    fallback_model: str | None = None,
    choice: ModelChoice | None = None,
    spans: bool = True,
    rules: bool = True,
) -> EntityPipeline:
    """One pipeline for ``lang`` (``xx`` for undetermined text): base model + gazetteer ruler.

    The base is ``choice`` (``streams.enrich.models.model_for``), else the choice for ``model`` and
    ``fallback_model``. A language spaCy lacks is served by the ``xx`` pipeline: a ValueError here.
    ``spans``: also write the gazetteer matches to ``doc.spans["gazetteer"]`` (``mentions`` reads
    them from ``doc.user_data``; the Enricher leaves spans out). ``rules``: where no trained model
    loads, add the people and organisations rules (``streams.enrich.rules``) of a language that has them.
    """
    choice = choice or choose_model(lang, model=model, fallback_model=fallback_model)
    if choice.served_by != lang:
        raise ValueError(f"spaCy has no language {lang!r}: the {choice.served_by!r} pipeline serves it")
    nlp, base = _load_base(lang, choice.candidates)
    if base is None:
        log.warning(
            "no trained spaCy model for %r (tried %s); using spacy.blank(%r) + gazetteer%s",
            lang,
            list(choice.options) or "none",
            lang,
            " + people and organisation rules" if rules and lang in RULE_LANGUAGES else ": only gazetteer entities",
        )
    tune_tokenizer(nlp, lambda alias: gazetteer.lookup(alias, lang) is not None)
    matcher: GazetteerMatcher = nlp.add_pipe(FACTORY, name=RULER_NAME, first=True, config={"spans": spans})
    matcher.configure(nlp, gazetteer, lang)  # after the tokenizer is tuned: forms are tokenised by it
    # The raw-article limits allow ~1M characters of body + title; spaCy's default cap is 1M.
    nlp.max_length = max(nlp.max_length, 2_100_000)
    ner_model = f"{base or 'blank'}+gazetteer" if gazetteer.size(lang) else (base or "blank")
    if base is not None:  # built now (CLDR, ~0.1 s), not while the first article waits
        nationality_words(lang)
        weekday_names(lang)
    with_rules = EntityRules(lang).load() if rules and lang in RULE_LANGUAGES else None
    return EntityPipeline(
        lang=lang, nlp=nlp, ner_model=ner_model, gazetteer=gazetteer, rules=with_rules, trained=base is not None
    )


def corrected_by_rules(model: list[Mention], ruled: list[Mention]) -> list[Mention]:
    """Rule 7: a small model finds names well and types institutions badly ("Météo-France" LOC, "ARS"
    MISC) and cuts names short ("Claire" of "Claire de Saint-Aubin", "Fromagerie Bréhault" of
    "Fromagerie Bréhault SAS"). A rule mention that starts where an unlinked model mention starts
    gives it its label, and its end where it reaches further (what it then covers is dropped)."""
    by_start = {r.start: r for r in ruled}
    out: list[Mention] = []
    covered_until = -1
    for m in sorted(model):
        if m.start < covered_until:
            continue
        rule = by_start.get(m.start) if m.key is None else None
        if rule is not None:
            m = m._replace(label=rule.label, end=max(m.end, rule.end))
            covered_until = m.end
        out.append(m)
    return out


def pipeline_language(lang: str) -> str:
    """spaCy language code for a detected language: ``und`` -> ``xx`` (multi-language)."""
    return lang if lang and lang != "und" else XX
