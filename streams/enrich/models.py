"""Which spaCy model a language's entity pipeline starts from: the one rule behind the Enricher
(``streams.enrich.entities.build_pipeline``) and ``newsstreams models list``.

For a language ``lang`` with configured model ``enrich.models[lang]`` (a package name or a path):

1. spaCy has no language class for ``lang``: the multi-language ``xx`` pipeline serves it.
2. Otherwise the models to try, in order: the configured model if installed (an installed package,
   or a directory), then ``enrich.fallback_model`` if installed. The pipeline loads the first that
   loads (a broken install falls through to the next).
3. None of them: ``spacy.blank(lang)``; the gazetteer alone finds entities.

``xx`` itself (undetermined text) is configured by ``enrich.models.xx``, else the fallback model.
Nothing is loaded here: deciding is cheap (package metadata and file checks).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import spacy.util

from streams.enrich.gazetteer import XX
from streams.settings import EnrichSettings


@dataclass(frozen=True, slots=True)
class ModelChoice:
    language: str
    package: str | None  # the configured model: package name or path (None: none configured)
    installed: bool  # the configured model is installed
    version: str | None  # its version, when installed and known
    options: tuple[str, ...]  # the configured model, then the fallback model (names given)
    candidates: tuple[str, ...]  # those installed, to try in order; empty: spacy.blank
    served_by: str  # the language whose pipeline serves this one: itself, or xx if spaCy lacks it

    @property
    def base(self) -> str | None:
        """The model the pipeline starts from if it loads; None = ``spacy.blank``."""
        return self.candidates[0] if self.candidates else None

    @property
    def used(self) -> str:
        """What the pipeline will be, as ``models list`` shows it."""
        if self.served_by != self.language:
            return f"as {self.served_by} (spaCy has no '{self.language}')"
        return f"{self.base or 'blank'}+gazetteer"


def has_language_class(lang: str) -> bool:
    """spaCy knows ``lang`` (``spacy.blank(lang)`` works)."""
    # find_spec, not spacy.util.get_lang_class: importing a language (French: 6 s) is not needed
    # to know it exists.
    if lang in spacy.util.registry.languages:  # registered (imported, or by a package's entry point)
        return True
    try:
        return importlib.util.find_spec(f"spacy.lang.{lang}") is not None
    except (ImportError, ValueError):
        return False


def installed_model(name: str | None) -> tuple[bool, str | None]:
    """(installed, version) of a model package or model directory."""
    if not name:
        return False, None
    if spacy.util.is_package(name):
        return True, spacy.util.get_package_version(name)
    if Path(name).is_dir():  # a model directory: its meta.json has the version
        try:
            meta = json.loads((Path(name) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return True, None
        return True, meta.get("version") if isinstance(meta, dict) else None
    return False, None


def choose_model(lang: str, *, model: str | None = None, fallback_model: str | None = None) -> ModelChoice:
    """The rule of the module docstring for ``lang`` with ``model`` configured."""
    installed, version = installed_model(model)
    options = tuple(name for name in dict.fromkeys((model, fallback_model)) if name)
    if not has_language_class(lang):
        return ModelChoice(lang, model, installed, version, options, (), XX)
    candidates = tuple(name for name in options if (installed if name == model else installed_model(name)[0]))
    return ModelChoice(lang, model, installed, version, options, candidates, lang)


def configured_model(lang: str, settings: EnrichSettings) -> str | None:
    """``enrich.models[lang]``; for ``xx`` the fallback model unless one is configured."""
    model = settings.models.get(lang)
    if lang == XX:
        return model or settings.fallback_model or None
    return model


def model_for(lang: str, settings: EnrichSettings) -> ModelChoice:
    """The choice for ``lang`` under ``settings`` (what the Enricher builds)."""
    return choose_model(lang, model=configured_model(lang, settings), fallback_model=settings.fallback_model)


def model_languages(settings: EnrichSettings) -> list[str]:
    """The configured languages, then ``xx``."""
    return list(dict.fromkeys([*settings.languages, XX]))


def model_choices(settings: EnrichSettings) -> list[ModelChoice]:
    """One choice per configured language, then ``xx`` (``models list``)."""
    return [model_for(lang, settings) for lang in model_languages(settings)]
