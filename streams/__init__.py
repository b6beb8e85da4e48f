"""newsstreams: a Kafka -> Faust -> Elasticsearch/OpenSearch ingestion pipeline for news."""

from __future__ import annotations


def _version() -> str:
    """The version in pyproject.toml: from the installed distribution's metadata, else (a source tree
    on the path, not installed) from pyproject.toml beside this package."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsstreams")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        try:
            with (Path(__file__).resolve().parent.parent / "pyproject.toml").open("rb") as f:
                project = tomllib.load(f)["project"]
        except (OSError, tomllib.TOMLDecodeError, KeyError):
            return "0+unknown"
        return str(project["version"]) if project.get("name") == "newsstreams" else "0+unknown"


__version__ = _version()
