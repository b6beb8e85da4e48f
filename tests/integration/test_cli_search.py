"""`newsstreams search` run like a user runs it (a subprocess) against the real engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
PUTIN = {"label": "PER", "id": "Q7747", "name": "Vladimir Putin", "source": "gazetteer"}


def doc(id, language, published_at, title, body, entities=(), topics=(), source="test.example"):
    entities = [{"text": text, "start": 0, "end": len(text), **ent} for text, ent in entities]
    return {
        "id": id,
        "url": f"https://{source}/{id}",
        "source": source,
        "title": title,
        "body": body,
        "published_at": published_at,
        "language": language,
        "entities": entities,
        "entity_ids": [e["id"] for e in entities if e.get("id")],
        "entity_names": [e["name"] for e in entities if e.get("name")],
        "topics": [{"code": code, "label": label, "score": 0.8} for code, label in topics],
    }


POLITICS = ("medtop:11000000", "politics")
DOCS = [
    doc(
        "nl-1",
        "nl",
        "2024-03-01T08:00:00Z",
        "Poetin dreigt de gaspijpleidingen af te sluiten",
        "Volgens het Kremlin blijven de gaspijpleidingen dicht. Poetin sprak dinsdag in Moskou.",
        [("Poetin", PUTIN), ("Moskou", {"label": "LOC", "id": "Q649", "name": "Moscow"})],
        [POLITICS],
        source="nos.nl",
    ),
    doc(
        "en-1",
        "en",
        "2024-03-05T12:00:00Z",
        "Putin meets European leaders over gas",
        "Vladimir Putin met European leaders to discuss gas supplies.",
        [("Putin", PUTIN)],
        [POLITICS],
        source="bbc.co.uk",
    ),
    doc(
        "de-1",
        "de",
        "2024-04-02T09:30:00Z",
        "Wladimir Putin und Scholz telefonieren",
        "Der Kanzler sprach mit Wladimir Putin über Gaslieferungen.",
        [("Wladimir Putin", PUTIN), ("Scholz", {"label": "PER", "id": "Q61053", "name": "Olaf Scholz"})],
        [POLITICS],
        source="tagesschau.de",
    ),
    doc(
        "en-2",
        "en",
        "2024-04-10T20:30:00Z",
        "Ajax win the derby [red]late[/red]",
        "A late goal settled the football match.",
        [],
        [("medtop:15000000", "sport")],
        source="bbc.co.uk",
    ),
    doc(
        "nl-2",
        "nl",
        "2024-02-20T10:00:00Z",
        "Regen in Utrecht",
        "Het KNMI verwacht morgen veel regen in Utrecht.",
        [],
        [("medtop:06000000", "environment")],
        source="nos.nl",
    ),
]


@pytest.fixture
def alias(fresh_backend) -> str:
    assert fresh_backend.bulk_index(DOCS) == []
    fresh_backend.refresh()
    return fresh_backend.alias


def cli(alias: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSSTREAMS_SEARCH__ALIAS": alias, "COLUMNS": "200", **env}
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE"):
        env.setdefault(name, "")
    return subprocess.run(
        [sys.executable, "-m", "streams", "search", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT,
    )


def ids(alias: str, *args: str) -> set[str]:
    result = cli(alias, *args, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == len(data["hits"])  # the corpus is smaller than --limit
    return {h["id"] for h in data["hits"]}


def test_filters_return_exactly_the_right_documents(alias):
    assert ids(alias) == {d["id"] for d in DOCS}  # an empty query: filters only
    assert ids(alias, "--lang", "en") == {"en-1", "en-2"}
    assert ids(alias, "--entity", "Q7747") == {"nl-1", "en-1", "de-1"}
    assert ids(alias, "--entity", "Vladimir Putin") == {"nl-1", "en-1", "de-1"}
    assert ids(alias, "--since", "2024-04-01") == {"de-1", "en-2"}
    assert ids(alias, "--until", "2024-03-01") == {"nl-1", "nl-2"}
    assert ids(alias, "--source", "nos.nl", "--topic", "politics") == {"nl-1"}
    assert ids(alias, "gas", "--entity", "Q7747", "--lang", "en") == {"en-1"}


def test_json_carries_the_hit_fields_and_limit(alias):
    result = cli(alias, "poetin", "--json", "--limit", "1")
    data = json.loads(result.stdout)
    assert data["total"] == 1 and len(data["hits"]) == 1
    hit = data["hits"][0]
    assert hit["id"] == "nl-1" and hit["language"] == "nl" and hit["entities"] == ["Vladimir Putin", "Moscow"]
    assert hit["topics"] == ["politics"] and "<em>Poetin</em>" in hit["highlights"]["title"][0]
    assert json.loads(cli(alias, "", "--json", "--limit", "2").stdout)["total"] == len(DOCS)


def test_table_shows_titles_and_bold_highlights(alias):
    plain = cli(alias, "poetin")
    assert plain.returncode == 0, plain.stderr
    assert "Poetin dreigt de gaspijpleidingen af te sluiten" in plain.stdout
    assert "Poetin sprak dinsdag in Moskou." in plain.stdout  # the body snippet
    assert "Vladimir Putin" in plain.stdout and "politics" in plain.stdout and "2024-03-01" in plain.stdout
    assert "<em>" not in plain.stdout and "[bold]" not in plain.stdout

    coloured = cli(alias, "poetin", FORCE_COLOR="1").stdout
    assert re.search(r"\x1b\[[0-9;]*1[0-9;]*mPoetin\x1b\[0?m", coloured), coloured  # bold on the match
    assert "Poetin" in re.sub(r"\x1b\[[0-9;]*m", "", coloured)


def test_article_text_is_never_read_as_rich_markup(alias):
    result = cli(alias, "derby")
    assert "Ajax win the derby [red]late[/red]" in result.stdout, result.stdout


def test_facets_show_counts(alias):
    result = cli(alias, "", "--facets")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.search(r"Vladimir Putin\s+3\b", line) for line in lines), result.stdout
    assert any(re.search(r"politics\s+3\b", line) for line in lines), result.stdout
    assert any(re.search(r"\ben\s+2\b", line) for line in lines), result.stdout
    assert any(re.search(r"2024-04-10\s+1\b", line) for line in lines), result.stdout
    facets = json.loads(cli(alias, "", "--facets", "--json").stdout)["facets"]
    assert ["nl", 2] in facets["languages"] and ["bbc.co.uk", 2] in facets["sources"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "2024-13-45"], "since"),
        (["--since", "2024-05-01", "--until", "2024-04-01"], "before"),
        (["--limit", "-1"], "limit"),
    ],
)
def test_malformed_arguments_exit_2_without_traceback(alias, args, message):
    result = cli(alias, "x", *args)
    assert result.returncode == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unreachable_engine_and_missing_alias_exit_2(alias):
    down = cli(alias, "x", NEWSSTREAMS_SEARCH__URL="http://127.0.0.1:1")
    assert down.returncode == 2 and "unavailable" in down.stderr and "Traceback" not in down.stderr
    missing = cli(alias + "-nope", "x")
    assert missing.returncode == 2 and "newsstreams setup" in missing.stderr
