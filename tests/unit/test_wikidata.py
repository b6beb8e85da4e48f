"""The Wikidata dump builder on a small sample in the real dump format (tests/data)."""

import bz2
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streams.enrich.gazetteer import load_gazetteer, read_compiled
from streams.enrich.wikidata import (
    BuildStats,
    build_gazetteer,
    clean_form,
    iter_entities,
    parse_classes,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "wikidata-sample.json.gz"
LANGS = ["nl", "en", "de", "fr"]
PROJECT = Path(__file__).resolve().parents[2]

KEPT = {
    "Q7747": "PER",
    "Q3052772": "PER",
    "Q567": "PER",
    "Q264766": "PER",
    "Q7184": "ORG",
    "Q95": "ORG",
    "Q2283": "ORG",
    "Q159": "LOC",
    "Q649": "LOC",
    "Q90": "LOC",
    "Q727": "LOC",
    "Q123456704": "LOC",
    "Q123456705": "LOC",
    "Q123456706": "LOC",
}
BELOW_THRESHOLD = {"Q123456701", "Q123456703", "Q123456707"}  # 3, 4 and 6 sitelinks
OTHER_CLASSES = {"Q146", "Q132689", "Q362", "Q123456702", "P31"}  # cat, film, war, deprecated P31


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("wd") / "wikidata.yaml"
    stats = build_gazetteer(SAMPLE, out, languages=LANGS, min_sitelinks=20)
    return out, stats, yaml.safe_load(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def entries(built):
    return {e["id"]: e for e in built[2]["entries"]}


def test_keeps_exactly_the_expected_entities(entries):
    assert {qid: e["type"] for qid, e in entries.items()} == KEPT
    assert not (set(entries) & (BELOW_THRESHOLD | OTHER_CLASSES | {"Q42"}))


def test_counts(built):
    _, stats, _ = built
    assert stats.read == 23  # 21 items + 1 property + 1 broken line; not the brackets
    assert stats.kept == len(KEPT)
    assert stats.malformed == 1  # the line cut off half-way (Q42)
    # The property P31 has no sitelinks: the cheap pre-check drops it before its class is seen.
    assert stats.too_few_sitelinks == len(BELOW_THRESHOLD) + 1
    assert stats.other_class == len(OTHER_CLASSES) - 1
    assert stats.by_type == {"PER": 4, "ORG": 3, "LOC": 7}
    assert "1 malformed" in stats.summary()


def test_file_is_marked_generated_with_its_parameters(built):
    doc = built[2]
    assert doc["generated"] is True
    assert doc["source"]["min_sitelinks"] == 20
    assert doc["source"]["languages"] == LANGS


def test_names_aliases_and_languages(entries):
    putin = entries["Q7747"]
    assert (putin["name"], putin["sitelinks"]) == ("Vladimir Putin", 60)
    aliases = putin["aliases"]
    assert set(aliases) == {"nl", "en", "de", "fr"}  # es and ru were not asked for
    assert {"Vladimir Poetin", "Poetin"} <= set(aliases["nl"])
    assert {"Wladimir Putin", "Putin"} <= set(aliases["de"])
    assert {"Vladimir Poutine", "Poutine"} <= set(aliases["fr"])
    assert "Vladimir Putin" not in aliases["en"]  # the name itself: the loader adds it everywhere
    assert "putin" not in aliases["en"]  # lower case: not a name as written in news
    assert "Vova" not in aliases["nl"]  # a person's one-word alias that is not the surname
    assert "May" not in entries["Q264766"].get("aliases", {}).get("en", [])  # a month, mostly
    assert "MS" not in entries["Q2283"]["aliases"]["en"]  # too short to be safe


def test_mul_label_and_forms_in_every_language_go_under_all(entries):
    macron = entries["Q3052772"]  # labelled in `mul` (and fr) only, like many items now
    assert macron["name"] == "Emmanuel Macron"
    assert "Macron" in macron["aliases"]["all"]  # listed in nl, en, de and fr
    assert "Emmanuel Jean-Michel Frédéric Macron" in macron["aliases"]["all"]  # from mul
    assert "Macron" not in macron["aliases"].get("fr", [])


def test_output_loads_through_the_gazetteer_loader(built):
    out = built[0]
    gaz = load_gazetteer(LANGS, out.parent, territories=False)
    assert len(gaz) == len(KEPT)
    for lang, surface in [
        ("nl", "Poetin"),
        ("nl", "Vladimir Poetin"),
        ("de", "Putin"),
        ("de", "Putins"),
        ("fr", "Poutine"),
        ("en", "Vladimir Putin"),
    ]:
        entry = gaz.lookup(surface, lang)
        assert entry is not None, (lang, surface)
        assert (entry.id, entry.name, entry.type) == ("Q7747", "Vladimir Putin", "PER")
    assert gaz.lookup("NAVO", "nl").id == "Q7184"
    assert gaz.lookup("OTAN", "fr").id == "Q7184"
    assert gaz.lookup("Moskou", "nl").id == "Q649"
    assert gaz.lookup("Macron", "de").id == "Q3052772"


def test_homonyms_go_to_the_much_better_known_entry_or_to_none(built):
    gaz = load_gazetteer(["en"], built[0].parent, territories=False)
    assert gaz.lookup("Paris", "en").id == "Q90"  # 60 sitelinks against 22
    assert gaz.lookup("Paris, Texas", "en").id == "Q123456704"
    assert gaz.lookup("Springfield", "en") is None  # 24 against 21: no guessing


def test_curated_entries_win_over_generated_ones(built, tmp_path):
    (tmp_path / "wikidata.yaml").write_text(built[0].read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "z-curated.yaml").write_text(
        "entries:\n"
        "  - {id: Q7747, name: Vladimir Putin (curated), type: PER}\n"
        "  - {id: Q1, name: Someone Else, type: PER, aliases: {nl: [Poetin]}}\n",
        encoding="utf-8",
    )
    gaz = load_gazetteer(LANGS, tmp_path, territories=False)
    assert gaz.get("Q7747").name == "Vladimir Putin (curated)"  # curated name, whatever the file order
    assert gaz.lookup("Poetin", "nl").id == "Q1"  # a curated alias beats a generated one


@pytest.mark.parametrize("compression", ["gz", "bz2", "plain"])
def test_reads_gzip_bz2_and_plain(tmp_path, compression):
    raw = gzip.decompress(SAMPLE.read_bytes())
    dump = tmp_path / f"dump.json.{compression}"
    dump.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "plain": lambda b: b}[compression](raw))
    stats = build_gazetteer(dump, tmp_path / "out.yaml", languages=LANGS)
    assert (stats.kept, stats.malformed) == (len(KEPT), 1)


