"""The pipeline's figures side by side, in one run, on the running stack (`make bench`).

    python tests/benchmarks/bench.py [--articles 1000] [--quick] [--rounds 3] [--json FILE]

N seed-sized articles (the seed article with a numbered title and an id of its own) go through:

1. bare spaCy: ``nlp.pipe`` of the nl entity pipeline over the texts NER sees (title + body);
2. the enrichment core: ``Enricher.enrich_batch`` in batches of 256 (language, NER, topics, document);
3. bulk indexing alone: the enriched documents through the index stage's ``index_documents`` in
   batches of 500 into a fresh alias, then a refresh; the same documents also into an alias of
   template version 1 (the one before issue 10, tests/data/articles_mappings_v1.json, documents sent
   as its indexer sent them), and the ratio of the two;
4. a naive consumer: one message at a time, validate, enrich one, index one, commit, from the first
   send until all are searchable;
5. the Faust pipeline (a worker of its own, tests/integration/harness.py, with the configured batch
   sizes and waits): first send until all are searchable;
6. send -> searchable latency of articles sent one by one at half the rate the pipeline reached;
7. the Faust pipeline again, a new worker with stories and alerts off, and the ratio of the two;
8. both pipelines again on mixed articles: the two annotated sets (tests/data/stories and
   tests/data/eval, 138 different articles in six languages) cycled under new ids.

The pipeline of 5 and 6 runs as configured: stories on, alerts on with the saved searches of
``BENCH_ALERTS`` (three match every seed copy). Every seed article is a copy of the seed, so each
one's story lookup finds a copy and a full page of candidates: the costly case for stories. The
mixed articles are closer to a feed: each finds its few copies and story members.

The naive consumer and the pipeline get their articles from the same producer, aiokafka with large
batches (about 0.05 s of a core per 1000 articles here; kafka-python needs 0.4 s of CPU and 0.7 s of
wall clock, which the figures would then count as the pipeline's time and CPU).

Figures 1-3 are the best of ``--rounds`` runs (the two templates alternate), the least disturbed by
other work; when the engine is a local process its CPU time per document is printed too, a figure
such disturbance changes much less than the wall clock. Bulk indexing and the naive consumer end
with one refresh of their own (making the documents searchable is part of their work); for the
pipeline, searchable means counted by a search without a forced refresh (the engine's own 1 s
refresh), as readers see it. Then the ratios of issue 10: core / bare spaCy, pipeline / naive,
pipeline / min(core, index).
Everything runs in one process, one after the other, so the figures share the machine's state; the
load average is printed with them (other work on the machine makes every figure lower).
A benchmark, not a test: it asserts nothing. Topics, consumer groups and aliases are its own and are
removed afterwards. tests/integration/test_bench.py only checks that it runs on a small N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from aiokafka import AIOKafkaProducer  # noqa: E402
from harness import SEED, Pipeline, drop_alias, make_v1_alias  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

from streams.alerts.manage import add_alert  # noqa: E402
from streams.contracts.article import parse_raw  # noqa: E402
from streams.enrich import Enricher  # noqa: E402
from streams.enrich.pipeline import compose_text  # noqa: E402
from streams.search import SearchBackend, make_backend, template  # noqa: E402
from streams.settings import PROJECT_DIR, SearchSettings, Settings  # noqa: E402
from streams.worker.delivery import index_documents  # noqa: E402

ENRICH_BATCH = 256
INDEX_BATCH = 500


# --- inputs ---------------------------------------------------------------------------------------


def seed_articles(n: int, prefix: str) -> list[dict]:
    """N copies of the seed article, each with an id of its own and a numbered title."""
    title, body = SEED.read_text(encoding="utf-8").strip().split("\n", 1)
    body = body.strip()
    return [{"id": f"{prefix}-{i}", "source": "nos.nl", "title": f"{title} ({i})", "body": body} for i in range(n)]


def mixed_articles(n: int, prefix: str) -> list[dict]:
    """N articles cycled from the two annotated sets (138 different articles in six languages on
    some 80 events, many sharing people and places): each comes back every 138 articles under an id
    of its own, so a run also holds the wire copies a real feed has."""
    data = PROJECT_DIR / "tests" / "data"
    pool = [json.loads(f.read_text(encoding="utf-8"))["article"] for f in sorted(data.glob("[se]*/*.json"))]
    fields = ("title", "body", "language", "source", "published_at")
    return [
        {"id": f"{prefix}-{i}", **{k: pool[i % len(pool)][k] for k in fields if pool[i % len(pool)].get(k)}}
        for i in range(n)
    ]


def as_messages(articles: list[dict]) -> list[bytes]:
    return [json.dumps(a, ensure_ascii=False).encode("utf-8") for a in articles]


def producer(bootstrap_servers: str, linger_ms: int = 5) -> AIOKafkaProducer:
    """The benchmark's producer: acks=all like the worker's, batches of up to 1 MiB."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", max_batch_size=1024 * 1024, linger_ms=linger_ms
    )


