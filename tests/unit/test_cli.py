"""The command line as a whole: help on every parameter, the order of `newsstreams --help`, exit 2 for
usage errors. In-process (typer's CliRunner); nothing here reaches Kafka or a search engine."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
import typer.main
from typer.testing import CliRunner

from streams.cli import app
from streams.cli.common import WORKFLOW
from streams.search import InvalidQuery
from streams.settings import get_settings


def commands(command=None, path: tuple[str, ...] = ("newsstreams",)) -> Iterator[tuple[str, object]]:
    """Every command and group, depth first, with its path."""
    command = command or typer.main.get_command(app)
    yield " ".join(path), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def test_every_option_and_argument_has_help():
    missing = [
        f"{path}: {param.name}"
        for path, command in commands()
        for param in command.params
        if not (getattr(param, "help", None) or "").strip()
    ]
    assert not missing, "parameters without help: " + ", ".join(missing)


def test_every_command_has_help():
    assert not [path for path, command in commands() if not (command.help or "").strip()]


def test_help_lists_the_commands_in_workflow_order():
    group = typer.main.get_command(app)
    with click.Context(group) as ctx:
        names = group.list_commands(ctx)
    assert names == list(WORKFLOW)  # a new command needs a place in WORKFLOW
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    listed = [m.group(1) for m in re.finditer(r"^│ (\w+) ", out, re.MULTILINE)]
    assert listed == list(WORKFLOW), out


@pytest.fixture
def invoke():
    def run(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
        finally:
            get_settings.cache_clear()

    return run


@pytest.mark.parametrize(
    "args, mentions",
    [
        (["worker", "--search-backend", "solr"], "--search-backend"),
        (["worker", "--log-format", "xml"], "--log-format"),
        (["stack", "logs", "zookeeper"], "zookeeper"),
        (["kibana", "import", "--flavour", "grafana"], "--flavour"),
        (["kibana", "import", "--flavour", "kibana", "--opensearch-dashboards"], "contradict"),
        (["kibana", "import", "--opensearch-dashboards", "--space", "ops"], "--space"),
        (["search", "x", "--lang", "klingon"], "--lang"),
        (["search", "x", "--limit", "-1"], "--limit"),
        (["stories", "--lang", "klingon"], "--lang"),
        (["stories", "--limit", "-1"], "--limit"),
        (["produce", "seeds", "--language", "klingon"], "--language"),
        (["enrich", "seeds", "--language", "klingon"], "--language"),
        (["dlq", "replay", "--since", "yesterday"], "--since"),
        (["gazetteer", "build", "--wikidata-dump", "no/such/dump.json.gz"], "--wikidata-dump"),
        (["gazetteer", "stats", "--languages", " , "], "--languages"),
        (["models", "download", "zz"], "no model configured for zz"),
    ],
)
def test_usage_errors_exit_2(invoke, args, mentions):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert mentions in result.output and "Traceback" not in result.output


def test_a_bad_class_is_a_usage_error(invoke, tmp_path):
    dump = tmp_path / "dump.json"
    dump.write_text("[]\n")
    result = invoke("gazetteer", "build", "--wikidata-dump", str(dump), "--class", "nonsense")
    assert result.exit_code == 2 and "--class" in result.output, result.output


def test_language_options_are_normalised(invoke, monkeypatch):
    seen = {}

    def fake_search(query, **kwargs):
        seen.update(kwargs)
        raise InvalidQuery("stop here")

    monkeypatch.setattr("streams.search.search", fake_search)
    assert invoke("search", "x", "--lang", "NL-be").exit_code == 2
    assert seen["lang"] == "nl"
    assert invoke("search", "x", "--lang", "UND").exit_code == 2
    assert seen["lang"] == "und"

    def fake_top_stories(**kwargs):
        seen.update(kwargs)
        raise InvalidQuery("stop here")

    monkeypatch.setattr("streams.search.top_stories", fake_top_stories)
    assert invoke("stories", "--lang", "DE-at").exit_code == 2
    assert seen["lang"] == "de"
