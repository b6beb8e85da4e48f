"""One rule for the model a language uses (streams.enrich.models): what `models list` shows is what the
Enricher builds. Models are tiny blank pipelines saved to disk, configured by path like a package."""

from __future__ import annotations

import importlib.util
import json
import logging

import pytest
import spacy
from typer.testing import CliRunner

from streams.cli import app
from streams.enrich import Enricher
from streams.enrich.models import XX, choose_model, model_choices, model_for
from streams.ops.models import NoModelConfigured, packages_to_download
from streams.settings import EnrichSettings, get_settings

MISSING = "nl_no_such_model_xyz"


def save_model(path, lang: str, name: str):
    nlp = spacy.blank(lang)
    nlp.meta["name"] = name
    nlp.meta["version"] = "1.2.3"
    nlp.to_disk(path)
    return str(path)


@pytest.fixture
def nl_model(tmp_path):
    return save_model(tmp_path / "nl_model", "nl", "tiny")


@pytest.fixture
def xx_model(tmp_path):
    return save_model(tmp_path / "xx_model", "xx", "multi")


def settings(models: dict, fallback: str, languages=("nl",)) -> EnrichSettings:
    return EnrichSettings(languages=list(languages), models=models, fallback_model=fallback)


def test_configured_model_installed(nl_model, xx_model):
    s = settings({"nl": nl_model}, xx_model)
    choice = model_for("nl", s)
    assert (choice.installed, choice.version, choice.base) == (True, "1.2.3", nl_model)
    assert choice.candidates == (nl_model, xx_model) and choice.used == f"{nl_model}+gazetteer"
    assert Enricher(s).pipeline("nl").ner_model == "nl_tiny+gazetteer"


def test_missing_model_falls_back_to_the_installed_fallback(xx_model):
    s = settings({"nl": MISSING}, xx_model)
    choice = model_for("nl", s)
    assert (choice.installed, choice.base, choice.used) == (False, xx_model, f"{xx_model}+gazetteer")
    assert Enricher(s).pipeline("nl").ner_model == "xx_multi+gazetteer"


def test_nothing_installed_is_blank(caplog):
    s = settings({"nl": MISSING}, "xx_no_such_model_xyz")
    choice = model_for("nl", s)
    assert (choice.installed, choice.candidates, choice.used) == (False, (), "blank+gazetteer")
    with caplog.at_level(logging.WARNING):
        assert Enricher(s).pipeline("nl").ner_model == "blank+gazetteer"
    assert MISSING in caplog.text and "spacy.blank('nl')" in caplog.text


def test_a_model_that_does_not_load_falls_through(tmp_path, xx_model, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text(json.dumps({"version": "0.1"}), encoding="utf-8")  # no config.cfg
    s = settings({"nl": str(broken)}, xx_model)
    assert model_for("nl", s).base == str(broken)  # installed: deciding does not load
    with caplog.at_level(logging.WARNING):
        assert Enricher(s).pipeline("nl").ner_model == "xx_multi+gazetteer"
    assert "failed to load" in caplog.text


def test_xx_uses_the_fallback_unless_configured(nl_model, xx_model):
    assert model_for(XX, settings({}, xx_model)).package == xx_model
    assert model_for(XX, settings({XX: nl_model}, xx_model)).candidates == (nl_model, xx_model)
    assert [c.language for c in model_choices(settings({}, xx_model, ["nl", "en", "nl"]))] == ["nl", "en", XX]


def test_a_language_spacy_lacks_is_served_by_xx(xx_model):
    assert importlib.util.find_spec("spacy.lang.aa") is None  # the premise: spaCy has no Afar
    choice = choose_model("aa", model=None, fallback_model=xx_model)
    assert (choice.served_by, choice.candidates, choice.used) == (XX, (), "as xx (spaCy has no 'aa')")
    enricher = Enricher(settings({}, xx_model, ["nl", "aa"]))
    assert enricher.pipeline("aa") is enricher.pipeline(XX)
    assert enricher.pipeline(XX).ner_model == "xx_multi+gazetteer"


def test_models_list_shows_the_choice(monkeypatch, nl_model, xx_model):
    get_settings.cache_clear()
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__LANGUAGES", '["nl", "de", "aa"]')
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__MODELS__NL", nl_model)
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__MODELS__DE", "de_no_such_model_xyz")
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__FALLBACK_MODEL", xx_model)
    try:
        result = CliRunner().invoke(app, ["models", "list", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    used = {row["language"]: row["used"] for row in json.loads(result.stdout)}
    assert used == {
        "nl": f"{nl_model}+gazetteer",
        "de": f"{xx_model}+gazetteer",
        "aa": "as xx (spaCy has no 'aa')",
        "xx": f"{xx_model}+gazetteer",
    }


def test_packages_to_download():
    s = EnrichSettings(languages=["nl", "en"], models={"nl": "nl_m", "en": "nl_m"}, fallback_model="xx_m")
    assert packages_to_download(s) == ["nl_m", "xx_m"]  # each package once, xx last
    assert packages_to_download(s, [" EN ", "xx"]) == ["nl_m", "xx_m"]
    with pytest.raises(NoModelConfigured, match="no model configured for de, fr"):
        packages_to_download(s, ["de", "nl", "fr"])
