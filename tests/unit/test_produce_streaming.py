"""`newsstreams produce` without a broker: a fake producer in place of ArticleProducer. The inputs are
read while they are sent, a file at a time; progress is a bar on a terminal and nothing without one.
(tests/integration/test_cli_produce.py runs it against the real broker.)"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

import streams.cli.produce as produce_cli
from streams.cli import app
from streams.kafka.producer import SendReport
from streams.settings import get_settings


class FakeProducer:
    instances: list[FakeProducer] = []

    def __init__(self, kafka, *, topic):
        self.topic = topic
        self.sent: list[dict] = []
        self.given = None
        self.on_first = None
        FakeProducer.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def send_many(self, articles, on_progress=None):
        self.given = articles
        for article in articles:
            self.sent.append(article)
            if len(self.sent) == 1 and FakeProducer.on_first:
                FakeProducer.on_first()
            if on_progress:
                on_progress(len(self.sent), None)
        return SendReport(delivered=len(self.sent))


@pytest.fixture
def fake_kafka(monkeypatch):
    asked = []
    FakeProducer.instances = []
    FakeProducer.on_first = None
    monkeypatch.setattr("streams.kafka.producer.ArticleProducer", FakeProducer)
    monkeypatch.setattr("streams.kafka.consumer.require_topic", lambda kafka, topic: asked.append(topic))
    get_settings.cache_clear()
    yield asked
    get_settings.cache_clear()


def lines(n: int, prefix: str) -> str:
    return "".join(json.dumps({"id": f"{prefix}-{i}", "title": f"T {i}", "body": "B"}) + "\n" for i in range(n))


def produce(*args: str):
    return CliRunner().invoke(app, ["produce", *args])


def test_inputs_are_read_while_sending(fake_kafka, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(lines(3, "a"))
    second.write_text(lines(2, "b"))
    # Once the first article is handed to the producer, the second file goes away: read up front, its
    # articles would be sent; read as they are sent, it is not found.
    FakeProducer.on_first = second.unlink
    result = produce(str(first), str(second))
    assert result.exit_code == 1, result.output
    [producer] = FakeProducer.instances
    assert not isinstance(producer.given, list)
    assert [a["id"] for a in producer.sent] == ["a-0", "a-1", "a-2"]
    assert f"{second}: not_found" in result.stderr
    assert "sent 3, rejected 1 (topic articles.raw)" in result.stdout
    assert fake_kafka == ["articles.raw"]


def test_directories_stdin_and_rejections(fake_kafka, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "1.jsonl").write_text(lines(2, "d") + '{"title": "no body"}\n')
    (folder / "sub" / "2.txt").write_text("Titel\n\nTekst.\n")
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        app, ["produce", str(folder), "-", str(tmp_path / "empty"), "--topic", "t"], input=lines(1, "s")
    )
    assert result.exit_code == 1, result.output
    assert [a["id"] for a in FakeProducer.instances[0].sent][:2] == ["d-0", "d-1"]
    assert "sent 4, rejected 2 (topic t)" in result.stdout
    assert "1.jsonl:3: missing_field" in result.stderr and "empty: empty_input" in result.stderr


def test_nothing_valid_never_asks_kafka(fake_kafka, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "no body"}')
    result = produce(str(bad))
    assert result.exit_code == 1 and "sent 0, rejected 1" in result.stdout
    assert fake_kafka == [] and FakeProducer.instances == []


def test_no_bar_without_a_terminal(fake_kafka, tmp_path, monkeypatch):
    monkeypatch.setattr(produce_cli, "PROGRESS_DELAY_S", 0)
    (tmp_path / "a.jsonl").write_text(lines(30, "a"))
    result = produce(str(tmp_path / "a.jsonl"))
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and result.stdout.strip() == "sent 30, rejected 0 (topic articles.raw)"


def test_a_bar_of_bytes_read_on_a_terminal(fake_kafka, tmp_path, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(produce_cli, "err", Console(file=screen, force_terminal=True, width=120))
    monkeypatch.setattr(produce_cli, "PROGRESS_DELAY_S", 0)
    data = lines(30, "a")
    (tmp_path / "a.jsonl").write_text(data)
    result = produce(str(tmp_path / "a.jsonl"))
    assert result.exit_code == 0, result.output
    shown = screen.getvalue()
    assert "sending" in shown and "30 sent" in shown
    assert f"{len(data) / 1000:.1f}/{len(data) / 1000:.1f} kB" in shown  # the whole file read
