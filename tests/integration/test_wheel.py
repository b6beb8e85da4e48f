"""The built wheel, installed in a fresh virtual environment, works from any directory.

Builds the wheel from a copy of the sources (a stale build/ in the checkout cannot leak into it),
installs it with its dependencies into a new venv (from the package index or pip's cache), and runs the
installed `newsstreams` from an unrelated working directory, with no PYTHONPATH and no
NEWSSTREAMS_CONFIG_DIR: the gazetteer, topic lexicons and settings must come from the package itself.
Slow: about a minute with a nearby package index (wheel 3 s, venv 5 s, installing the ~80 dependencies
45 s), longer over a slow link; `-m "not slow"` skips it. Needs no Kafka or search engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from streams.settings import CONFIG_ENV, PROJECT_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"  # NOS (nl): "Poetin" -> Vladimir Putin, Q7747
# What the build reads; anything else (build/, *.egg-info, .venv, tests) stays behind.
SOURCES = ("pyproject.toml", "README.md", "streams", "config")


def clean_env() -> dict[str, str]:
    """This environment without what would point the installed command back at the checkout."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", CONFIG_ENV}
    return {k: v for k, v in os.environ.items() if k not in drop}


def run(args: list[str | Path], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )


def checked(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ directory of a fresh venv with the wheel built from this tree installed."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in SOURCES:
        origin = PROJECT_DIR / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, src / name)
    dist = base / "dist"
    checked(run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src], cwd=base, timeout=180))
    [wheel] = dist.glob("newsstreams-*.whl")

    venv = base / "venv"
    checked(run([sys.executable, "-m", "venv", venv], cwd=base, timeout=120))
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    checked(run([*pip, "install", "-q", wheel], cwd=base, timeout=300))
    return venv / "bin"


def test_installed_package_finds_its_config_from_anywhere(installed: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = checked(
        run(
            [
                installed / "python",
                "-c",
                "import streams, streams.settings as s; print(streams.__file__); print(streams.__version__); "
                "print(s.config_dir())",
            ],
            cwd=elsewhere,
            timeout=60,
        )
    )
    module_file, version, config = probe.stdout.splitlines()
    site = installed.parent / "lib"
    assert Path(module_file).is_relative_to(site), f"imported {module_file}, not the installed package"
    assert Path(config) == Path(module_file).parent / "config"
    assert version == tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]["version"]

    result = checked(run([installed / "newsstreams", "enrich", SEED], cwd=elsewhere, timeout=180))
    doc = json.loads(result.stdout)
    assert doc["language"] == "nl"
    putin = [e for e in doc["entities"] if e.get("id") == "Q7747"]
    assert putin, f"no Q7747 among {[(e['text'], e.get('id')) for e in doc['entities']]}"
    assert putin[0]["source"] == "gazetteer"
    assert doc["topics"], "no topics: the topic lexicons did not load"
    assert doc["pipeline"]["version"] == version
    assert "no YAML files" not in result.stderr and "no lexicons" not in result.stderr, result.stderr


def test_installed_command_refuses_a_missing_config_dir(installed: Path, tmp_path: Path):
    result = run([installed / "newsstreams", "--config", "/nonexistent", "enrich", SEED], cwd=tmp_path, timeout=120)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "config directory '/nonexistent' (from --config): no such directory" in result.stderr
    assert result.stdout == ""
