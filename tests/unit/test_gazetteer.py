"""Gazetteer: CLDR territory names + curated YAML, per-language surface tables."""

import re
import textwrap

import pytest
import yaml

from streams.enrich.gazetteer import load_gazetteer
from streams.settings import CONFIG_DIR

LANGS = ["nl", "en", "de", "fr", "es", "it"]
GAZ_DIR = CONFIG_DIR / "gazetteer"


@pytest.fixture(scope="module")
def gaz():
    return load_gazetteer(LANGS, GAZ_DIR)


@pytest.mark.parametrize(
    ("lang", "surface"),
    [("en", "Putin"), ("en", "Vladimir Putin"), ("nl", "Poetin"), ("nl", "Wladimir Poetin"),
     ("nl", "Vladimir Poetin"), ("de", "Putin"), ("de", "Wladimir Putin"), ("fr", "Poutine"),
     ("fr", "Vladimir Poutine"), ("de", "Putins"), ("nl", "Poetins")],
)
def test_putin_in_every_language(gaz, lang, surface):
    entry = gaz.lookup(surface, lang)
    assert entry is not None, surface
    assert (entry.id, entry.name, entry.type) == ("Q7747", "Vladimir Putin", "PER")


@pytest.mark.parametrize(
    ("lang", "surface"),
    [("nl", "NAVO"), ("nl", "Navo"), ("nl", "NATO"), ("fr", "OTAN"), ("de", "NATO"),
     ("de", "Nato"), ("en", "NATO"), ("en", "Nato")],
)
def test_nato_aliases(gaz, lang, surface):
    entry = gaz.lookup(surface, lang)
    assert (entry.id, entry.name, entry.type) == ("Q7184", "NATO", "ORG")


@pytest.mark.parametrize(
    ("lang", "surface", "qid", "name"),
    [("nl", "Oekraïne", "Q212", "Ukraine"), ("nl", "Rusland", "Q159", "Russia"),
     ("nl", "Verenigde Staten", "Q30", "United States"), ("nl", "VS", "Q30", "United States"),
     ("en", "USA", "Q30", "United States"), ("en", "UK", "Q145", "United Kingdom"),
     ("nl", "VK", "Q145", "United Kingdom"), ("de", "Russland", "Q159", "Russia"),
     ("fr", "États-Unis", "Q30", "United States"), ("nl", "EU", "Q458", "European Union"),
     ("fr", "UE", "Q458", "European Union"), ("nl", "VN", "Q1065", "United Nations"),
     ("nl", "Moskou", "Q649", "Moscow"), ("de", "Moskau", "Q649", "Moscow"),
     ("fr", "Moscou", "Q649", "Moscow"), ("nl", "Warschau", "Q270", "Warsaw"),
     ("nl", "Europa", "Q46", "Europe")],
)
def test_territories_and_cities_from_cldr(gaz, lang, surface, qid, name):
    entry = gaz.lookup(surface, lang)
    assert entry is not None, surface
    assert (entry.id, entry.name) == (qid, name)


def test_territory_without_checked_qid_keeps_none(gaz):
    entry = gaz.lookup("Tuvalu", "en")
    assert entry is not None and entry.id is None and entry.name == "Tuvalu"


@pytest.mark.parametrize(
    ("lang", "surface"),
    [("nl", "vs"), ("en", "us"), ("nl", "Russische"), ("nl", "Franse"), ("en", "Russian"),
     ("nl", "wereld"), ("nl", "eurozone"), ("en", "Chad"), ("en", "Jordan"), ("nl", "Amerika")],
)
def test_not_entities(gaz, lang, surface):
    assert gaz.lookup(surface, lang) is None


def test_nord_stream_2_is_misc(gaz):
    entry = gaz.lookup("Nord Stream 2", "nl")
    assert (entry.name, entry.type) == ("Nord Stream 2", "MISC")


def test_patterns_shape(gaz):
    patterns = gaz.patterns("nl")
    assert len(patterns) > 500
    assert {"label": "PER", "pattern": "Poetin", "id": "Q7747"} in patterns
    assert all(p["label"] in {"PER", "LOC", "ORG", "MISC"} for p in patterns)
    # ids are internal keys that map back to an entry
    assert all(gaz.get(p["id"]) is not None for p in patterns)


