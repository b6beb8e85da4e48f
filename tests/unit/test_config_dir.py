"""Where the configuration comes from (streams.settings.config_dir), what the wheel carries of it,
defaults in one place and the version in one place. The installed wheel itself: tests/integration/test_wheel.py.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

import streams
from streams import settings as settings_module
from streams.cli import app
from streams.settings import (
    CHECKOUT_CONFIG_DIR,
    CONFIG_ENV,
    DEFAULT_MODELS,
    PROJECT_DIR,
    ConfigDirError,
    EnrichSettings,
    Settings,
    StackSettings,
    config_dir,
    get_settings,
    use_config_dir,
)

PYPROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"


@pytest.fixture(autouse=True)
def lookup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the plain lookup and leaves it so: no --config, no environment variable."""
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    use_config_dir(None)
    yield
    use_config_dir(None)


def make_config(path: Path, toml: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "settings.toml").write_text(toml, encoding="utf-8")
    return path


# --- the lookup order -------------------------------------------------------------------------------


def test_source_checkout_uses_its_config_dir():
    assert settings_module.running_from_source()
    assert config_dir() == CHECKOUT_CONFIG_DIR
    enrich = Settings().enrich
    assert enrich.gazetteer_dir == CHECKOUT_CONFIG_DIR / "gazetteer"
    assert enrich.topics_dir == CHECKOUT_CONFIG_DIR / "topics"


def test_installed_package_uses_the_copy_it_carries(tmp_path, monkeypatch):
    shipped = make_config(tmp_path / "site-packages" / "streams" / "config")
    monkeypatch.setattr(settings_module, "running_from_source", lambda: False)
    monkeypatch.setattr(settings_module, "PACKAGED_CONFIG_DIR", shipped)
    assert config_dir() == shipped
    assert Settings().enrich.gazetteer_dir == shipped / "gazetteer"


def test_installed_package_keeps_stack_state_out_of_site_packages(tmp_path, monkeypatch):
    assert StackSettings().state_dir == PROJECT_DIR / ".stack"  # a checkout: as before
    monkeypatch.setattr(settings_module, "running_from_source", lambda: False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert StackSettings().state_dir == tmp_path / "state" / "newsstreams" / "stack"


def test_installed_package_without_its_copy_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(settings_module, "running_from_source", lambda: False)
    monkeypatch.setattr(settings_module, "PACKAGED_CONFIG_DIR", tmp_path / "absent")
    with pytest.raises(ConfigDirError, match=f"no configuration directory.*{CONFIG_ENV} or pass --config DIR"):
        config_dir()


def test_environment_beats_the_checkout_and_option_beats_the_environment(tmp_path, monkeypatch):
    from_env = make_config(tmp_path / "env", "[search]\nalias = 'from-env'\n")
    from_option = make_config(tmp_path / "option", "[search]\nalias = 'from-option'\n")
    monkeypatch.setenv(CONFIG_ENV, str(from_env))
    assert config_dir() == from_env
    assert Settings().search.alias == "from-env"
    use_config_dir(from_option)
    assert config_dir() == from_option
    assert Settings().search.alias == "from-option"
    use_config_dir(None)
    assert config_dir() == from_env


def test_use_config_dir_drops_cached_settings(tmp_path):
    before = get_settings()
    assert get_settings() is before
    use_config_dir(make_config(tmp_path / "conf", "[kafka]\ngroup_id = 'elsewhere'\n"))
    after = get_settings()
    assert after is not before
    assert after.kafka.group_id == "elsewhere"
    assert after.enrich.gazetteer_dir == tmp_path / "conf" / "gazetteer"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("missing", "no such directory"),
        ("file.toml", "not a directory"),
        ("empty", "not a newsstreams configuration \\(holds none of settings.toml, gazetteer"),
    ],
)
def test_explicit_directory_must_be_a_configuration(tmp_path, monkeypatch, name, expected):
    (tmp_path / "file.toml").write_text("", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    target = tmp_path / name
    with pytest.raises(ConfigDirError, match=f"'{target}' \\(from --config\\): {expected}"):
        use_config_dir(target)
    monkeypatch.setenv(CONFIG_ENV, str(target))
    with pytest.raises(ConfigDirError, match=f"\\(from {CONFIG_ENV}\\): {expected}"):
        config_dir()


def test_a_directory_with_only_a_gazetteer_is_one(tmp_path):
    (tmp_path / "conf" / "gazetteer").mkdir(parents=True)
    use_config_dir(tmp_path / "conf")  # no settings.toml: the defaults in code
    assert Settings().search.alias == "articles"


# --- the command line ---------------------------------------------------------------------------------


def test_cli_config_option_missing_directory_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "nope"), "enrich", str(SEED)])
    assert result.exit_code == 2, result.output
    assert f"config directory '{tmp_path / 'nope'}' (from --config): no such directory" in result.output


