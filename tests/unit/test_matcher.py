"""The gazetteer matcher against what it replaces: spaCy's span ruler with one phrase pattern per alias."""

from __future__ import annotations

import json
import random
import textwrap
from functools import cache

import pytest
import spacy

from streams.enrich.entities import _ACRONYM_HYPHEN, RULER_NAME, build_pipeline, merge_mentions
from streams.enrich.gazetteer import XX, load_gazetteer
from streams.enrich.matcher import MATCHES_KEY, SPANS_KEY, Mention, _whole, surface_index
from streams.settings import PROJECT_DIR, config_dir

LANGS = ["nl", "en", "de", "fr", "es", "it"]


@cache
def gazetteer():
    return load_gazetteer(LANGS, config_dir() / "gazetteer")


def reference_pipeline(lang, gaz):
    """The pipeline as it was built before the matcher: tokenizer tweaks, then one span-ruler
    pattern per surface form, matched on ORTH."""
    import re

    nlp = spacy.blank(lang)
    tokenizer = nlp.tokenizer
    rules = tokenizer.rules or {}
    for alias in gaz.surfaces(lang):
        if " " in alias or len(alias) < 2 or not alias.isupper() or not alias.isalpha():
            continue
        if alias + "." in rules:
            tokenizer.add_special_case(alias + ".", [{"ORTH": alias}, {"ORTH": "."}])
    old = tokenizer.infix_finditer
    tokenizer.infix_finditer = re.compile(f"{old.__self__.pattern}|{_ACRONYM_HYPHEN}").finditer
    ruler = nlp.add_pipe(
        "span_ruler",
        name=RULER_NAME,
        config={"spans_key": SPANS_KEY, "phrase_matcher_attr": "ORTH", "validate": False},
    )
    ruler.add_patterns(gaz.patterns(lang))
    return nlp


@cache
def pipelines(lang):
    return reference_pipeline(lang, gazetteer()), build_pipeline(lang, gazetteer())


