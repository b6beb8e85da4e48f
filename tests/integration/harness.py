"""An isolated pipeline for tests and benchmarks: a real worker process on topics, consumer group,
search alias and web port of its own, against the Kafka and search engine of the settings."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer
from kafka.producer.future import RecordMetadata

from streams.kafka.consumer import read_all
from streams.search import SearchBackend, SearchError, make_backend, template
from streams.settings import Settings


def drop_alias(backend: SearchBackend) -> None:
    client = backend.client  # type: ignore[attr-defined]
    # Explicit names: Elasticsearch 8 refuses wildcard deletes by default.
    resp = client.indices.get(index=template.index_pattern(backend.alias))
    names = list(getattr(resp, "body", resp))
    if names:
        client.indices.delete(index=",".join(names))
    with contextlib.suppress(Exception):  # absent if ensure_index never ran
        client.indices.delete_index_template(name=template.template_name(backend.alias))


SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_d6634ea9b322a4cb.txt"
# The articles mapping of template version 1 (before issue 10): for the reindex test and the benchmark.
V1_MAPPINGS = Path(__file__).resolve().parents[1] / "data" / "articles_mappings_v1.json"


def make_v1_alias(backend: SearchBackend) -> None:
    """The backend's alias as template version 1 made it, and the backend sending documents as the
    indexer of that version did (without derived fields). Dropped by drop_alias like any other."""
    client, alias = backend.client, backend.alias  # type: ignore[attr-defined]
    body = template.index_template(backend.settings)  # type: ignore[attr-defined]
    body["template"]["mappings"] = json.loads(V1_MAPPINGS.read_text(encoding="utf-8"))
    client.indices.put_index_template(name=template.template_name(alias), body=body)
    client.indices.create(index=template.first_index(alias), body={"aliases": {alias: {"is_write_index": True}}})
    backend.document = lambda doc: doc  # type: ignore[attr-defined]


class Pipeline:
    """One isolated pipeline: unique topics, consumer group, search alias and web port."""

    def __init__(self, tmp: Path):
        tag = f"t{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "NEWSSTREAMS_KAFKA__TOPIC_RAW": f"{tag}.raw",
                "NEWSSTREAMS_KAFKA__TOPIC_ENRICHED": f"{tag}.enriched",
                "NEWSSTREAMS_KAFKA__TOPIC_DLQ": f"{tag}.dlq",
                "NEWSSTREAMS_KAFKA__GROUP_ID": f"newsstreams-{tag}",
                "NEWSSTREAMS_ALERTS__TOPIC": f"{tag}.alerts",
                "NEWSSTREAMS_ALERTS__INDEX": f"alerts-{tag}",
                "NEWSSTREAMS_ALERTS__LEDGER_INDEX": f"alerts-{tag}-sent",
                "NEWSSTREAMS_SEARCH__ALIAS": f"articles-{tag}",
                "NEWSSTREAMS_WORKER__WEB_PORT": str(_free_port()),
                "NEWSSTREAMS_WORKER__DATA_DIR": str(tmp / "worker-data"),
                "NEWSSTREAMS_WORKER__ENRICH_BATCH_WAIT_S": "0.5",
                "NEWSSTREAMS_WORKER__INDEX_BATCH_WAIT_S": "0.5",
                "NEWSSTREAMS_WORKER__RETRY_BACKOFF_MAX_S": "3",
            }
        )
        self.settings = _settings_from(self.env)
        self.log = tmp / "worker.log"
        self.proc: subprocess.Popen | None = None
        self.backend = make_backend(self.settings.search)

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "streams", *args], env=self.env, input=input, capture_output=True, timeout=timeout
        )

    def setup(self) -> None:
        result = self.cli("setup")
        assert result.returncode == 0, result.stderr.decode()

    def start_worker(self) -> None:
        self.proc = spawn_worker(self.env, self.log)

    def stop_worker(self, sig: int = signal.SIGTERM) -> None:
        stop_worker(self.proc, sig)
        self.proc = None

    def produce_raw(
        self, values: list[bytes | None], *, topic: str | None = None, keys: list[bytes | None] | None = None
    ) -> list[RecordMetadata]:
        """Send to the raw topic (or ``topic``); the (topic, partition, offset) of each message, in order."""
        producer = KafkaProducer(
            bootstrap_servers=self.settings.kafka.bootstrap_servers, acks="all", max_request_size=4 * 1024 * 1024
        )
        keys = keys or [None] * len(values)
        sent = [
            producer.send(topic or self.settings.kafka.topic_raw, key=key, value=value)
            for key, value in zip(keys, values, strict=True)
        ]
        producer.flush(timeout=30)
        producer.close()
        return [future.get(timeout=0) for future in sent]

    def count(self) -> int:
        self.backend.refresh()
        return self.backend.count()

    def wait_for_count(self, n: int, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        got = -1
        while time.monotonic() < deadline:
            assert self.proc is None or self.proc.poll() is None, f"worker died:\n{self.worker_log()}"
            try:
                got = self.count()
            except SearchError:
                got = -1
            if got >= n:
                return got
            time.sleep(0.5)
        raise AssertionError(f"{got} documents after {timeout}s, wanted {n}; worker log:\n{self.worker_log()}")

    def dlq(self, expected: int, timeout: float = 60, settle: float = 2.0) -> list[dict]:
        """The dead letters on the DLQ topic (read to its end offsets), oldest first per partition.

        Waits up to ``timeout`` s for ``expected`` of them, then ``settle`` s more for any extra one,
        and fails unless there are exactly ``expected``: fewer is a lost message, more an unexpected
        dead letter. ``expected=0`` reads too, so a test that expects none can fail."""
        kafka, topic = self.settings.kafka, self.settings.kafka.topic_dlq
        deadline = time.monotonic() + timeout
        records = read_all(kafka, topic)
        while len(records) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
            records = read_all(kafka, topic)
        time.sleep(settle)
        records = [json.loads(m.value) for m in read_all(kafka, topic)]
        assert len(records) == expected, f"{len(records)} dead letter(s), expected {expected}:\n" + "\n".join(
            f"  {r.get('reason')} at {r.get('stage')}: {str(r.get('error'))[:200]}" for r in records
        )
        return records

    def worker_log(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        self.stop_worker()
        with contextlib.suppress(Exception):
            drop_alias(self.backend)
        with contextlib.suppress(Exception):
            a = self.settings.alerts
            self.backend.client.indices.delete(index=f"{a.index},{a.ledger_index}", ignore_unavailable=True)
        self.backend.close()
        with contextlib.suppress(Exception):
            admin = KafkaAdminClient(bootstrap_servers=self.settings.kafka.bootstrap_servers)
            k = self.settings.kafka
            admin.delete_topics([k.topic_raw, k.topic_enriched, k.topic_dlq, self.settings.alerts.topic])
            admin.close()


def _settings_from(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``newsstreams worker`` in a session of its own (so a signal reaches its child processes too),
    appending its output to ``log``."""
    with open(log, "ab") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to a running worker's session and wait for it; SIGKILL after 60 s."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
