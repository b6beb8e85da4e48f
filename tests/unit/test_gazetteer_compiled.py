"""The gazetteer's array store: resolution as the original per-alias rules, and the compiled copy."""

from __future__ import annotations

import random
from collections import defaultdict
from functools import cache

import pytest
import yaml

from streams.enrich import gazetteer as gz
from streams.enrich.gazetteer import (
    ALL,
    XX,
    Gazetteer,
    _Draft,
    _read_drafts,
    compile_path,
    load_gazetteer,
    read_compiled,
    write_compiled,
)
from streams.settings import config_dir

LANGS = ["nl", "en", "de", "fr", "es", "it"]
GAZ_DIR = config_dir() / "gazetteer"


def reference_table(drafts, exclude, lang):
    """The resolution as it was written before the array store, alias by alias (surface -> key)."""
    plain = {k: v for k, v in exclude.items() if not k.startswith(gz.LEXICON_EXCLUDE)}
    lexical = {k[len(gz.LEXICON_EXCLUDE) :]: v for k, v in exclude.items() if k.startswith(gz.LEXICON_EXCLUDE)}
    excluded = plain.get(ALL, set()) | (set().union(*plain.values()) if lang == XX else plain.get(lang, set()))
    excluded_lexical = lexical.get(ALL, set()) | (
        set().union(*lexical.values()) if lang == XX else lexical.get(lang, set())
    )
    claims = defaultdict(dict)
    # A lexicon alias never takes a form that another source lists in any language.
    owned = {surface for d in drafts for forms in d.aliases.values() for surface, p in forms.items() if p > gz._LEXICON}
    for d in drafts:
        langs = list(d.aliases) if lang == XX else [lang, ALL]
        for alias_lang in langs:
            genitive = d.type in ("PER", "LOC") and (
                (alias_lang in gz._GENITIVE_LANGS or alias_lang == ALL) if lang == XX else lang in gz._GENITIVE_LANGS
            )
            for surface, priority in d.aliases.get(alias_lang, {}).items():
                forms = [(surface, priority)]
                if genitive:
                    forms += [(g, min(gz._VARIANT, priority)) for g in gz._genitives(surface)]
                for form, prio in forms:
                    if prio == gz._LEXICON and (form in owned or form in excluded_lexical):
                        continue
                    if form not in excluded and claims[form].get(d.key, -1) < prio:
                        claims[form][d.key] = prio
    weights = {d.key: d.weight for d in drafts}
    table = {}
    for surface, by_key in claims.items():
        best = max(by_key.values())
        winners = [key for key, prio in by_key.items() if prio == best]
        if len(winners) > 1 and best == gz._GENERATED:
            ranked = sorted(winners, key=lambda k: weights.get(k, 0), reverse=True)
            first, second = (weights.get(k, 0) for k in ranked[:2])
            winners = ranked[:1] if first > 0 and first >= gz._DOMINANCE * second else ranked
        if len(winners) == 1:
            table[surface] = winners[0]
    return table


@cache
def shipped():
    files = sorted(GAZ_DIR.glob("*.yaml"))
    drafts, exclude = _read_drafts(LANGS, files, True)
    return drafts, exclude


@pytest.mark.parametrize("lang", [*LANGS, XX, "pt"])
def test_resolution_of_the_shipped_gazetteer_is_the_original(lang):
    drafts, exclude = shipped()
    assert Gazetteer(drafts, exclude).surfaces(lang) == reference_table(drafts, exclude, lang)


def random_drafts(seed):
    """Entries fighting over few forms at every priority, with weights, genitives and exclusions."""
    rng = random.Random(seed)
    forms = ["Alpha", "Beta", "Gamma", "Delta", "Alpha Beta", "Nord", "Nords", "Paris", "Kyiv", "Rus", "ABC", "Maas"]
    drafts = []
    for i in range(40):
        d = _Draft(key=f"Q{i + 1}", id=f"Q{i + 1}", name=f"Name {i}", type=rng.choice(gz.ENTITY_TYPES))
        d.weight = rng.choice([0, 0, 1, 5, 10, 20, 40])
        for _ in range(rng.randrange(1, 6)):
            lang = rng.choice(["nl", "en", "de", ALL, "es"])
            priority = rng.choice([gz._CURATED, gz._CLDR, gz._GENERATED, gz._GENERATED, gz._LEXICON])
            d.add(lang, rng.choice(forms), priority)
        drafts.append(d)
    exclude = {"nl": {"Gamma"}, ALL: {"Rus"}, f"{gz.LEXICON_EXCLUDE}de": {"Nords", "Beta"}} if seed % 2 else {}
    return drafts, exclude


@pytest.mark.parametrize("seed", range(30))
def test_resolution_of_random_conflicts_is_the_original(seed):
    drafts, exclude = random_drafts(seed)
    gaz = Gazetteer(drafts, exclude)
    for lang in ["nl", "en", "de", "fr", XX]:
        assert gaz.surfaces(lang) == reference_table(drafts, exclude, lang), lang


def _same(a: Gazetteer, b: Gazetteer, langs):
    assert a.keys == b.keys
    for key in a.keys:
        ea, eb = a.get(key), b.get(key)
        assert (ea.key, ea.id, ea.name, ea.type, ea.tags) == (eb.key, eb.id, eb.name, eb.type, eb.tags)
        assert dict(ea.aliases) == dict(eb.aliases), key
    for lang in langs:
        assert a.surfaces(lang) == b.surfaces(lang), lang