def texts():
    out = []
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))["article"]
        out.append(f"{article['title']}\n\n{article['body']}")
    out.append((PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt").read_text(encoding="utf-8"))
    out += [
        "Rusland wil garanties van de VS. Ajax vs. PSV, NAVO-lid, EU-landen, NATO-Staaten en de Nato.",
        "Putin's spokesman met Vladimir  Putin and Vladimir\nPutin in Washington D.C. on Monday.",
        "Los EE. UU. y la OTAN; l'Élysée, l'OTAN, aujourd'hui; Putins Plan; Ruslands president.",
        "POETIN EN DE NAVO. U.S. officials; the U.K. and the E.U.; St. Petersburg; Nord Stream 2.",
    ]
    return out


def random_texts(lang, n=40, seed=0):
    """Surface forms of the language next to each other, cut and glued with punctuation."""
    rng = random.Random(seed)
    forms = sorted(gazetteer().surfaces(lang))
    glue = [" ", " ", ", ", ". ", "-", "'s ", " (", ") ", "\n", "  ", "’", ":"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(5, 30)):
            form = rng.choice(forms)
            if rng.random() < 0.2:
                form = form[: rng.randrange(1, len(form) + 1)]
            parts += [form, rng.choice(glue)]
        out.append("".join(parts))
    return out


def raw_matches(doc):
    return sorted({(s.start_char, s.end_char, s.label_, s.id_) for s in doc.spans[SPANS_KEY]})


@pytest.mark.parametrize("lang", [*LANGS, XX])
def test_same_matches_as_the_span_ruler(lang):
    reference, pipe = pipelines(lang)
    for text in texts() + random_texts(lang):
        want, got = reference(text), pipe.nlp(text)
        assert [t.text for t in got] == [t.text for t in want]  # the same tokenizer tweaks
        # Every match of the ruler, except a second entry on the very same tokens (none here).
        assert raw_matches(got) == raw_matches(want), text
        assert pipe.mentions(got, text) == pipe.mentions(want, text), text
        assert got.user_data[MATCHES_KEY] == [
            Mention(s.start_char, s.end_char, s.label_, "gazetteer", s.id_) for s in got.spans[SPANS_KEY]
        ]


@pytest.mark.parametrize("lang", [*LANGS, XX])
def test_words_kept_whole_are_single_tokens(lang):
    """The shortcut behind the shared keys: a word ``_whole`` accepts is one token of itself."""
    _, pipe = pipelines(lang)
    tokenizer = pipe.nlp.tokenizer
    whole = _whole(tokenizer)
    words = {w for form in gazetteer().surfaces(lang) for w in form.split(" ")}
    words |= {"Putin's", "l'OTAN", "U.S.", "NAVO-lid", "2022", "EE.", "(Kyiv)", "Kyiv.", "vs.", "VS."}
    words |= {"cannot", "Cannot", "gonna", "Gimme", "zum", "aujourd'hui", "del", "al"}  # special cases, some
    for word in sorted(words):
        if whole(word):
            assert [t.text for t in tokenizer(word)] == [word], word


def test_forms_the_tokenizer_splits_are_matched_with_its_tokens(tmp_path):
    (tmp_path / "a.yaml").write_text(
        textwrap.dedent(
            """
            entries:
              - {id: Q1, name: Putin's Party, type: ORG}
              - {id: Q2, name: EU-landen Raad, type: ORG}
              - {id: Q3, name: Los EE. UU. Unidos, type: LOC}
              - {id: Q4, name: A.B.C. Holding, type: ORG}
              - {id: Q5, name: Cannot Stop Records, type: ORG}
            """
        ),
        encoding="utf-8",
    )
    gaz = load_gazetteer(["en", "nl", "es"], tmp_path, territories=False)
    for lang, text, want in [
        ("en", "Members of Putin's Party met.", "Putin's Party"),
        ("nl", "De EU-landen Raad besloot.", "EU-landen Raad"),
        ("es", "Según Los EE. UU. Unidos, nada.", "Los EE. UU. Unidos"),
        ("en", "Shares of A.B.C. Holding fell.", "A.B.C. Holding"),
        ("en", "She signed with Cannot Stop Records.", "Cannot Stop Records"),
    ]:
        pipe, reference = build_pipeline(lang, gaz), reference_pipeline(lang, gaz)
        got = [text[m.start : m.end] for m in pipe.mentions(pipe.nlp(text), text)]
        assert got == [want] and raw_matches(pipe.nlp(text)) == raw_matches(reference(text)), (lang, got)


TRICKY = [
    "Groot-Amsterdam", "J. Smith", "L'Oréal Paris", "St. Louis Blues", "AT&T Inc.", "Procter & Gamble",
    "U.S. Steel", "E.ON", "3M", "Yahoo!", "Coca-Cola", "McDonald's", "Ben & Jerry's", "Saint-Étienne",
    "Baden-Württemberg", "Los EE. UU. Unidos", "EE. UU.", "Dr. No", "Apple Inc.", "A.B.C. Holding",
    "Marks & Spencer plc", "d'Alembert", "O'Neill", "Al-Qaida", "H&M", "C&A", "Ph.D. Group", "N.V. Nederlandsche",
    "Sint-Maarten", "NAVO-lid Noorwegen", "Putin's Party", "Cannot Stop Records", "Vol. 2 Records",
]  # fmt: skip


@pytest.mark.parametrize("lang", [*LANGS, XX])
def test_every_form_matches_its_own_tokens(lang, tmp_path):
    """Each form, tokenised as the pipeline tokenises text, is matched over its whole length and
    linked to its own entry (unless another form has the very same tokens)."""
    (tmp_path / "a.yaml").write_text(
        "entries:\n"
        + "".join(f"  - {{id: Q{i + 1}, name: {json.dumps(f)}, type: ORG}}\n" for i, f in enumerate(TRICKY)),
        encoding="utf-8",
    )
    for gaz in (gazetteer(), load_gazetteer(LANGS, tmp_path, territories=False)):
        pipe = build_pipeline(lang, gaz, spans=False)
        nlp = pipe.nlp
        forms = gaz.surfaces(lang)
        docs = {form: nlp.make_doc(form) for form in forms}
        by_tokens: dict[tuple, set] = {}
        for form, doc in docs.items():
            by_tokens.setdefault(tuple(t.text for t in doc), set()).add(forms[form])
        for form, doc in docs.items():
            nlp.get_pipe(RULER_NAME)(doc)
            whole = [m for m in doc.user_data[MATCHES_KEY] if (m.start, m.end) == (0, len(form))]
            assert len(whole) == 1, (lang, form)
            keys = by_tokens[tuple(t.text for t in doc)]
            assert whole[0].key == forms[form] or len(keys) > 1, (lang, form, whole[0].key)


def test_forms_do_not_fill_the_pipelines_vocabulary(tmp_path):
    """Past 10,000 lexemes spaCy keeps new words out of the vocabulary and its tokenizer stops
    caching them: the forms' words must not take those places from the words of the news."""
    names = [f"({chr(65 + i % 26)}{i:05d}stad)" for i in range(3000)]  # split by the tokenizer
    (tmp_path / "a.yaml").write_text(
        "entries:\n" + "".join(f"  - {{id: Q{i + 1}, name: '{n}', type: LOC}}\n" for i, n in enumerate(names)),
        encoding="utf-8",
    )
    gaz = load_gazetteer(["nl"], tmp_path, territories=False)
    pipe = build_pipeline("nl", gaz, spans=False)
    assert len(pipe.nlp.vocab) <= len(spacy.blank("nl").vocab) + 10
    text = f"De gemeente {names[7]} en {names[2999]} werken samen."
    assert [text[m.start : m.end] for m in pipe.mentions(pipe.nlp(text), text)] == [names[7], names[2999]]


def test_two_entries_on_the_same_tokens_keep_the_rulers_choice(tmp_path):
    # "Putin's" and "Putin 's" are the same tokens: the ruler made two spans, the merge kept the first.
    (tmp_path / "a.yaml").write_text(
        "entries:\n"
        "  - {id: Q1, name: Putin's, type: PER}\n"
        "  - {id: Q2, name: Putin 's, type: LOC}\n"
        "  - {id: Q3, name: Kyiv, type: LOC}\n",
        encoding="utf-8",
    )
    gaz = load_gazetteer(["en"], tmp_path, territories=False)
    text = "Putin's visit to Kyiv and Putin 's plan."
    pipe, reference = build_pipeline("en", gaz), reference_pipeline("en", gaz)
    want = pipe.mentions(reference(text), text)
    assert pipe.mentions(pipe.nlp(text), text) == want
    assert [m.key for m in want] == ["Q2", "Q3", "Q2"]


def test_spans_can_be_left_out():
    pipe = build_pipeline("nl", gazetteer(), spans=False)
    doc = pipe.nlp("Poetin sprak met Macron.")
    assert SPANS_KEY not in doc.spans
    assert [(m.key, m.source) for m in pipe.mentions(doc)] == [("Q7747", "gazetteer"), ("Q3052772", "gazetteer")]


def test_one_index_serves_every_pipeline_of_a_gazetteer():
    gaz = gazetteer()
    nl, de = build_pipeline("nl", gaz), build_pipeline("de", gaz)
    matcher_nl, matcher_de = nl.nlp.get_pipe(RULER_NAME), de.nlp.get_pipe(RULER_NAME)
    assert matcher_nl.index is matcher_de.index is surface_index(gaz)
    assert matcher_nl.tag != matcher_de.tag


def reference_merge(mentions):
    """merge_mentions as first written."""
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


@pytest.mark.parametrize("seed", range(200))
def test_merge_is_the_original_rule(seed):
    rng = random.Random(seed)
    mentions = []
    for _ in range(rng.randrange(0, 12)):
        start = rng.randrange(0, 40)
        end = start + rng.choice([0, 1, 2, 3, 5, 8]) if rng.random() < 0.9 else start - 1
        source = rng.choice(["model", "gazetteer"])
        mentions.append(
            Mention(start, end, rng.choice(["PER", "LOC"]), source, f"Q{seed}" if source == "gazetteer" else None)
        )
    if seed % 3 == 0:  # often nothing overlaps: the short way
        mentions = [Mention(10 * i, 10 * i + 4, "LOC", "gazetteer", "Q1") for i in range(rng.randrange(0, 6))]
        rng.shuffle(mentions)
    got = merge_mentions(mentions)
    want = reference_merge(mentions)
    assert got == want and all(a is b for a, b in zip(got, want, strict=True))