def send_all(bootstrap_servers: str, topic: str, values: list[bytes]) -> None:
    """Send every value and return when the broker has acknowledged them all."""

    async def run() -> None:
        p = producer(bootstrap_servers)
        await p.start()
        try:
            sent = [await p.send(topic, value=value) for value in values]
            await asyncio.gather(*sent)
        finally:
            await p.stop()

    asyncio.run(run())


# --- the figures ----------------------------------------------------------------------------------


class Table:
    """Rows of (figure, articles/s, note), printed as they come and again at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.rates: dict[str, float] = {}
        self.values: dict[str, float] = {}  # other figures (latency percentiles, seconds)

    def rate(self, key: str, label: str, n: int, seconds: float, note: str = "") -> float:
        rate = n / seconds if seconds > 0 else float("inf")
        self.rates[key] = rate
        self.add(label, f"{rate:,.0f}", f"{n} in {seconds:.2f}s" + (f"; {note}" if note else ""))
        return rate

    def add(self, label: str, value: str, note: str = "") -> None:
        self.rows.append((label, value, note))
        print(f"  {label}: {value}  ({note})" if note else f"  {label}: {value}", flush=True)

    def ratio(self, label: str, num: str, den: str | tuple[str, ...]) -> None:
        dens = (den,) if isinstance(den, str) else den
        if num not in self.rates or not all(d in self.rates for d in dens):
            return
        value = self.rates[num] / min(self.rates[d] for d in dens)
        self.add(label, f"{value:.2f}")

    def markdown(self) -> str:
        lines = ["| figure | articles/s (or as stated) | detail |", "|---|---|---|"]
        lines += [f"| {label} | {value} | {note} |" for label, value, note in self.rows]
        return "\n".join(lines)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def local_engine_pid(url: str) -> int | None:
    """The process listening on the search URL's port on this machine, if it is local and visible:
    its CPU time is a figure other work on the machine disturbs much less than the wall clock."""
    parts = urlsplit(url.split(",")[0].strip())
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    port = f"{parts.port or 9200:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1].rsplit(":", 1)[1] == port and cols[3] == "0A":  # 0A: LISTEN
                    inodes.add(f"socket:[{cols[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return int(pid)
    return None


def process_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a process (None if unknown)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def fresh_alias(base: SearchSettings, alias: str, v1: bool = False) -> Iterator[SearchBackend]:
    """A backend on an alias of its own, with the current template (or template version 1, the one
    before issue 10, and documents sent as its indexer sent them); dropped afterwards."""
    backend = make_backend(base.model_copy(update={"alias": alias}))
    try:
        if v1:
            make_v1_alias(backend)
        else:
            backend.ensure_index()
        yield backend
    finally:
        with contextlib.suppress(Exception):
            drop_alias(backend)
        backend.close()


def bare_spacy(enricher: Enricher, articles: list[dict]) -> float:
    nlp = enricher.pipeline("nl").nlp
    texts = [compose_text(a["title"], a["body"])[0] for a in articles]
    started = time.perf_counter()
    for _ in nlp.pipe(texts):
        pass
    return time.perf_counter() - started


def enrich_core(enricher: Enricher, articles: list[dict]) -> tuple[float, list[dict]]:
    docs: list[dict] = []
    started = time.perf_counter()
    for i in range(0, len(articles), ENRICH_BATCH):
        for result in enricher.enrich_batch(articles[i : i + ENRICH_BATCH]):
            if result.doc is None:
                raise RuntimeError(f"enrichment failed: {result.error!r}")
            docs.append(result.doc)
    return time.perf_counter() - started, docs


def bulk_index(backend: SearchBackend, docs: list[dict], settings: Settings) -> float:
    """The index stage's own function, batch after batch, then a refresh."""
    docs = json.loads(json.dumps(docs))  # a copy: the stage stamps pipeline.indexed_at

    async def run() -> None:
        for i in range(0, len(docs), INDEX_BATCH):
            rejected = await index_documents(backend, docs[i : i + INDEX_BATCH], settings.worker)
            if rejected:
                raise RuntimeError(f"{len(rejected)} document(s) rejected, e.g. {rejected[0]}")

    started = time.perf_counter()
    asyncio.run(run())
    backend.refresh()  # part of the work: searchable now, not at the next scheduled refresh
    took = time.perf_counter() - started
    if backend.count() != len(docs):
        raise RuntimeError(f"{backend.count()} documents indexed, expected {len(docs)}")
    return took


