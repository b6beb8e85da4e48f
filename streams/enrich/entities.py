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

Merge policy (``merge_mentions``): numeric model labels (DATE, MONEY, ...) are dropped first; then
longer spans (in characters) win over shorter overlapping ones, and on equal length the gazetteer
wins because it carries a link. A model mention whose exact text is a known alias of a compatible
type is linked too; otherwise it keeps ``id`` None and ``name`` = its text.

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


@dataclass
class EntityPipeline:
    lang: str
    nlp: Language
    ner_model: str  # "<package>+gazetteer" | "blank+gazetteer"
    gazetteer: Gazetteer
    rules: EntityRules | None = None  # PER/ORG rules (``streams.enrich.rules``) where no trained NER runs

    def mentions(self, doc: Doc, text: str | None = None) -> list[Mention]:
        """Merged, linked mentions of ``doc`` (``text`` = ``doc.text``, if the caller has it)."""
        text = doc.text if text is None else text  # Doc.text re-joins all tokens: once per doc
        matched = doc.user_data.get(MATCHES_KEY)  # the matcher's, as Mentions
        ents = doc.ents
        if matched is not None and not ents and self.rules is None:
            return merge_mentions(matched)  # gazetteer mentions only: all linked already
        if matched is not None:
            found = list(matched)
        else:  # a doc annotated otherwise
            found = [
                Mention(span.start_char, span.end_char, span.label_, "gazetteer", span.id_)
                for span in doc.spans.get(SPANS_KEY, ())
            ]
        model = []
        for ent in ents:
            label = normalise_label(ent.label_)
            if label is None or not any(ch.isalnum() for ch in ent.text):
                continue
            model.append(Mention(ent.start_char, ent.end_char, label, "model"))
        if self.rules is not None:  # never over a model's mention; the merge settles them with the gazetteer
            found += drop_overlapping(self.rules.find(text, found), model)
        found += model
        return [m if m.key is not None else self._link(m, text) for m in merge_mentions(found)]

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
    with_rules = EntityRules(lang).load() if rules and base is None and lang in RULE_LANGUAGES else None
    return EntityPipeline(lang=lang, nlp=nlp, ner_model=ner_model, gazetteer=gazetteer, rules=with_rules)


def pipeline_language(lang: str) -> str:
    """spaCy language code for a detected language: ``und`` -> ``xx`` (multi-language)."""
    return lang if lang and lang != "und" else XX
