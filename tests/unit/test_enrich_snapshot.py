"""The enriched output, pinned: every field of every article below must stay exactly as recorded.

The snapshot (``tests/data/enrich-snapshot.json``) was written before the enrichment core was made
faster, so it guards the speed work: language and confidence, entities (offsets, labels, links,
sources), ids and names, topics and scores, the pipeline block. Only ``pipeline.enriched_at`` (the
clock) and ``pipeline.version`` (the package version) are masked.

Configuration: blank pipelines + the shipped gazetteer and topic lexicons (no trained model, even
where one is installed). After a deliberate change of the output, rewrite it and review the diff::

    python tests/unit/test_enrich_snapshot.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import streams
from streams.enrich import Enricher
from streams.settings import PROJECT_DIR, EnrichSettings

SNAPSHOT = PROJECT_DIR / "tests" / "data" / "enrich-snapshot.json"
EVAL_DIR = PROJECT_DIR / "tests" / "data" / "eval"
SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"
LANGS = ["nl", "en", "de", "fr", "es", "it"]
# The evaluation articles the snapshot was recorded with: the set grows, the snapshot need not.
SNAPSHOT_EVAL = [
    *(f"{lang}-0{n}" for lang in ("de", "en", "fr") for n in range(1, 7)),
    *(f"nl-0{n}" for n in range(7)),
]


def _article(i: str, title, body, **extra) -> dict:
    return {"id": i, "source": "snapshot", "title": title, "body": body, "language": None, **extra}


def articles() -> list[dict]:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    out = [
        _article(
            "seed",
            lines[0],
            "\n\n".join(lines[1:]),
            url="https://nos.nl/artikel/0",
            meta={"feed": "nos", "tags": ["a", "b"]},
            pipeline={"ingested_at": "2022-02-09T12:00:01.000Z", "producer": "snapshot"},
        ),
        _article("seed-hinted", lines[0], "\n".join(lines[1:]), language="en"),
    ]
    for path in sorted(p for p in EVAL_DIR.glob("*.json") if p.name[:5] in SNAPSHOT_EVAL):
        case = json.loads(path.read_text(encoding="utf-8"))
        out.append(dict(case["article"]))
    out += [
        # tokenizer tweaks: "VS." at a sentence end, hyphenated acronyms, lowercase "vs"
        _article("vs", "Spanning tussen Rusland en de VS.", "Ajax vs. PSV. Het land mag nooit NAVO-lid worden."),
        _article("nato-de", "Die NATO-Staaten beraten", "Putins Sprecher äußerte sich nicht. Die Nato warnt Russland."),
        # whitespace that no multi-word alias may span; genitives; apostrophes and hyphens for topics
        _article(
            "spaces",
            "Vladimir  Putin and Vladimir\nPutin",
            "Putin's spokesman, the Kremlin's view: well-known, covid-19, ²-fold, snake_case, rock'n'roll "
            "and ‘quotes’ — plus Vladimir Putin, NATO-led talks in Washington D.C. on 3 March.",
        ),
        # all capitals (the detector lowercases), no language at all, a title only, a body only
        _article("caps", "POETIN WAARSCHUWT DE NAVO", "DE RUSSISCHE PRESIDENT POETIN SPRAK MET MACRON IN MOSKOU."),
        _article("und", "Ok", "Ok."),
        _article("title-only", "Macron reçoit Scholz à l'Élysée", ""),
        _article("body-none", "", None),
        # languages that are not configured: undetermined or a low-confidence guess
        _article("pl", "Putin i Macron", "Prezydent Rosji Władimir Putin spotkał się z Emmanuelem Macronem w Moskwie."),
        _article("el", "Ο Πούτιν", "Ο πρόεδρος της Ρωσίας Βλαντιμίρ Πούτιν συναντήθηκε με τον Μακρόν στη Μόσχα."),
        # a long body (past the detector's prefix) that repeats names
        _article("long", "Poetin en Macron", "Poetin sprak met Macron over de NAVO en Oekraïne. " * 60),
    ]
    return out


def enricher() -> Enricher:
    none = dict.fromkeys([*LANGS, "xx"], "")
    return Enricher(EnrichSettings(languages=LANGS, models=none, fallback_model=""))


def masked(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["pipeline"]["enriched_at"] = "<clock>"
    doc["pipeline"]["version"] = "<version>"
    return doc


def enriched(enr: Enricher) -> list[dict]:
    # In batches of 7 (languages mixed in a batch), then the same articles one at a time.
    arts = articles()
    docs = []
    for i in range(0, len(arts), 7):
        for result in enr.enrich_batch(arts[i : i + 7]):
            assert result.error is None, result.error
            docs.append(result.doc)
    return docs


@pytest.fixture(scope="module")
def enr():
    return enricher()


@pytest.fixture(scope="module")
def snapshot():
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_snapshot_covers_the_articles(snapshot):
    assert [doc["id"] for doc in snapshot] == [a["id"] for a in articles()]


def test_enriched_output_is_unchanged(enr, snapshot):
    docs = enriched(enr)
    for doc, want in zip(docs, snapshot, strict=True):
        got = masked(doc)
        for key in sorted(set(got) | set(want)):
            assert got.get(key) == want.get(key), (doc["id"], key)
        assert doc["pipeline"]["version"] == streams.__version__


def test_one_at_a_time_is_the_same(enr, snapshot):
    for art, want in zip(articles(), snapshot, strict=True):
        assert masked(enr.enrich(art)) == want, art["id"]


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    docs = [masked(doc) for doc in enriched(enricher())]
    Path(SNAPSHOT).write_text(json.dumps(docs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT}: {len(docs)} documents")
