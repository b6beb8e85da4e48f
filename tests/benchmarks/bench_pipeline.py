"""Whole-pipeline figures on the running stack: throughput and produce->searchable latency.

    python tests/benchmarks/bench_pipeline.py [--articles 1000] [--latency-samples 30]

1. Throughput: N seed-sized articles (the seed with a unique id and a numbered title) are produced at
   once to a fresh topic; a worker enriches and indexes them; the clock runs from the first send to
   the moment all N are counted in the index.
2. Latency: articles are sent one at a time while the pipeline is idle; each is timed from send to
   the first search (not a realtime get) that finds it, i.e. after the index refresh.
Prints figures; asserts nothing. Uses topics, group and alias of its own and removes them after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from harness import SEED, Pipeline  # noqa: E402
from kafka import KafkaProducer  # noqa: E402


def seed_articles(n: int, prefix: str) -> list[bytes]:
    title, body = SEED.read_text(encoding="utf-8").strip().split("\n", 1)
    return [
        json.dumps({"id": f"{prefix}-{i}", "source": "nos.nl", "title": f"{title} ({i})", "body": body}).encode()
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=30)
    args = parser.parse_args()

    p = Pipeline(Path(tempfile.mkdtemp(prefix="bench-")))
    try:
        p.setup()
        p.start_worker()
        # Warm-up: one article through, so pipeline builds and connections are not in the figures.
        p.produce_raw(seed_articles(1, "warm"))
        p.wait_for_count(1, timeout=180)

        values = seed_articles(args.articles, "bulk")
        words = len(json.loads(values[0])["body"].split())
        started = time.monotonic()
        p.produce_raw(values)
        produced = time.monotonic() - started
        p.wait_for_count(args.articles + 1, timeout=1800)
        elapsed = time.monotonic() - started
        print(
            f"throughput: {args.articles} articles (~{words} words each) in {elapsed:.1f}s "
            f"(produce {produced:.1f}s) = {args.articles / elapsed:.0f} articles/s end to end"
        )

        producer = KafkaProducer(bootstrap_servers=p.settings.kafka.bootstrap_servers, acks="all")
        latencies = []
        for value in seed_articles(args.latency_samples, "lat"):
            article_id = json.loads(value)["id"]
            sent = time.monotonic()
            producer.send(p.settings.kafka.topic_raw, value=value).get(timeout=30)
            query = {"query": {"term": {"id": article_id}}, "size": 0}
            while p.backend.search(query)["hits"]["total"]["value"] == 0:
                time.sleep(0.02)
            latencies.append(time.monotonic() - sent)
        producer.close()
        latencies.sort()
        print(
            f"produce->searchable latency over {len(latencies)} articles: "
            f"median {statistics.median(latencies):.2f}s, p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f}s, "
            f"min {latencies[0]:.2f}s, max {latencies[-1]:.2f}s "
            f"(batch waits {p.settings.worker.enrich_batch_wait_s}s + {p.settings.worker.index_batch_wait_s}s, "
            f"index refresh 1s)"
        )
    finally:
        p.close()


if __name__ == "__main__":
    main()
