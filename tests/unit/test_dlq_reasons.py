"""DLQ reason codes documented (README table, `dlq show` legend) and `dlq replay` saying where records
go. In-process with a fake DLQ and producer; tests/integration/test_dlq.py runs against the broker."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.contracts.dlq import REASONS, dlq_record
from streams.ops.dlq import DlqEntry, replay, replay_target, replay_targets
from streams.settings import PROJECT_DIR, get_settings

RAW, ENRICHED = "articles.raw", "articles.enriched"


def readme_reasons() -> dict[str, str]:
    """reason code -> stage, from the README's table of reason codes."""
    text = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([a-z0-9_<>]+)` \| (\w+) \|", text, re.MULTILINE))


def test_readme_lists_every_reason_code():
    table = readme_reasons()
    missing = [code for code in REASONS if code not in table]
    assert not missing, f"add these DLQ reason codes to the README table: {missing}"
    assert {code: table[code] for code in REASONS} == {code: stage for code, (stage, _) in REASONS.items()}
    assert set(table) - set(REASONS) == {"rejected_<status>"}  # no codes the catalogue does not have


def entry(reason: str, stage: str, topic: str = RAW, offset: int = 0) -> DlqEntry:
    record = dlq_record(b'{"title": "x"}', reason, stage, f"{reason} error", topic, 0, offset)
    return DlqEntry(0, offset, 0, b"k", record)


def test_replay_target_is_where_the_record_failed():
    assert replay_target(entry("not_json", "validate"), RAW) == RAW
    assert replay_target(entry("too_large_enriched", "enrich"), RAW) == RAW
    assert replay_target(entry("rejected_400", "index", ENRICHED), RAW) == ENRICHED
    no_topic = DlqEntry(0, 0, 0, None, {"stage": "index", "payload": "{}"})
    assert replay_target(no_topic, RAW) == RAW
    entries = [entry("not_json", "validate"), entry("rejected_400", "index", ENRICHED)]
    assert replay_targets(entries, RAW) == {RAW: 1, ENRICHED: 1}


class FakeProducer:
    def __init__(self, *args, **kwargs):
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        FakeProducer.last = self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass

    def send_raw(self, topic, key, value):
        self.sent.append((topic, key, value))


def test_replay_sends_each_record_back_where_it_failed():
    producer = FakeProducer()
    report = replay([entry("enrich_failed", "enrich"), entry("rejected_413", "index", ENRICHED)], producer, RAW)
    assert [topic for topic, _, _ in producer.sent] == [RAW, ENRICHED]
    assert report.sent == 2 and report.sent_to == {RAW: 1, ENRICHED: 1}


@pytest.fixture
def dlq(monkeypatch):
    entries: list[DlqEntry] = []
    asked: list[str] = []
    monkeypatch.setattr("streams.ops.dlq.read_dlq", lambda kafka: list(entries))
    monkeypatch.setattr("streams.kafka.consumer.require_topic", lambda kafka, topic: asked.append(topic))
    monkeypatch.setattr("streams.kafka.producer.ArticleProducer", FakeProducer)
    get_settings.cache_clear()
    yield entries, asked
    get_settings.cache_clear()


def cli(*args: str):
    return CliRunner().invoke(app, ["dlq", *args], env={"COLUMNS": "200"})


def test_show_explains_the_reasons_present(dlq):
    entries, _ = dlq
    entries += [entry("not_json", "validate"), entry("rejected_503", "index", ENRICHED, 1)]
    entries.append(DlqEntry(0, 2, 0, None, None, "not a DLQ record (not UTF-8 JSON: ...)"))
    result = cli("show")
    assert result.exit_code == 0, result.output
    legend = result.stdout[result.stdout.index("reasons") :]
    assert re.search(r"not_json\s+the value is not JSON", legend), legend
    assert "the engine refused the document with HTTP 503" in legend
    assert "missing_field" not in legend  # only the reasons present


def test_show_json_is_unchanged(dlq):
    entries, _ = dlq
    entries.append(entry("not_json", "validate"))
    [shown] = json.loads(cli("show", "--json").stdout)
    assert set(shown) == {"dlq", "record"} and shown["record"]["reason"] == "not_json"


def test_replay_says_where_the_records_went(dlq):
    entries, asked = dlq
    entries += [entry("not_json", "validate"), entry("rejected_400", "index", ENRICHED, 1)]
    dry = cli("replay", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would replay 2 record(s): 1 to {RAW}, 1 to {ENRICHED} (dry run)" in dry.stdout
    result = cli("replay")
    assert result.exit_code == 0, result.output
    assert f"replayed 2 record(s): 1 to {RAW}, 1 to {ENRICHED}" in result.stdout
    assert asked == [RAW, ENRICHED]  # both topics checked before sending
    assert [topic for topic, _, _ in FakeProducer.last.sent] == [RAW, ENRICHED]
    only_raw = cli("replay", "--reason", "not_json")
    assert f"replayed 1 record(s) to {RAW}" in only_raw.stdout


def test_replay_help_says_where_records_go():
    text = " ".join(CliRunner().invoke(app, ["dlq", "replay", "--help"], env={"COLUMNS": "400"}).stdout.split())
    assert "Validate- and enrich-stage records (raw articles) go to kafka.topic_raw" in text
    assert "index-stage records (enriched documents) go back to the topic they were read from" in text
