"""`newsstreams produce` run like a user runs it (a subprocess) against the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from streams.contracts.inputs import read_inputs
from streams.kafka.consumer import read_all

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
SEED = PROJECT / "seeds" / "000_d6634ea9b322a4cb.txt"


@pytest.fixture
def topic(make_topic) -> str:
    return make_topic("test.cli.produce")


def cli(*args: str, topic: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSSTREAMS_KAFKA__TOPIC_RAW": topic}
    return subprocess.run(
        [sys.executable, "-m", "streams", "produce", *args],
        env=env,
        input=input,
        capture_output=True,
        text=input is None,
        timeout=120,
        cwd=PROJECT,
    )


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "list.json").write_text(
        json.dumps(
            [
                {"id": "given-1", "title": "Macron in Moskou", "body": "Macron sprak met Poetin."},
                {
                    "url": "https://example.org/a",
                    "title": "Scholz in Kyiv",
                    "body": "Der Kanzler reiste.",
                    "language": "de",
                },
            ]
        ),
        encoding="utf-8",
    )
    (folder / "lines.jsonl").write_text(
        json.dumps({"title": "Goede regel", "body": "Een geldig artikel."})
        + "\n"
        + json.dumps({"title": "no body [red]here[/red]"})
        + "\n",
        encoding="utf-8",
    )
    (folder / "note.txt").write_text("Een titel\n\nDe tekst van het bericht.\n", encoding="utf-8")
    return folder


def test_files_and_directories_good_ones_arrive_bad_ones_reported(kafka, topic, inputs):
    result = cli(str(SEED), str(inputs), "--source", "nos.nl", "--language", "nl", topic=topic)

    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    bad_line = f"{inputs / 'lines.jsonl'}:2"
    rejected = [line for line in result.stderr.splitlines() if line.startswith("rejected ")]
    assert len(rejected) == 1, result.stderr
    assert bad_line in rejected[0] and "missing_field" in rejected[0] and "body is required" in rejected[0]
    assert "sent 5, rejected 1" in result.stdout

    expected = {a["id"]: a for _, a, _ in read_inputs([SEED, inputs], source="nos.nl", language="nl") if a}
    assert len(expected) == 5 and "given-1" in expected
    records = read_all(kafka, topic)
    by_key = {r.key.decode(): json.loads(r.value) for r in records}
    assert len(records) == 5 and by_key == expected
    assert by_key["given-1"]["source"] == "nos.nl"  # --source fills the gap
    german = next(a for a in by_key.values() if a["title"] == "Scholz in Kyiv")
    assert german["language"] == "de" and german["id"].startswith("u-")  # --language never overrides


def test_stdin(kafka, topic):
    payload = "\n".join(json.dumps({"id": f"s-{i}", "title": f"T {i}", "body": "B"}) for i in range(3))
    result = cli("-", "--source", "stdin.test", topic=topic, input=payload.encode())
    assert result.returncode == 0, result.stderr
    assert b"sent 3, rejected 0" in result.stdout
    records = read_all(kafka, topic)
    assert sorted(r.key for r in records) == [b"s-0", b"s-1", b"s-2"]
    assert {json.loads(r.value)["source"] for r in records} == {"stdin.test"}


def test_many_articles_with_progress_bar(kafka, topic, tmp_path):
    many = tmp_path / "many.jsonl"
    many.write_text(
        "".join(json.dumps({"id": f"m-{i}", "title": f"T {i}", "body": "B"}) + "\n" for i in range(60)),
        encoding="utf-8",
    )
    result = cli(str(many), topic=topic)
    assert result.returncode == 0, result.stderr
    assert "sent 60, rejected 0" in result.stdout
    assert len(read_all(kafka, topic)) == 60


def test_missing_topic_exits_2_naming_it_and_creates_nothing(admin):
    name = f"test.cli.missing.{uuid.uuid4().hex[:12]}"
    result = cli(str(SEED), topic=name)
    assert result.returncode == 2, result
    assert name in result.stderr and "newsstreams setup" in result.stderr
    assert "Traceback" not in result.stderr
    assert name not in admin.list_topics()


def test_topic_option_overrides_the_setting(kafka, topic):
    result = cli(str(SEED), "--topic", topic, topic="some.other.topic")
    assert result.returncode == 0, result.stderr
    assert len(read_all(kafka, topic)) == 1


def test_bad_language_option_is_a_usage_error(topic):
    result = cli(str(SEED), "--language", "klingon", topic=topic)
    assert result.returncode == 2 and "--language" in result.stderr and "Traceback" not in result.stderr
