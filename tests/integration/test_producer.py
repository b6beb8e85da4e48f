"""ArticleProducer against a real broker (``NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS``). No mocks:
an unreachable broker fails these tests rather than skipping them."""

import json
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from streams.contracts.article import dumps_article, parse_raw
from streams.contracts.inputs import read_inputs
from streams.kafka import KafkaUnavailable
from streams.kafka.producer import ArticleProducer
from streams.settings import KafkaSettings

pytestmark = pytest.mark.integration

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_d6634ea9b322a4cb.txt"


@pytest.fixture
def topic(make_topic) -> str:
    return make_topic("test.ingest")


def consume(kafka: KafkaSettings, topic: str, count: int, timeout_s: float = 30.0):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
    )
    records, deadline = [], time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            records += list(consumer)
    finally:
        consumer.close()
    return records


def test_produced_articles_come_back_keyed_by_id_as_clean_json(kafka, topic, tmp_path):
    (tmp_path / "extra.json").write_text(
        json.dumps(
            {
                "url": "https://nos.nl/artikel/1#top",
                "title": "<b>Macron</b> in Moskou",
                "body": "<p>Een.</p><p>Twee &amp; drie.</p>",
                "published_at": "2022-02-08T10:00:00+01:00",
                "author": "Frank Renout",
            }
        ),
        encoding="utf-8",
    )
    results = list(read_inputs([SEED, tmp_path / "extra.json"], source="nos.nl", language="nl"))
    assert [problem for _, _, problem in results] == [None, None]
    articles = [article for _, article, _ in results]

    progress = []
    with ArticleProducer(kafka, topic=topic) as producer:
        report = producer.send_many(articles, on_progress=lambda done, total: progress.append((done, total)))
    assert (report.delivered, report.failed) == (2, [])
    assert progress == [(1, 2), (2, 2)]

    records = consume(kafka, topic, 2)
    assert len(records) == 2, f"expected 2 records on {topic}, got {len(records)}"
    by_key = {r.key.decode("utf-8"): r for r in records}
    assert set(by_key) == {a["id"] for a in articles}
    for article in articles:
        record = by_key[article["id"]]
        assert record.value == dumps_article(article)
        assert json.loads(record.value) == article
        assert parse_raw(record.value) == article  # the consumer side accepts what we send
    extra = json.loads(by_key[articles[1]["id"]].value)
    assert extra["id"].startswith("u-") and extra["title"] == "Macron in Moskou"
    assert extra["body"] == "Een.\n\nTwee & drie." and extra["meta"] == {"author": "Frank Renout"}


def test_same_id_goes_to_the_same_partition(kafka, topic):
    article = parse_raw(b'{"title": "t", "body": "b"}')
    with ArticleProducer(kafka, topic=topic) as producer:
        assert producer.send_many(iter([article, article, article])).delivered == 3
    records = consume(kafka, topic, 3)
    assert len(records) == 3 and len({r.partition for r in records}) == 1


def test_send_raw_keeps_bytes_exactly(kafka, topic):
    value = b"\xff\x00 not utf-8"
    with ArticleProducer(kafka, topic=topic) as producer:
        metadata = producer.send_raw(topic, "k-1", value)
    assert metadata.topic == topic
    [record] = consume(kafka, topic, 1)
    assert (record.key, record.value) == (b"k-1", value)


def test_missing_topic_is_a_clear_error_and_is_not_created(kafka, admin):
    name = f"test.ingest.missing.{uuid.uuid4().hex[:12]}"
    with (
        ArticleProducer(kafka, topic=name, connect_timeout_s=2) as producer,
        pytest.raises(KafkaUnavailable, match="does the topic exist"),
    ):
        producer.send_many([parse_raw(b'{"title": "t", "body": "b"}')])
    assert name not in admin.list_topics()


def test_unreachable_broker_raises_kafka_unavailable_quickly():
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable) as info:
        ArticleProducer(KafkaSettings(bootstrap_servers="127.0.0.1:1"), connect_timeout_s=3)
    assert time.monotonic() - started < 10
    assert "127.0.0.1:1" in str(info.value)
