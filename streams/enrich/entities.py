"""Named entities: one spaCy pipeline per language, model NER merged with gazetteer matches.

Pipeline per language (built once, at first use):

1. Base: the model ``streams.enrich.models.choose_model`` picks (the configured trained model,
   ``models[lang]``, a package name or a path, if installed; else ``fallback_model``, e.g. the
   multilingual ``xx_ent_wiki_sm``, if installed), the first that loads; else
   ``spacy.blank(lang)``, logged once as a warning. Components NER does not need (parser,
   lemmatizer, tagger, ...) are disabled: they cost most of a trained pipeline's time.
2. Tokenizer tuning, so that gazetteer acronyms are tokens of their own:
   - Dutch (like other languages) lists its abbreviations also in upper case ("vs." -> "VS."),
     so a sentence-final "VS." stays one token and the alias "VS" never matches. For every
     all-caps alias whose "<alias>." is a tokenizer special case, a new special case splits off
     the period. This is targeted: "vs." (versus) and other abbreviations are untouched, and the
     entity span is exactly "VS" (a regex token pattern would have swallowed the period).
   - A hyphen after an all-caps word is split off ("NAVO-lid", "NATO-Staaten", "EU-landen"), so
     the acronym matches; Dutch and German otherwise keep such compounds as one token.
3. A ``span_ruler`` (spaCy's successor of the EntityRuler: same patterns, same phrase matcher)
   runs FIRST and writes gazetteer matches to ``doc.spans["gazetteer"]`` instead of ``doc.ents``:
   the model's NER is then neither constrained by the matches nor overwriting them, and both sets
   reach ``merge_mentions`` intact. Matching is on ORTH (case-sensitive): the alias "VS" does not
   match "vs", and both "NATO" and "Nato" are listed where both are used.

Merge policy (``merge_mentions``): numeric model labels (DATE, MONEY, ...) are dropped first; then
longer spans (in characters) win over shorter overlapping ones, and on equal length the gazetteer
wins because it carries a link. A model mention whose exact text is a known alias of a compatible
type is linked too; otherwise it keeps ``id`` None and ``name`` = its text.

Labels are normalised to PER / LOC / ORG / MISC whatever the model's label set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import spacy
from spacy.lang.char_classes import ALPHA, ALPHA_UPPER
from spacy.language import Language
from spacy.tokens import Doc

from streams.enrich.gazetteer import XX, Gazetteer
from streams.enrich.models import ModelChoice, choose_model

log = logging.getLogger(__name__)

SPANS_KEY = "gazetteer"
RULER_NAME = "gazetteer"

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
    # NORP (nationalities, religious and political groups) is a group, not a place: MISC.
    "MISC": "MISC",
    "NORP": "MISC",
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


@dataclass(frozen=True, slots=True)
class Mention:
    start: int  # character offsets in the text the pipeline ran over
    end: int
    label: str
    source: str  # "model" | "gazetteer"
    key: str | None = None  # gazetteer entry key when linked


def merge_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    """Non-overlapping mentions in text order: longer spans first, gazetteer first on ties."""
    ranked = sorted(mentions, key=lambda m: (-(m.end - m.start), m.source != "gazetteer", m.start))
    if not ranked:
        return []
    taken = bytearray(max(m.end for m in ranked))
    chosen = []
    for m in ranked:
        if m.end <= m.start or any(taken[m.start : m.end]):
            continue
        taken[m.start : m.end] = b"\x01" * (m.end - m.start)
        chosen.append(m)
    chosen.sort(key=lambda m: m.start)
    return chosen


def _compatible(model_label: str, entry_type: str) -> bool:
    # A person is never a place; places, organisations and things are often each other's
    # metonyms (the Kremlin, Washington, the EU) and models disagree on them.
    return (model_label == "PER") == (entry_type == "PER")


@dataclass
class EntityPipeline:
    lang: str
    nlp: Language
    ner_model: str  # "<package>+gazetteer" | "blank+gazetteer"
    gazetteer: Gazetteer

    def mentions(self, doc: Doc, text: str | None = None) -> list[Mention]:
        """Merged, linked mentions of ``doc`` (``text`` = ``doc.text``, if the caller has it)."""
        text = doc.text if text is None else text  # Doc.text re-joins all tokens: once per doc
        found = [
            Mention(span.start_char, span.end_char, span.label_, "gazetteer", span.id_)
            for span in doc.spans.get(SPANS_KEY, ())
        ]
        for ent in doc.ents:
            label = normalise_label(ent.label_)
            if label is None or not any(ch.isalnum() for ch in ent.text):
                continue
            found.append(Mention(ent.start_char, ent.end_char, label, "model"))
        return [self._link(m, text) for m in merge_mentions(found)]

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
            nlp = spacy.load(name)
        except Exception as exc:  # noqa: BLE001 - a broken install must not stop the worker: fall through
            log.warning("spaCy model %r failed to load (%s); trying the next option", name, exc)
            continue
        for pipe in nlp.pipe_names:
            if pipe in _NOT_FOR_NER:
                nlp.disable_pipe(pipe)
        # A path-loaded pipeline is named like a package: <lang>_<name>.
        label = name if spacy.util.is_package(name) else f"{nlp.meta['lang']}_{nlp.meta['name']}"
        return nlp, label
    return spacy.blank(lang), None


def tune_tokenizer(nlp: Language, aliases: Iterable[str]) -> None:
    """Make all-caps aliases separate tokens (see module docstring)."""
    tokenizer = nlp.tokenizer
    rules = tokenizer.rules or {}
    for alias in aliases:
        if " " in alias or len(alias) < 2 or not alias.isupper() or not alias.isalpha():
            continue
        special = alias + "."
        if special in rules:
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
) -> EntityPipeline:
    """One pipeline for ``lang`` (``xx`` for undetermined text): base model + gazetteer ruler.

    The base is ``choice`` (``streams.enrich.models.model_for``), else the choice for ``model`` and
    ``fallback_model``. A language spaCy lacks is served by the ``xx`` pipeline: a ValueError here.
    """
    choice = choice or choose_model(lang, model=model, fallback_model=fallback_model)
    if choice.served_by != lang:
        raise ValueError(f"spaCy has no language {lang!r}: the {choice.served_by!r} pipeline serves it")
    nlp, base = _load_base(lang, choice.candidates)
    if base is None:
        log.warning(
            "no trained spaCy model for %r (tried %s); using spacy.blank(%r) + gazetteer: "
            "only gazetteer entities will be found",
            lang,
            list(choice.options) or "none",
            lang,
        )
    surfaces = gazetteer.surfaces(lang)
    tune_tokenizer(nlp, surfaces)
    ruler = nlp.add_pipe(
        "span_ruler",
        name=RULER_NAME,
        first=True,  # before the model: patterns are tokenised by the tokenizer alone (fast)
        config={"spans_key": SPANS_KEY, "phrase_matcher_attr": "ORTH", "validate": False},
    )
    ruler.add_patterns(gazetteer.patterns(lang))
    # The raw-article limits allow ~1M characters of body + title; spaCy's default cap is 1M.
    nlp.max_length = max(nlp.max_length, 2_100_000)
    ner_model = f"{base or 'blank'}+gazetteer" if surfaces else (base or "blank")
    return EntityPipeline(lang=lang, nlp=nlp, ner_model=ner_model, gazetteer=gazetteer)


def pipeline_language(lang: str) -> str:
    """spaCy language code for a detected language: ``und`` -> ``xx`` (multi-language)."""
    return lang if lang and lang != "und" else XX