def test_min_sitelinks_zero_keeps_the_long_tail(tmp_path):
    stats = build_gazetteer(SAMPLE, tmp_path / "out.yaml", languages=LANGS, min_sitelinks=0)
    # The village is P31 village (Q532), not a default class: direct P31 only, no subclass tree.
    assert stats.kept == len(KEPT) + len(BELOW_THRESHOLD) - 1
    assert stats.malformed == 1


def test_classes_are_configurable(tmp_path):
    classes = parse_classes(["Q11424=MISC", "Q515="])  # films in, plain cities out
    stats = build_gazetteer(SAMPLE, tmp_path / "out.yaml", languages=LANGS, classes=classes)
    ids = {e["id"] for e in yaml.safe_load((tmp_path / "out.yaml").read_text())["entries"]}
    assert "Q132689" in ids  # Casablanca, the film
    assert not ids & {"Q123456704", "Q123456705", "Q123456706"}  # only P31 city
    assert stats.by_type["MISC"] == 1
    with pytest.raises(ValueError):
        parse_classes(["city=LOC"])
    with pytest.raises(ValueError):
        parse_classes(["Q515=PLACE"])


def test_malformed_lines_are_counted_not_fatal():
    lines = [
        b"[\n",
        b'{"type":"item","id":"Q1"},\n',
        b"{not json},\n",
        b'"a string",\n',
        b'{"type":"item","id":"Q2","labels":{"en":{"lang\n',
        b"]\n",
    ]
    stats = BuildStats()
    ids = [e["id"] for e in iter_entities(lines, stats)]
    assert ids == ["Q1"]
    assert (stats.read, stats.malformed) == (4, 3)


