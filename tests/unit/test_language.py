"""Language detection: py3langid restricted to the configured languages, hints checked."""

import pytest

from streams.enrich.language import UND, LanguageDetector, normalise_hint

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
