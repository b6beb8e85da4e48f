"""Pieces of the fault tests (test_chaos.py, test_two_workers.py): a steady flow of articles from a
producer thread, worker processes of their own, the stack's services killed and started through the CLI,
the consumer group's assignment, and figures reported where they survive pytest's output capture."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from harness import Pipeline, _free_port, spawn_worker, stop_worker
from kafka import KafkaAdminClient, KafkaProducer

from streams.contracts.article import clean_article
from streams.kafka.consumer import read_all
from streams.kafka.lag import LagReader
from streams.ops.stack import Stack
from streams.search import SearchBackend, SearchError

RESULTS = Path(__file__).resolve().parents[2] / "build" / "test-results" / "chaos.jsonl"
REPORTS: list[str] = []  # shown in pytest's terminal summary (conftest.py)


def article(i: int, tag: str) -> dict:
    """Article ``i`` without an id: the worker derives it, from the url for even ``i``, else from
    source, title and body."""
    a = {
        "source": f"chaos-{tag}",
        "title": f"Bericht {i}: Poetin en Macron spreken over Oekraïne",
        "body": f"Poetin sprak in Moskou met Macron over de NAVO en Oekraïne. Volgnummer {i} van {tag}.",
    }
    if i % 2 == 0:
        a["url"] = f"https://news.example/{tag}/{i}"
    return a


class Flow(threading.Thread):
    """Sends ``n`` articles at ``rate`` per second to ``topic`` from a thread of its own, keyless as a
    third-party producer would. A send the broker never acknowledges is sent again (the index
    deduplicates by the derived id), so every article is in the topic at the end."""

    def __init__(self, bootstrap: str, topic: str, n: int, rate: float, tag: str):
        super().__init__(name="flow", daemon=True)
        self.bootstrap, self.topic, self.n, self.rate = bootstrap, topic, n, rate
        self.articles = [article(i, tag) for i in range(n)]
        self.ids = {clean_article(a)["id"] for a in self.articles}
        assert len(self.ids) == n
        self.acked = 0
        self.resent = 0
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                linger_ms=5,
                reconnect_backoff_max_ms=1000,  # back at once when the broker returns
                delivery_timeout_ms=120_000,
            )
            self.started_at = time.monotonic()
            pending = []
            for i, a in enumerate(self.articles):
                pause = self.started_at + i / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                pending.append((a, producer.send(self.topic, value=json.dumps(a).encode())))
            while pending:
                retry = []
                for a, future in pending:
                    try:
                        future.get(timeout=180)
                        self.acked += 1
                    except Exception:  # noqa: BLE001 - not acknowledged: send it again
                        retry.append((a, producer.send(self.topic, value=json.dumps(a).encode())))
                self.resent += len(retry)
                pending = retry
            producer.flush()
            producer.close()
            self.finished_at = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        assert not self.is_alive(), f"producer still sending after {timeout}s ({self.acked}/{self.n} acked)"
        assert self.error is None, f"producer failed: {self.error!r}"
        assert self.acked == self.n


@dataclass
class Worker:
    """One worker process of a pipeline, with a web port, data dir and log of its own."""

    pipeline: Pipeline
    name: str
    web_port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.pipeline.log.with_name(f"worker-{self.name}.log")

    def start(self) -> None:
        env = {
            **self.pipeline.env,
            "NEWSSTREAMS_WORKER__WEB_PORT": str(self.web_port),
            "NEWSSTREAMS_WORKER__DATA_DIR": str(self.pipeline.log.parent / f"worker-{self.name}-data"),
        }
        self.proc = spawn_worker(env, self.log)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        stop_worker(self.proc, sig)
        self.proc = None

    def assert_running(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, (
            f"worker {self.name} exited ({self.proc and self.proc.returncode}):\n{self.tail()}"
        )

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=15) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except (OSError, ValueError) as exc:
            return 0, {"error": repr(exc)}

    def indexed(self) -> int:
        """Articles this worker's index stage passed on (its /metrics), 0 when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=10) as resp:
                text = resp.read().decode()
        except OSError:
            return 0
        m = re.search(r'^newsstreams_articles_out_total\{stage="index"\} ([0-9.e+]+)$', text, re.M)
        return int(float(m.group(1))) if m else 0

    def wait_healthy(self, timeout: float) -> tuple[int, dict]:
        """The last /health answer: (200, report) as soon as it is healthy, else after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            status, body = self.health()
            if status == 200 or time.monotonic() > deadline:
                return status, body
            time.sleep(1)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def stack_cli(pipeline: Pipeline, *args: str) -> float:
    """``newsstreams stack ARGS`` on the stack the settings point at; seconds it took."""
    started = time.monotonic()
    result = pipeline.cli("stack", *args, timeout=300)
    assert result.returncode == 0, f"stack {' '.join(args)}: {result.stdout.decode()}{result.stderr.decode()}"
    return time.monotonic() - started


def require_local_stack(pipeline: Pipeline) -> Stack:
    """The stack of the settings, which must run the Kafka and search engine the settings point at."""
    settings = pipeline.settings
    stack = Stack(settings.stack, say=lambda m: None)
    kafka, search = stack.services
    problems = []
    if kafka.address() not in settings.kafka.servers:
        problems.append(f"Kafka {settings.kafka.bootstrap_servers} is not the local stack's {kafka.address()}")
    if f"//{search.address()}" not in settings.search.url and f"//localhost:{search.address().split(':')[1]}" not in (
        settings.search.url
    ):
        problems.append(f"search engine {settings.search.url} is not the local stack's {search.address()}")
    for state in stack.status():
        if state.state != "up":
            problems.append(f"local {state.name} is {state.state}")
    if problems:
        raise LookupError("; ".join(problems))
    return stack


def indexed(backend: SearchBackend) -> tuple[int, Counter, Counter]:
    """(count, occurrences per id, documents per number of writes) in the alias."""
    backend.refresh()
    count = backend.count()
    resp = backend.search({"query": {"match_all": {}}, "size": 10_000, "_source": False, "version": True})
    hits = resp["hits"]["hits"]
    return count, Counter(h["_id"] for h in hits), Counter(h.get("_version", 1) for h in hits)


def offsets(pipeline: Pipeline) -> str:
    """The group's committed offsets against the end offsets, summed per topic: 'raw c/e enriched c/e'."""
    k = pipeline.settings.kafka
    try:
        lags = LagReader(k).read(k.group_id, [k.topic_raw, k.topic_enriched])
    except Exception as exc:  # noqa: BLE001 - a figure, not a check
        return f"offsets unavailable ({type(exc).__name__})"
    parts = []
    for topic, label in ((k.topic_raw, "raw"), (k.topic_enriched, "enriched")):
        pairs = [v for (t, _), v in lags.items() if t == topic]
        parts.append(f"{label} {sum(c for c, _ in pairs)}/{sum(e for _, e in pairs)}")
    return " ".join(parts)