def test_xx_table_has_every_language(gaz):
    xx = gaz.surfaces("xx")
    assert {"Poetin", "Poutine", "Putin", "NAVO", "OTAN", "Moskau"} <= set(xx)


def test_curated_files_are_well_formed():
    """Every QID in the shipped YAML has the right shape and belongs to one canonical name."""
    qid_names: dict[str, set[str]] = {}
    for path in GAZ_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in data.get("entries") or []:
            assert entry["type"] in {"PER", "LOC", "ORG", "MISC"}, entry
            if entry.get("id"):
                assert re.fullmatch(r"Q[1-9]\d*", entry["id"]), entry
                qid_names.setdefault(entry["id"], set()).add(entry["name"])
        for code, cfg in (data.get("territories") or {}).items():
            assert isinstance(code, str), f"territory code {code!r} must be quoted in YAML"
            if cfg and cfg.get("id"):
                qid_names.setdefault(cfg["id"], set()).add(f"territory {code}")
    clashes = {q: n for q, n in qid_names.items() if len(n) > 1}
    assert not clashes


# --- behaviour on small, self-made files --------------------------------------------------------


def write(tmp_path, name, text):
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_yaml_entries_merge_and_ambiguity(tmp_path):
    write(tmp_path, "a.yaml", """
        entries:
          - {id: Q1, name: Alpha Person, type: PER, aliases: {all: [Alpha], nl: [Alfa]}}
          - {id: Q2, name: Beta Org, type: ORG, aliases: {en: [AB]}}
          - {id: Q3, name: Gamma Org, type: ORG, aliases: {en: [AB]}}
        exclude:
          nl: [Alfa]
    """)
    write(tmp_path, "b.yaml", """
        entries:
          - {id: Q1, name: Alpha Person, type: PER, aliases: {de: [Alphas Bruder]}}
    """)
    gaz = load_gazetteer(["nl", "en", "de"], tmp_path, territories=False)
    assert len(gaz) == 3
    assert gaz.lookup("Alpha", "en").id == "Q1"
    assert gaz.lookup("Alpha Person", "nl").id == "Q1"  # the canonical name matches everywhere
    assert gaz.lookup("Alphas Bruder", "de").id == "Q1"  # merged from the second file
    assert gaz.lookup("Alfa", "nl") is None  # excluded
    assert gaz.lookup("AB", "en") is None  # two entries claim it: not guessed
    assert gaz.lookup("Alpha", "en").name == "Alpha Person"


def test_curated_alias_beats_cldr_name(tmp_path):
    write(tmp_path, "a.yaml", """
        entries:
          - {id: null, name: Georgia (U.S. state), type: LOC, aliases: {en: [Georgia]}}
    """)
    gaz = load_gazetteer(["en"], tmp_path)
    assert gaz.lookup("Georgia", "en").name == "Georgia (U.S. state)"


def test_territory_overrides_and_city_names(tmp_path):
    write(tmp_path, "t.yaml", """
        territories:
          US: {id: Q30, aliases: {nl: [VS]}}
          FR: {skip: true}
        entries:
          - {id: Q649, name: Moscow, type: LOC, timezone: Europe/Moscow}
    """)
    gaz = load_gazetteer(["nl", "de"], tmp_path)
    assert gaz.lookup("VS", "nl").id == "Q30"
    assert gaz.lookup("Frankrijk", "nl") is None
    assert gaz.lookup("Moskau", "de").id == "Q649"
    assert gaz.lookup("Moskou", "nl").name == "Moscow"


def test_bad_qid_is_rejected(tmp_path):
    write(tmp_path, "a.yaml", "entries:\n  - {id: 7747, name: X, type: PER}\n")
    with pytest.raises(ValueError, match="QID"):
        load_gazetteer(["en"], tmp_path, territories=False)


def test_bad_type_is_rejected(tmp_path):
    write(tmp_path, "a.yaml", "entries:\n  - {id: Q1, name: X, type: PERSON}\n")
    with pytest.raises(ValueError, match="type"):
        load_gazetteer(["en"], tmp_path, territories=False)
