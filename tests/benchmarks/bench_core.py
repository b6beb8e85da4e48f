"""The enrichment core against bare spaCy on the same pipeline, measured in alternating rounds.

    python tests/benchmarks/bench_core.py [--copies 1000] [--batch 256] [--rounds 5] [--model PATH]

Each round times ``nlp.pipe`` of the Dutch pipeline over the seed's texts (bare spaCy: tokenizer,
gazetteer matcher and, with ``--model``, the model's components), then ``Enricher.enrich_batch``
over the same articles (language detection, that same pipeline, mentions, topics, the output
documents). The ratio core / bare is taken per round, so that load from other processes on a
shared machine moves both figures alike; the median is the figure to quote. Prints figures and
the load average; asserts nothing. Works on older checkouts too (run it with their ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

from streams.enrich import Enricher
from streams.settings import PROJECT_DIR, get_settings

SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"


def seed_article(i: int) -> dict:
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    return {
        "id": f"seed-{i}",
        "url": None,
        "source": "nos.nl",
        "title": lines[0],
        "body": "\n\n".join(lines[1:]),
        "published_at": None,
        "language": None,
        "meta": {},
        "pipeline": {"ingested_at": "2022-02-09T12:00:00.000Z"},
    }


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--model", help="a trained spaCy model (package or path) for the Dutch pipeline")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    print(load())
    settings = get_settings().enrich
    if args.model:
        settings = settings.model_copy(update={"models": {**settings.models, "nl": args.model}})
    started = time.perf_counter()
    enricher = Enricher(settings)
    built = enricher.warm_up(["nl"])
    print(f"start-up {time.perf_counter() - started:.2f}s (pipelines {built})")
    pipe = enricher.pipeline("nl")
    print(f"pipeline nl: {pipe.ner_model}, components {pipe.nlp.pipe_names}")

    articles = [seed_article(i) for i in range(args.copies)]
    texts = [f"{a['title']}\n\n{a['body']}" for a in articles]
    enricher.enrich_batch(articles[:8])  # first calls: caches, lazy imports
    list(pipe.nlp.pipe(texts[:8]))

    ratios = []
    for r in range(args.rounds):
        t0 = time.perf_counter()
        for _ in pipe.nlp.pipe(texts, batch_size=args.batch):
            pass
        t1 = time.perf_counter()
        for i in range(0, len(articles), args.batch):
            enricher.enrich_batch(articles[i : i + args.batch])
        t2 = time.perf_counter()
        bare, core = len(texts) / (t1 - t0), len(articles) / (t2 - t1)
        ratios.append(core / bare)
        print(f"round {r + 1}: bare spaCy {bare:,.0f} docs/s, core {core:,.0f} articles/s, core/bare {core / bare:.3f}")
    print(f"median core/bare over {args.rounds} rounds of {args.copies}: {statistics.median(ratios):.3f}")
    print(load())


if __name__ == "__main__":
    main()