def assignment(pipeline: Pipeline) -> dict[int, list[str]]:
    """The consumer group's members as {worker web port: ['raw-0', 'enriched-3', ...]} (Faust puts
    each worker's web URL in its member metadata); {} while the group is rebalancing or unreachable."""
    k = pipeline.settings.kafka
    try:
        admin = KafkaAdminClient(bootstrap_servers=k.bootstrap_servers, request_timeout_ms=10_000)
    except Exception:  # noqa: BLE001 - no answer yet
        return {}
    try:
        group = admin.describe_groups([k.group_id])[k.group_id]
    except Exception:  # noqa: BLE001
        return {}
    finally:
        admin.close()
    if group.get("group_state") != "Stable":
        return {}
    members = {}
    for member in group["members"]:
        port = re.search(r'"url":"http://[^:"]+:(\d+)"', str(member["member_metadata"]))
        held = []
        for tps in (member.get("member_assignment") or {}).get("assigned_partitions", []):
            for topic, label in ((k.topic_raw, "raw"), (k.topic_enriched, "enriched")):
                if tps["topic"] == topic:
                    held += [f"{label}-{p}" for p in tps["partitions"]]
        members[int(port.group(1)) if port else -1] = sorted(held)
    return members


def count_or_none(backend: SearchBackend) -> int | None:
    try:
        backend.refresh()
        return backend.count()
    except SearchError:
        return None


def wait_until(what: str, check, timeout: float, every: float = 0.5, on_wait=None):
    """Poll ``check`` until it returns something truthy; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} after {timeout:.0f}s")
        if on_wait:
            on_wait()
        time.sleep(every)


def settle(pipeline: Pipeline, worker: Worker, expected: int, timeout: float = 240, still_s: float = 45) -> int:
    """Wait until the index holds ``expected`` documents, or its count has not moved for ``still_s``
    (articles lost: the caller reports the figures and fails), or ``timeout``; the last count."""
    deadline = time.monotonic() + timeout
    last, moved = None, time.monotonic()
    while True:
        worker.assert_running()
        got = count_or_none(pipeline.backend)
        if got == expected:
            return got
        if got != last:
            last, moved = got, time.monotonic()
        if time.monotonic() - moved > still_s or time.monotonic() > deadline:
            return last or 0
        time.sleep(0.5)


def dead_letters(pipeline: Pipeline) -> list:
    return read_all(pipeline.settings.kafka, pipeline.settings.kafka.topic_dlq, timeout_s=60)


LOG_LINE = re.compile(r"^\[[^\]]+\] \[\d+\] \[(?P<level>[A-Z]+)\] (?P<logger>[\w.\-]+): (?P<msg>.*)")


def log_lines_between(log: Path, start: str, end: str) -> tuple[int, Counter, dict[str, str]]:
    """Lines of a worker log whose timestamp (``[YYYY-mm-dd HH:MM:SS,mmm]``) is in [start, end):
    (all lines, lines per (logger, level), one sample line per logger)."""
    total, per, sample = 0, Counter(), {}
    current = None
    for line in log.read_text(errors="replace").splitlines():
        m = LOG_LINE.match(line)
        if m:
            current = line[1:24]
        if current is None or not (start <= current < end):
            continue
        total += 1
        if m:
            key = f"{m['logger']} {m['level']}"
            per[key] += 1
            sample.setdefault(m["logger"], line[:300])
        else:
            per["(continuation: traceback etc.)"] += 1
    return total, per, sample


def log_stamp() -> str:
    """Now, in the worker log's timestamp format (local time, milliseconds)."""
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"


def report(title: str, figures: dict) -> str:
    """Figures on the real stderr (not captured), in the terminal summary and in build/test-results."""
    line = f"{title}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
    REPORTS.append(line)
    print(f"\n{line}", file=sys.__stderr__, flush=True)
    with contextlib.suppress(OSError):
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a") as out:
            out.write(json.dumps({"test": title, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), **figures}) + "\n")
    return line