def test_cli_environment_missing_directory_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "nope"))
    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 2, result.output
    assert f"(from {CONFIG_ENV}): no such directory" in result.output


def test_cli_config_option_is_read_before_the_settings(tmp_path):
    conf = make_config(tmp_path / "conf", '[enrich]\nlanguages = ["nl"]\n[enrich.models]\nnl = "my_nl_model"\n')
    result = CliRunner().invoke(app, ["--config", str(conf), "models", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert '"my_nl_model"' in result.output and '"en_core_web_md"' not in result.output


def test_console_script_option_replaces_a_wrong_environment(tmp_path):
    """`main()` configures logging before the option is parsed: a wrong variable must not stop it."""
    conf = make_config(tmp_path / "conf", '[enrich]\nlanguages = ["de"]\n')
    env = {**os.environ, CONFIG_ENV: str(tmp_path / "nope"), "PYTHONPATH": str(PROJECT_DIR)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "streams", *args], env=env, capture_output=True, text=True)

    ok = cli("--config", str(conf), "models", "list", "--json")
    assert ok.returncode == 0, ok.stderr
    assert '"de"' in ok.stdout and '"nl"' not in ok.stdout
    bad = cli("models", "list")
    assert bad.returncode == 2
    assert f"(from {CONFIG_ENV}): no such directory" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- defaults in one place ------------------------------------------------------------------------------


def _flatten(table: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_settings_toml_repeats_no_default():
    """config/settings.toml holds overrides only: a key it sets must differ from the code default."""
    config = tomllib.loads((CHECKOUT_CONFIG_DIR / "settings.toml").read_text(encoding="utf-8"))
    defaults = _flatten(
        {
            name: field.default_factory().model_dump(mode="json") if field.default_factory else field.default
            for name, field in Settings.model_fields.items()
        }
    )
    repeated = {key: value for key, value in _flatten(config).items() if defaults.get(key) == value}
    assert not repeated, f"settings.toml repeats defaults of streams/settings.py: {repeated}"


def test_models_merge_into_the_defaults(tmp_path, monkeypatch):
    assert EnrichSettings().models == DEFAULT_MODELS
    use_config_dir(make_config(tmp_path / "conf", '[enrich.models]\nnl = "nl_core_news_lg"\nen = ""\n'))
    models = Settings().enrich.models
    assert models == {**DEFAULT_MODELS, "nl": "nl_core_news_lg", "en": ""}
    monkeypatch.setenv("NEWSSTREAMS_ENRICH__MODELS__DE", "/srv/models/de")
    assert Settings().enrich.models == {**models, "de": "/srv/models/de"}


# --- what the wheel carries -----------------------------------------------------------------------------


def test_every_package_is_listed():
    """pyproject.toml lists the packages (find cannot map config/): a new one must be added there."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PROJECT_DIR).parts) for init in (PROJECT_DIR / "streams").rglob("__init__.py")
    }
    assert found <= listed, f"not in [tool.setuptools] packages: {sorted(found - listed)}"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"streams.config": "config"}
    assert listed - found == {"streams.config"}


def test_package_data_carries_every_runtime_file():
    """Every file of config/ ships, except the development tools named here and local files."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    patterns = setuptools["package-data"]["streams.config"]
    excluded = setuptools["exclude-package-data"]["streams.config"]
    dev_only = {"kibana/generate.py", "kibana/README.md"}
    files = {
        path.relative_to(CHECKOUT_CONFIG_DIR).as_posix()
        for path in CHECKOUT_CONFIG_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    shipped = {f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns)}
    shipped -= {f for f in files if any(fnmatch.fnmatch(f, p) for p in excluded)}
    local = {f for f in files if any(fnmatch.fnmatch(f, p) for p in excluded)}
    assert files - shipped - local == dev_only
    assert {"settings.toml", "gazetteer/people.yaml", "topics/nl.yaml", "kibana/newsstreams.ndjson"} <= shipped


# --- the version in one place ---------------------------------------------------------------------------


def test_version_is_the_one_in_pyproject():
    assert streams.__version__ == PYPROJECT["project"]["version"]


def test_version_from_a_source_tree_that_is_not_installed(monkeypatch):
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    assert streams._version() == PYPROJECT["project"]["version"]