def test_compiled_copy_is_the_same_gazetteer(tmp_path):
    gaz = load_gazetteer(LANGS, GAZ_DIR, compiled=False)
    path = write_compiled(gaz, tmp_path / "g.npz", [*LANGS, XX])
    again = read_compiled(path)
    _same(gaz, again, [*LANGS, XX, "pt"])  # pt: resolved from the records, not compiled
    assert again.lookup("Poetin", "nl").id == "Q7747"
    assert again.get("Q7747").aliases["nl"][:1] == gaz.get("Q7747").aliases["nl"][:1]


def test_entries_without_qid_and_tags_survive(tmp_path):
    drafts, exclude = random_drafts(1)
    drafts[0].id, drafts[0].key = None, "name:Nobody"
    drafts[1].tags = ["head-of-state", "g7"]
    gaz = Gazetteer(drafts, exclude)
    again = read_compiled(write_compiled(gaz, tmp_path / "g.npz", ["nl", XX]))
    _same(gaz, again, ["nl", "en", XX])
    assert again.get("name:Nobody").id is None and again.get("Q2").tags == ("head-of-state", "g7")


def _write(directory, name, text):
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")


def test_load_uses_a_matching_compiled_copy_and_never_a_stale_one(tmp_path, monkeypatch):
    d = tmp_path / "gaz"
    _write(d, "a.yaml", "entries:\n  - {id: Q1, name: Alpha Person, type: PER, aliases: {nl: [Alfa]}}\n")
    first = load_gazetteer(["nl"], d, territories=False, compiled=True)
    [copy] = (d / ".compiled").glob("gazetteer-*.npz")
    assert copy == compile_path(d, sorted(d.glob("*.yaml")), ["nl"], False)

    def no_yaml(path):
        raise AssertionError(f"YAML read: {path}")

    monkeypatch.setattr(gz, "_read_yaml", no_yaml)
    second = load_gazetteer(["nl"], d, territories=False)
    _same(first, second, ["nl", XX])
    # Another language list, or a changed file: another fingerprint, so the YAML is read.
    with pytest.raises(AssertionError, match="YAML read"):
        load_gazetteer(["nl", "en"], d, territories=False)
    _write(d, "a.yaml", "entries:\n  - {id: Q1, name: Alpha Person, type: PER, aliases: {nl: [Alpha]}}\n")
    with pytest.raises(AssertionError, match="YAML read"):
        load_gazetteer(["nl"], d, territories=False)


def test_small_gazetteers_are_not_compiled_unless_asked(tmp_path):
    d = tmp_path / "gaz"
    _write(d, "a.yaml", "entries:\n  - {id: Q1, name: Alpha Person, type: PER}\n")
    load_gazetteer(["nl"], d, territories=False)
    assert not (d / ".compiled").exists()
    load_gazetteer(["nl"], d, territories=False, compiled=False)
    assert not (d / ".compiled").exists()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_an_unreadable_compiled_copy_falls_back_to_the_yaml(tmp_path, damage):
    d = tmp_path / "gaz"
    _write(d, "a.yaml", "entries:\n  - {id: Q1, name: Alpha Person, type: PER, aliases: {nl: [Alfa]}}\n")
    load_gazetteer(["nl"], d, territories=False, compiled=True)
    [copy] = (d / ".compiled").glob("gazetteer-*.npz")
    data = copy.read_bytes()
    copy.write_bytes({"garbage": b"not a zip file", "truncated": data[: len(data) // 2], "empty": b""}[damage])
    gaz = load_gazetteer(["nl"], d, territories=False)
    assert gaz.lookup("Alfa", "nl").id == "Q1"


# --- generated files read line by line --------------------------------------------------------

GENERATED_HEAD = "# Generated\ngenerated: true\nsource: {wikidata_dump: x.json.gz, languages: [nl, en]}\nentries:\n"


@pytest.mark.parametrize(
    "lines",
    [
        # JSON lines, as `gazetteer build` writes them (strings that YAML would read otherwise too)
        [
            '- {"id": "Q1", "name": "Alpha Person", "type": "PER", "sitelinks": 30, "aliases": {"all": ["Alpha"]}}',
            '- {"id": "Q2", "name": "Yes", "type": "ORG", "sitelinks": 21, "aliases": {"nl": ["1984", "null", "No"]}}',
            '- {"id": "Q3", "name": "Zoë \\"Quote\\" Ü", "type": "LOC", "sitelinks": 25}',
        ],
        # YAML flow lines, as earlier builds wrote them
        [
            "- {id: Q1, name: Alpha Person, type: PER, sitelinks: 30, aliases: {all: [Alpha]}}",
            "- {id: Q2, name: 'Yes', type: ORG, sitelinks: 21, aliases: {nl: ['1984', 'null', 'No']}}",
        ],
        # an entry over several lines: the file is read as YAML
        ["- id: Q1", "  name: Alpha Person", "  type: PER"],
        # a trailing summary comment and blank lines
        ['- {"id": "Q1", "name": "Alpha Person", "type": "PER"}', "", "# read 1 entities, kept 1"],
    ],
)
def test_generated_files_read_as_yaml_reads_them(tmp_path, lines):
    path = tmp_path / "wikidata.yaml"
    path.write_text(GENERATED_HEAD + "\n".join(lines) + "\n", encoding="utf-8")
    assert gz._read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_only_generated_files_take_the_short_way(tmp_path):
    curated = tmp_path / "a.yaml"
    curated.write_text('entries:\n- {"id": "Q1", "name": "A", "type": "PER"}\n', encoding="utf-8")
    assert gz._read_generated(curated) is None
    inline = tmp_path / "b.yaml"
    inline.write_text('generated: true\nentries: [{"id": "Q1", "name": "A", "type": "PER"}]\n', encoding="utf-8")
    assert gz._read_generated(inline) is None
    assert gz._read_yaml(inline)["entries"] == [{"id": "Q1", "name": "A", "type": "PER"}]