def wait_searchable(backend: SearchBackend, n: int, alive: Callable[[], bool] = lambda: True) -> None:
    """Until ``n`` documents are counted, without forcing a refresh: what readers see."""
    deadline = time.perf_counter() + 1800
    while backend.count() < n:
        if not alive() or time.perf_counter() > deadline:
            raise RuntimeError(f"{backend.count()} of {n} documents searchable")
        time.sleep(0.05)


def naive_consumer(
    enricher: Enricher, backend: SearchBackend, settings: Settings, messages: list[bytes], topic: str
) -> float:
    """kafka-python, one message per poll: validate, enrich one, index one, commit; first send to searchable."""
    kafka = settings.kafka
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"{topic}-group",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1,
    )
    try:
        started = time.perf_counter()
        send_all(kafka.bootstrap_servers, topic, messages)
        for done, message in enumerate(consumer, start=1):
            article = parse_raw(message.value, settings.limits)
            doc = enricher.enrich(article)
            asyncio.run(index_documents(backend, [doc], settings.worker))
            consumer.commit()
            if done == len(messages):
                break
        backend.refresh()
        took = time.perf_counter() - started
    finally:
        consumer.close()
    if backend.count() != len(messages):
        raise RuntimeError(f"naive consumer: {backend.count()} documents indexed, expected {len(messages)}")
    return took


def pipeline_throughput(p: Pipeline, messages: list[bytes], already: int) -> float:
    started = time.perf_counter()
    send_all(p.settings.kafka.bootstrap_servers, p.settings.kafka.topic_raw, messages)
    wait_searchable(p.backend, already + len(messages), alive=lambda: p.proc is not None and p.proc.poll() is None)
    return time.perf_counter() - started


