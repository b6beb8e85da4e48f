"""Language detection: py3langid restricted to the configured languages, hints checked."""

import json
import random

import numpy as np
import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier, visit_counts

from streams.enrich.language import (
    _MEMORY_WINDOWS,
    UND,
    FastIdentifier,
    LanguageDetector,
    memory_window,
    model_digest,
    normalise_hint,
)
from streams.settings import PROJECT_DIR

LANGS = ["nl", "en", "de", "fr", "es", "it"]

PARAGRAPHS = {
    "nl": "Het kabinet wil volgend jaar extra geld uittrekken voor de zorg en het onderwijs. "
    "De oppositie vindt dat de plannen te weinig doen aan de hoge kosten van boodschappen.",
    "en": "The government plans to spend more on health care and education next year, while the "
    "opposition says the proposals do too little about the rising cost of groceries.",
    "de": "Die Bundesregierung will im kommenden Jahr mehr Geld für Gesundheit und Bildung "
    "ausgeben. Die Opposition kritisiert, die Pläne täten zu wenig gegen die hohen Preise.",
    "fr": "Le gouvernement veut consacrer davantage d'argent à la santé et à l'éducation l'an "
    "prochain. L'opposition estime que ces projets ne font pas assez contre la hausse des prix.",
}

TITLES = {
    "nl": "Kabinet wil extra geld voor defensie",
    "en": "Stocks fall as inflation rises",
    "de": "Die Regierung plant neue Steuern",
    "fr": "Le gouvernement annonce des mesures",
}


@pytest.fixture(scope="module")
def detector():
    return LanguageDetector(LANGS)


@pytest.mark.parametrize("lang", sorted(PARAGRAPHS))
def test_paragraphs(detector, lang):
    got, conf = detector.detect(PARAGRAPHS[lang])
    assert got == lang
    assert 0.9 <= conf <= 1.0


@pytest.mark.parametrize("lang", sorted(TITLES))
def test_short_titles(detector, lang):
    got, conf = detector.detect(TITLES[lang])
    assert got == lang
    assert 0.5 <= conf <= 1.0


def test_confidence_is_a_probability(detector):
    probs = detector.probabilities(PARAGRAPHS["nl"])
    assert set(probs) == set(LANGS)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-3)


def test_clear_text_overrides_a_wrong_hint(detector):
    got, conf = detector.detect(PARAGRAPHS["nl"], hint="en")
    assert (got, conf > 0.9) == ("nl", True)


def test_hint_agreeing_with_text_is_kept(detector):
    assert detector.detect(PARAGRAPHS["de"], hint="de-DE")[0] == "de"


def test_hint_kept_when_detector_is_unsure(detector):
    # Names only: py3langid leans to nl (~0.7) but is not clearly confident, so the hint stands.
    got, conf = detector.detect("Scholz bij Biden", hint="de")
    assert got == "de"
    assert conf is not None and conf < 0.9


def test_hint_outside_configured_languages_is_ignored(detector):
    assert detector.detect(PARAGRAPHS["fr"], hint="pt")[0] == "fr"


@pytest.mark.parametrize("text", ["", "  ", "Ok!", "12 345 678", "AB CD"])
def test_und_on_tiny_text(detector, text):
    assert detector.detect(text) == (UND, None)


def test_tiny_text_keeps_a_hint(detector):
    assert detector.detect("Ok", hint="nl") == ("nl", None)


def test_und_when_confidence_is_low():
    strict = LanguageDetector(LANGS, min_confidence=0.99)
    got, conf = strict.detect("Scholz bij Biden")
    assert got == UND and conf < 0.99


@pytest.mark.parametrize(
    ("hint", "code"),
    [
        ("nl", "nl"),
        ("NL", "nl"),
        ("nl-BE", "nl"),
        ("fr_CA", "fr"),
        ("", None),
        (None, None),
        (42, None),
        ("english", None),
    ],
)
def test_normalise_hint(hint, code):
    assert normalise_hint(hint) == code


# --- the vectorised feature walk -----------------------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    """py3langid as it is, restricted like the detector."""
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGS)
    return ident


def _texts():
    texts = [*PARAGRAPHS.values(), *TITLES.values(), "", "a", "Ok.", "AB CD", "DIE NATO WARNT", "ééé"]
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))["article"]
        texts += [article["title"], article["body"][:1000], article["body"][-700:]]
    rng = random.Random(7)
    alphabet = [chr(c) for c in range(0x20, 0x250)] + list("Путин Πούτιν 東京 ☃ 😀 \n\t")
    for _ in range(200):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 400))))
    return texts