def test_progress_is_reported(tmp_path):
    seen = []
    build_gazetteer(
        SAMPLE,
        tmp_path / "out.yaml",
        languages=LANGS,
        progress_every=10,
        on_progress=lambda s: seen.append((s.read, s.kept, s.bytes_read)),
    )
    assert len(seen) >= 3  # after 10 and 20 entities, and once at the end
    assert seen[-1][0] == 23 and seen[-1][2] == SAMPLE.stat().st_size


def test_no_partial_file_on_failure(tmp_path):
    out = tmp_path / "out.yaml"
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b"[\n" + b"{}" * 10)[:-12])  # truncated gzip stream
    with pytest.raises((OSError, EOFError)):
        build_gazetteer(bad, out, languages=LANGS)
    assert list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("  Vladimir   Putin ", "Vladimir Putin"),
        ("NATO", "NATO"),
        ("putin", None),
        ("EU", None),
        ("May", None),
        ("Paris (France)", None),
        ("Q7747", "Q7747"),
        ("von der Leyen", "von der Leyen"),
        ("A B C D E F G H I", None),
        (None, None),
    ],
)
def test_clean_form(form, expected):
    assert clean_form(form) == expected


def test_cli_build(tmp_path):
    out = tmp_path / "gaz" / "wikidata.yaml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "gazetteer",
            "build",
            "--wikidata-dump",
            str(SAMPLE),
            "--out",
            str(out),
            "--min-sitelinks",
            "20",
            "--languages",
            "nl,en,de,fr",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "kept 14" in proc.stdout and "1 malformed" in proc.stdout
    assert "malformed line(s) skipped" in proc.stderr
    entries = yaml.safe_load(out.read_text(encoding="utf-8"))["entries"]
    assert {e["id"] for e in entries} == set(KEPT)
    # ... and compiled for the worker: loading it again reads no YAML.
    assert "compiled" in proc.stdout, proc.stdout
    [copy] = (out.parent / ".compiled").glob("gazetteer-*.npz")
    gaz = read_compiled(copy)
    assert gaz.lookup("Poetin", "nl").id == "Q7747" and gaz.lookup("Putins", "de").id == "Q7747"


def test_cli_compile(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "entries:\n  - {id: Q7747, name: Vladimir Putin, type: PER, aliases: {nl: [Poetin]}}\n", encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "streams", "gazetteer", "compile", "--dir", str(tmp_path), "--languages", "nl,de"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "compiled" in proc.stdout and "nl " in proc.stdout
    [copy] = (tmp_path / ".compiled").glob("gazetteer-*.npz")
    assert read_compiled(copy).lookup("Poetins", "nl").id == "Q7747"
    assert load_gazetteer(["nl", "de"], tmp_path).lookup("Frankrijk", "nl") is not None  # CLDR, from the copy


def test_cli_build_fails_clearly_on_a_missing_dump(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "gazetteer",
            "build",
            "--wikidata-dump",
            str(tmp_path / "nope.json.gz"),
            "--out",
            str(tmp_path / "o.yaml"),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert proc.returncode == 2  # a usage error, like typer's own
    assert "no such file" in proc.stderr
    assert not (tmp_path / "o.yaml").exists()


def test_cli_stats_json(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "entries:\n  - {id: Q7747, name: Vladimir Putin, type: PER, aliases: {nl: [Poetin]}}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "gazetteer",
            "stats",
            "--dir",
            str(tmp_path),
            "--languages",
            "nl,en",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["types"]["PER"] == {"entries": 1, "with_qid": 1}
    assert data["types"]["LOC"]["entries"] > 200  # CLDR territories
    assert data["surface_forms"]["nl"] > data["surface_forms"]["en"] > 200