def latency_at(p: Pipeline, messages: list[bytes], rate: float) -> list[float]:
    """Send at ``rate`` messages/s from a thread; poll the alias for the ids not yet seen.
    Returns send -> searchable seconds per message (search without refresh: what readers see)."""
    ids = [json.loads(v)["id"] for v in messages]
    sent: dict[str, float] = {}
    lock = threading.Lock()
    failure: list[BaseException] = []

    async def paced() -> None:
        kafka = producer(p.settings.kafka.bootstrap_servers, linger_ms=0)  # one by one: no batching delay
        await kafka.start()
        try:
            start = time.perf_counter()
            for i, (article_id, value) in enumerate(zip(ids, messages, strict=True)):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                with lock:
                    sent[article_id] = time.perf_counter()
                await kafka.send(p.settings.kafka.topic_raw, value=value)
            await kafka.flush()
        finally:
            await kafka.stop()

    def send() -> None:
        try:
            asyncio.run(paced())
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failure.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    seen: dict[str, float] = {}
    deadline = time.perf_counter() + len(messages) / rate + 300
    while len(seen) < len(ids) and time.perf_counter() < deadline and not failure:
        with lock:
            pending = [i for i in sent if i not in seen]
        if pending:
            resp = p.backend.search({"query": {"ids": {"values": pending}}, "_source": False, "size": len(pending)})
            now = time.perf_counter()
            for hit in resp["hits"]["hits"]:
                seen.setdefault(hit["_id"], now)
        time.sleep(0.02)
    sender.join(timeout=60)
    if failure:
        raise failure[0]
    if len(seen) < len(ids):
        raise RuntimeError(f"latency: {len(seen)} of {len(ids)} articles became searchable")
    return sorted(seen[i] - sent[i] for i in ids)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, -(-int(q * len(values) * 100) // 100))  # ceil(q * n) without float surprises
    return values[min(rank, len(values)) - 1]


# Saved searches of the "with alerts" run: some match every seed article, most match none.
BENCH_ALERTS = [
    {"name": "poetin", "entity": "Q7747"},
    {"name": "macron-moskou", "query": "Macron Moskou"},
    {"name": "oekraine-nl", "query": "Oekraïne", "lang": "nl"},
    *({"name": f"elsewhere-{i}", "query": f"onbekend{i} verkiezing"} for i in range(12)),
    *({"name": f"entity-{i}", "entity": f"Q{1000 + i}"} for i in range(5)),
]


@contextlib.contextmanager
def worker_pipeline(settings: Settings, *, alerts: int, stories: bool = True) -> Iterator[Pipeline]:
    """A worker of its own, warmed up by one article, with the configured batch sizes and waits (the
    test harness shortens its waits for tests of its own); ``stories=False``: stories and alerts off."""
    p = Pipeline(Path(tempfile.mkdtemp(prefix="bench-")))
    for key in ("enrich_batch_wait_s", "index_batch_wait_s"):
        p.env[f"NEWSSTREAMS_WORKER__{key.upper()}"] = str(getattr(settings.worker, key))
    if not stories:
        p.env.update(NEWSSTREAMS_STORIES__ENABLED="false", NEWSSTREAMS_ALERTS__ENABLED="false")
    try:
        print("starting a worker ...", flush=True)
        p.setup()
        for alert in BENCH_ALERTS[:alerts]:
            add_alert(**alert, settings=p.settings, backend=p.backend)
        p.start_worker()
        # Warm up: connections, and the entity pipeline of every language of the mixed articles.
        warm = seed_articles(1, "warm") + list({a.get("language"): a for a in mixed_articles(138, "warm")}.values())
        p.produce_raw(as_messages(warm))
        p.wait_for_count(len(warm), timeout=300)
        p.warmed = len(warm)
        yield p
    finally:
        p.close()


# --- the run --------------------------------------------------------------------------------------


def step(label: str) -> None:
    print(f"{label} ...", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", "-n", type=int, help="N: articles per figure (default 1000, --quick 100)")
    ap.add_argument("--quick", action="store_true", help="N = 100: a quick look")
    ap.add_argument("--rounds", type=int, default=3, help="in-process figures: best of this many runs (default 3)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    args = ap.parse_args(argv)
    n = args.articles if args.articles is not None else 100 if args.quick else 1000
    if n < 1 or args.rounds < 1:
        ap.error("--articles and --rounds must be at least 1")
    rounds = args.rounds
    best = f", best of {rounds}" if rounds > 1 else ""

    settings = Settings()
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    table = Table()
    articles = seed_articles(n, "core")
    words = len(compose_text(articles[0]["title"], articles[0]["body"])[0].split())
    print(
        f"newsstreams benchmark: N={n} seed-sized articles (~{words} words each), {os.cpu_count()} CPU(s), "
        f"{settings.search.backend} at {settings.search.url}, Kafka at {settings.kafka.bootstrap_servers}",
        flush=True,
    )
    print(f"load average at start: {load_average()}", flush=True)

    print("building the enricher (language model, gazetteer, nl pipeline) ...", flush=True)
    enricher = Enricher(settings.enrich)
    enricher.warm_up(["nl"])
    ner_model = enricher.pipeline("nl").ner_model
    enricher.enrich_batch(seed_articles(2, "warm"))  # caches

    # The in-process figures: best of --rounds (least disturbed by other work on the machine).
    spacy_s, core_s = [], []
    for _ in range(rounds):
        step("bare spaCy")
        spacy_s.append(bare_spacy(enricher, articles))
        step("enrichment core")
        took, docs = enrich_core(enricher, articles)
        core_s.append(took)
    table.rate("spacy", f"bare spaCy nlp.pipe, nl pipeline ({ner_model}){best}", n, min(spacy_s))
    table.rate("core", f"enrichment core, enrich_batch in batches of {ENRICH_BATCH}{best}", n, min(core_s))

    # Bulk indexing: the current template and version 1 (before issue 10) on the same documents, one
    # after the other in each round, a fresh alias each time.
    engine = local_engine_pid(settings.search.url)
    index_s: dict[str, list[float]] = {"index": [], "index_v1": []}
    engine_s: dict[str, list[float]] = {"index": [], "index_v1": []}
    for r in range(rounds):
        for key in index_s:
            with fresh_alias(settings.search, f"{tag}-{key.replace('_', '')}-{r}", v1=key == "index_v1") as backend:
                step(f"bulk indexing, {'template version 1' if key == 'index_v1' else 'current template'}")
                cpu_before = process_cpu_s(engine)
                index_s[key].append(bulk_index(backend, docs, settings))
                cpu_after = process_cpu_s(engine)
                if cpu_before is not None and cpu_after is not None:
                    engine_s[key].append(cpu_after - cpu_before)

    def engine_note(key: str) -> str:
        if not engine_s[key]:
            return "engine CPU not measured (not a local process)"
        return f"engine CPU {1000 * min(engine_s[key]) / n:.2f} s per 1000 documents"

    version = template.TEMPLATE_VERSION
    table.rate(
        "index",
        f"bulk indexing alone, batches of {INDEX_BATCH}, + refresh (template version {version}){best}",
        n,
        min(index_s["index"]),
        engine_note("index"),
    )
    table.rate(
        "index_v1",
        f"bulk indexing alone, same documents, template version 1 (before issue 10){best}",
        n,
        min(index_s["index_v1"]),
        engine_note("index_v1"),
    )
    if engine_s["index"] and engine_s["index_v1"]:
        table.values["engine_cpu_ratio_v1_to_current"] = min(engine_s["index_v1"]) / min(engine_s["index"])
    table.ratio(f"ratio bulk indexing, template version {version} / version 1", "index", "index_v1")
    if "engine_cpu_ratio_v1_to_current" in table.values:
        table.add(
            f"ratio engine CPU per document, template version 1 / version {version}",
            f"{table.values['engine_cpu_ratio_v1_to_current']:.2f}",
        )

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    naive_topic = f"{tag}.naive"
    admin.create_topics([NewTopic(naive_topic, num_partitions=1, replication_factor=1)])
    try:
        with fresh_alias(settings.search, f"{tag}-naive") as backend:
            messages = as_messages(seed_articles(n, "naive"))
            step("naive consumer")
            took = naive_consumer(enricher, backend, settings, messages, naive_topic)
            table.rate("naive", "naive consumer: one message, enrich one, index one, commit", n, took)
    finally:
        with contextlib.suppress(Exception):
            admin.delete_topics([naive_topic])
        admin.close()

    waits = f"batch waits {settings.worker.enrich_batch_wait_s}s + {settings.worker.index_batch_wait_s}s"
    with worker_pipeline(settings, alerts=len(BENCH_ALERTS)) as p:
        step("Faust pipeline")
        took = pipeline_throughput(p, as_messages(seed_articles(n, "bulk")), p.warmed)
        rate = table.rate(
            "pipeline",
            "Faust pipeline, first send -> all searchable",
            n,
            took,
            f"stories and alerts on, {len(BENCH_ALERTS)} saved searches",
        )
        step(f"latency at {rate / 2:.0f} articles/s")
        latencies = latency_at(p, as_messages(seed_articles(n, "lat")), rate / 2)
        table.values.update(latency_p50_s=percentile(latencies, 0.5), latency_p99_s=percentile(latencies, 0.99))
        table.add(
            f"send -> searchable latency at half that rate ({rate / 2:.0f}/s)",
            f"p50 {percentile(latencies, 0.5):.2f} s, p99 {percentile(latencies, 0.99):.2f} s",
            f"{len(latencies)} articles, max {latencies[-1]:.2f}s; {waits}",
        )
    with worker_pipeline(settings, alerts=0, stories=False) as p:
        step("Faust pipeline without stories and alerts")
        took = pipeline_throughput(p, as_messages(seed_articles(n, "plain")), p.warmed)
        table.rate("pipeline_plain", "Faust pipeline, stories and alerts off", n, took)
        step("Faust pipeline without stories and alerts, mixed articles")
        took = pipeline_throughput(p, as_messages(mixed_articles(n, "mixed-plain")), p.warmed + n)
        table.rate("pipeline_mixed_plain", "Faust pipeline, mixed articles, stories and alerts off", n, took)
    with worker_pipeline(settings, alerts=len(BENCH_ALERTS)) as p:
        step("Faust pipeline, mixed articles")
        took = pipeline_throughput(p, as_messages(mixed_articles(n, "mixed")), p.warmed)
        table.rate("pipeline_mixed", "Faust pipeline, mixed articles, stories and alerts on", n, took)

    table.ratio("ratio enrichment core / bare spaCy", "core", "spacy")
    table.ratio("ratio pipeline / naive consumer", "pipeline", "naive")
    table.ratio("ratio pipeline / min(core, index)", "pipeline", ("core", "index"))
    table.ratio("ratio pipeline with stories and alerts / without, seed copies", "pipeline", "pipeline_plain")
    table.ratio(
        "ratio pipeline with stories and alerts / without, mixed articles", "pipeline_mixed", "pipeline_mixed_plain"
    )
    print(f"load average at end: {load_average()}", flush=True)
    print()
    print(table.markdown())
    if args.json:
        figures = {"articles": n, "rates": table.rates, **table.values, "rows": table.rows}
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
