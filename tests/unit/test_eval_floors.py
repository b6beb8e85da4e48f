"""Quality floors: the default enrichment on the annotated set must not get worse (docs/EVALUATION.md).

The same run as ``newsstreams eval tests/data/eval`` (``load_cases`` -> ``Enricher.enrich_batch`` ->
``evaluate``), once per module, with the default ``EnrichSettings`` (not settings.toml or the
environment), so a local configuration cannot move the figures.

Each floor is a measured value minus 0.03, measured with the default offline configuration for every
language: blank + gazetteer + place lexicon + people/organisation rules (no trained model configured).
Raise a floor when a change lifts the figure for good; lower one only together with a change of the
set, and say so in the commit.
"""

from __future__ import annotations

import pytest

from streams.enrich import Enricher
from streams.enrich.evaluate import Report, evaluate, load_cases
from streams.settings import PROJECT_DIR, EnrichSettings

EVAL_DIR = PROJECT_DIR / "tests" / "data" / "eval"

# Entity F1 per gold language (exact surface + label, micro over the language's articles).
# Measured on 62 articles (de, en, fr, nl 12 each; es, it 7 each): de .823, en .799, es .856, fr .785,
# it .736, nl .875 (blank + gazetteer + place lexicon + people/organisation rules).
ENTITY_F1_FLOORS = {
    "de": 0.793,
    "en": 0.769,
    "es": 0.826,
    "fr": 0.755,
    "it": 0.706,
    "nl": 0.845,
}
# All languages together (micro). Measured: P .929, R .727 (the goals: P >= .85, R >= .65).
PRECISION_FLOOR = 0.899
RECALL_FLOOR = 0.697


@pytest.fixture(scope="module")
def report() -> Report:
    cases = load_cases(EVAL_DIR)
    results = Enricher(EnrichSettings()).enrich_batch([case.article for case in cases])
    failed = [(case.name, r.error) for case, r in zip(cases, results, strict=True) if r.error is not None]
    assert not failed, failed
    return evaluate(cases, [r.doc for r in results])


def _models(report: Report) -> str:
    return "; ".join(f"{lang}: {', '.join(models)}" for lang, models in report.models.items())


def test_every_language_of_the_set_has_a_floor(report):
    assert set(report.by_language) == set(ENTITY_F1_FLOORS)


@pytest.mark.parametrize("lang", sorted(ENTITY_F1_FLOORS))
def test_entity_f1_per_language(report, lang):
    row = report.by_language[lang].entities
    assert row.f1 is not None, f"{lang}: nothing to find or nothing found"
    assert row.f1 >= ENTITY_F1_FLOORS[lang], (
        f"{lang} entity F1 {row.f1:.3f} < floor {ENTITY_F1_FLOORS[lang]} "
        f"(P {row.precision or 0:.3f}, R {row.recall or 0:.3f}; models {_models(report)})"
    )


def test_overall_precision(report):
    p = report.total.entities.precision
    assert p is not None and p >= PRECISION_FLOOR, f"entity precision {p} < floor {PRECISION_FLOOR}"


def test_overall_recall(report):
    r = report.total.entities.recall
    assert r is not None and r >= RECALL_FLOOR, f"entity recall {r} < floor {RECALL_FLOOR}"
