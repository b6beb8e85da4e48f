"""`newsstreams dlq show|replay` against the real broker, on DLQ and raw topics of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from streams.contracts.dlq import dlq_record
from streams.kafka.consumer import read_all
from streams.kafka.producer import ArticleProducer

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
TEXT_PAYLOAD = '{"title": "geen body", "note": "é [red]x[/red]"}'.encode()
BINARY_PAYLOAD = b"\xff\xfe\x00 caf\xe9 latin-1"


@pytest.fixture
def topics(make_topic) -> dict[str, str]:
    return {"dlq": make_topic("test.dlq", 2), "raw": make_topic("test.dlq-raw", 2)}


@pytest.fixture
def dead_letters(kafka, topics):
    """Two DLQ records as the worker writes them: DLQ message key = the original message key."""
    text = dlq_record(TEXT_PAYLOAD, "missing_field", "validate", "body is required", "articles.raw", 1, 7)
    time.sleep(0.01)  # distinct failed_at, so the order is defined
    binary = dlq_record(
        BINARY_PAYLOAD, "not_utf8", "validate", "payload is not UTF-8 " + "x" * 200, "articles.raw", 0, 3
    )
    with ArticleProducer(kafka) as producer:
        producer.send_raw(topics["dlq"], b"key-text", json.dumps(text).encode())
        producer.send_raw(topics["dlq"], b"key-binary", json.dumps(binary).encode())
    return text, binary


def cli(topics: dict, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "NEWSSTREAMS_KAFKA__TOPIC_DLQ": topics["dlq"],
        "NEWSSTREAMS_KAFKA__TOPIC_RAW": topics["raw"],
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "streams", "dlq", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT,
    )


def test_show_json_lists_both_oldest_first(topics, dead_letters):
    result = cli(topics, "show", "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["record"] for e in entries] == list(dead_letters)
    assert [e["dlq"]["key"] for e in entries] == ["key-text", "key-binary"]
    assert [e["record"]["reason"] for e in json.loads(cli(topics, "show", "--json", "-n", "1").stdout)] == ["not_utf8"]


def test_show_table(topics, dead_letters):
    result = cli(topics, "show")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2 record(s) in " + topics["dlq"] in out
    assert "missing_field" in out and "not_utf8" in out and "validate" in out
    assert '"note": "é [red]x[/red]"' in out  # text payload preview, markup kept literal
    assert f"<{len(BINARY_PAYLOAD)} bytes, not UTF-8>" in out
    assert "x" * 100 not in out  # long errors are truncated
    assert out.index("missing_field") < out.index("not_utf8")  # newest last


def test_replay_by_reason_sends_exact_bytes_with_original_key(kafka, topics, dead_letters):
    dry = cli(topics, "replay", "--reason", "not_utf8", "--dry-run")
    assert dry.returncode == 0 and "would replay 1 record(s)" in dry.stdout, dry
    assert read_all(kafka, topics["raw"]) == []

    result = cli(topics, "replay", "--reason", "not_utf8")
    assert result.returncode == 0, result.stderr
    assert f"replayed 1 record(s) to {topics['raw']}" in result.stdout
    [record] = read_all(kafka, topics["raw"])
    assert (record.key, record.value) == (b"key-binary", BINARY_PAYLOAD)


def test_replay_prefers_a_recorded_key_and_filters_by_time(kafka, topics):
    record = dlq_record(TEXT_PAYLOAD, "enrich_failed", "enrich", "boom", "articles.raw", 0, 1)
    record["key"] = "article-42"
    with ArticleProducer(kafka) as producer:
        producer.send_raw(topics["dlq"], None, json.dumps(record).encode())
    future = cli(topics, "replay", "--since", "2999-01-01")
    assert future.returncode == 0 and "no matching records" in future.stdout, future
    result = cli(topics, "replay", "--since", "2000-01-01T00:00:00Z")
    assert result.returncode == 0 and "replayed 1 record(s)" in result.stdout, result
    [sent] = read_all(kafka, topics["raw"])
    assert (sent.key, sent.value) == (b"article-42", TEXT_PAYLOAD)


def test_bad_since_and_missing_topic_exit_2(topics):
    bad = cli(topics, "replay", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr
    missing = cli({"dlq": f"test.dlq.missing.{uuid.uuid4().hex[:8]}", "raw": topics["raw"]}, "show")
    assert missing.returncode == 2 and "newsstreams setup" in missing.stderr, missing