def test_the_shipped_model_has_a_proven_memory_window(reference):
    """The property the walk rests on, proven on the installed model (a few seconds)."""
    window = memory_window(reference.tk_nextmove, reference._rowbase)
    assert window is not None
    digest = model_digest()
    if digest in _MEMORY_WINDOWS:
        assert _MEMORY_WINDOWS[digest] == window
    else:  # another py3langid release: the detector keeps the loop (and this says what to record)
        pytest.skip(f"py3langid model {digest} not in _MEMORY_WINDOWS (its window is {window})")


def test_memory_window_of_a_toy_automaton():
    # Two states over bytes; state 1 after an "a", 0 after anything else: one byte of memory.
    rowbase = np.array([0, 256])
    nextmove = np.zeros(512, dtype=np.int64)
    nextmove[ord("a")] = nextmove[256 + ord("a")] = 1
    assert memory_window(nextmove, rowbase) == 1
    # A counter of "a"s modulo 2 never forgets.
    nextmove[256 + ord("a")] = 0
    assert memory_window(nextmove, rowbase, limit=8) is None


def test_features_are_py3langids_in_the_same_order(detector):
    ident = detector._identifier
    assert ident._window is not None  # the fast walk is in use
    for text in _texts():
        data = ident._encode(text)
        visits = visit_counts(ident.tk_nextmove, ident._rowbase, ident.tk_output, data) or {}
        ids, counts = ident.features(data)
        assert ids.tolist() == list(visits.keys()), text
        assert counts.tolist() == [float(c) for c in visits.values()], text


def _state_strings(ident, depth_at_least=4):
    """One shortest byte string reaching each automaton state at least that deep (breadth first)."""
    moves = np.asarray(ident.tk_nextmove, dtype=np.int64)
    rows = np.asarray(ident._rowbase, dtype=np.int64)
    reached = {0: b""}
    frontier = np.array([0])
    while frontier.size:
        nxt = moves[(rows[frontier][:, None] + np.arange(256)).ravel()]
        fresh = []
        for pos, state in enumerate(nxt.tolist()):
            if state not in reached:
                reached[state] = reached[int(frontier[pos // 256])] + bytes([pos % 256])
                fresh.append(state)
        frontier = np.array(fresh, dtype=np.int64)
    return [text for text in reached.values() if len(text) >= depth_at_least]


def test_features_of_the_deepest_states(detector):
    """Every state 4 to 6 bytes deep, reached at least once: a walk too short would miss some."""
    ident = detector._identifier
    strings = _state_strings(ident)
    assert max(map(len, strings)) == ident._window
    for i in range(0, len(strings), 500):
        data = b"|".join(strings[i : i + 500])
        visits = visit_counts(ident.tk_nextmove, ident._rowbase, ident.tk_output, data) or {}
        ids, counts = ident.features(data)
        assert ids.tolist() == list(visits.keys())
        assert counts.tolist() == [float(c) for c in visits.values()]


def test_rankings_are_py3langids_float_for_float(detector, reference):
    for text in _texts():
        assert detector._identifier.rank(text) == reference.rank(text), text
        assert detector.probabilities(text) == dict(reference.rank(text[: detector.max_chars]))


def test_without_a_proven_window_the_loop_is_used(reference):
    ident = FastIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGS)
    assert ident.speed_up(None) is False and ident._window is None
    assert ident.rank(PARAGRAPHS["fr"]) == reference.rank(PARAGRAPHS["fr"])


def test_a_wrong_window_is_refused(reference):
    ident = FastIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGS)
    assert ident.speed_up(2) is False  # too short a memory: the self-check sees other features
    assert ident.rank(PARAGRAPHS["nl"]) == reference.rank(PARAGRAPHS["nl"])


def test_languages_restricted_after_the_speed_up(reference):
    ident = FastIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(LANGS)
    assert ident.speed_up(_MEMORY_WINDOWS.get(model_digest()))
    ident.set_languages(["nl", "de"])
    narrow = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    narrow.set_languages(["nl", "de"])
    for text in [*PARAGRAPHS.values(), *TITLES.values()]:
        assert ident.rank(text) == narrow.rank(text)
