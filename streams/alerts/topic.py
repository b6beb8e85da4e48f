"""The alerts topic as the stage uses it: explicit partitions, end offsets, acknowledged sends and a
search for a key from an offset on. aiokafka clients of their own, started in the worker's loop."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.settings import AlertsSettings, KafkaSettings


class AlertsTopic:
    def __init__(self, kafka: KafkaSettings, alerts: AlertsSettings):
        self.kafka = kafka
        self.name = alerts.topic
        self.send_timeout_s = alerts.send_timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def _clients(self) -> tuple[AIOKafkaProducer, AIOKafkaConsumer]:
        if self._producer is None:
            timeout_ms = int(self.send_timeout_s * 1000)
            # Idempotent: the producer's own retries never write a record twice.
            producer = AIOKafkaProducer(
                bootstrap_servers=self.kafka.servers,
                client_id="newsstreams-alerts",
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=timeout_ms,
            )
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.kafka.servers,
                client_id="newsstreams-alerts",
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                request_timeout_ms=max(timeout_ms, 5000) + 1000,
            )
            try:
                await producer.start()
                await consumer.start()
            except BaseException:
                await producer.stop()
                await consumer.stop()
                raise
            self._producer, self._consumer = producer, consumer
        assert self._consumer is not None
        return self._producer, self._consumer

    async def partitions(self) -> int:
        producer, _ = await self._clients()
        found = await producer.partitions_for(self.name)
        if not found:
            raise LookupError(f"topic {self.name!r} has no partitions (does it exist? `newsstreams setup`)")
        return len(found)

    async def end_offsets(self, partitions: set[int]) -> dict[int, int]:
        _, consumer = await self._clients()
        tps = [TopicPartition(self.name, p) for p in sorted(partitions)]
        ends = await consumer.end_offsets(tps)
        return {tp.partition: offset for tp, offset in ends.items()}

    async def send(self, records: list[tuple[int, bytes, bytes]]) -> None:
        """Send (partition, key, value) records; returns when the broker acknowledged every one, else
        raises (some may have been written: the caller finds out with ``contains``)."""
        producer, _ = await self._clients()
        futures = [await producer.send(self.name, value=v, key=k, partition=p) for p, k, v in records]
        await asyncio.wait_for(asyncio.gather(*futures), timeout=self.send_timeout_s * 2)

    async def find(self, starts: dict[int, int], keys: set[bytes]) -> set[bytes]:
        """Which of ``keys`` are in the topic: partition p read from offset ``starts[p]`` to its end now."""
        _, consumer = await self._clients()
        tps = {p: TopicPartition(self.name, p) for p in starts}
        ends = await consumer.end_offsets(list(tps.values()))
        todo = {tp: ends[tp] for p, tp in tps.items() if starts[p] < ends[tp]}
        found: set[bytes] = set()
        if not todo:
            return found
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, starts[tp.partition])
        while todo:
            for tp, messages in (await consumer.getmany(*todo, timeout_ms=1000)).items():
                found.update(m.key for m in messages if m.offset < todo[tp] and m.key in keys)
            for tp in [tp for tp, end in todo.items() if await consumer.position(tp) >= end]:
                del todo[tp]
        return found

    async def close(self) -> None:
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.stop()
        self._producer = self._consumer = None
