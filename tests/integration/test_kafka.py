"""The real broker answers both Python clients the project uses: kafka-python and aiokafka (via Faust)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaConsumer, KafkaProducer

from streams.settings import Settings

BOOTSTRAP = Settings().kafka.bootstrap_servers


@pytest.fixture
def topic(make_topic) -> str:
    return make_topic("test-kafka", 2)


def test_kafka_python_round_trip(topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    meta = producer.send(topic, key=b"k1", value=b"Poetin en Macron").get(timeout=15)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=BOOTSTRAP,
        auto_offset_reset="earliest",
        group_id=f"g-{uuid.uuid4().hex[:6]}",
        consumer_timeout_ms=15000,
    )
    got = [(m.key, m.value, m.partition, m.offset) for m in consumer]
    consumer.close()
    assert (b"k1", b"Poetin en Macron", meta.partition, meta.offset) in got


def test_aiokafka_round_trip(topic: str) -> None:
    async def run() -> list[tuple[bytes, bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topic, key=b"k2", value=b"aiokafka")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest", group_id=f"g-{uuid.uuid4().hex[:6]}"
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=15000)
            while not any(m.key == b"k2" for ms in batches.values() for m in ms):
                more = await consumer.getmany(timeout_ms=5000)
                if not more:
                    break
                for tp, ms in more.items():
                    batches.setdefault(tp, []).extend(ms)
        finally:
            await consumer.stop()
        return [(m.key, m.value) for ms in batches.values() for m in ms]

    assert (b"k2", b"aiokafka") in asyncio.run(run())
