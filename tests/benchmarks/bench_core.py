"""The enrichment core against bare spaCy on the same pipeline, measured in alternating rounds.

    python tests/benchmarks/bench_core.py [--copies 1000] [--batch 256] [--rounds 5] [--lang nl] [--model M]

Each round times ``nlp.pipe`` of the language's pipeline over the texts (bare spaCy: tokenizer,
gazetteer matcher and, with ``--model``, the model's components), then ``Enricher.enrich_batch``
over the same articles (language detection, that same pipeline, mentions, topics, the output
documents). Texts: copies of the seed article (nl), or the eval articles of ``--lang``. The ratio
core / bare is taken per round, by wall clock and by this process's CPU time, so that load from
other processes on a shared machine moves both figures alike; the medians are the figures to
quote. Prints figures and the load average; asserts nothing. Works on older checkouts too (run it
with their ``PYTHONPATH``): compare absolute rates of two checkouts only from runs back to back.
"""

from __future__ import annotations

import argparse
import json
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


def eval_articles(lang: str, copies: int) -> list[dict]:
    found = []
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob(f"{lang}-*.json")):
        found.append(json.loads(path.read_text(encoding="utf-8"))["article"])
    return [dict(found[i % len(found)], id=f"{lang}-{i}") for i in range(copies)]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lang", default="nl", help="nl: the seed article; else that language's eval articles")
    ap.add_argument("--model", help="a trained spaCy model (package or path) for the language's pipeline")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    print(load())
    settings = get_settings().enrich
    if args.model:
        settings = settings.model_copy(update={"models": {**settings.models, args.lang: args.model}})
    started = time.perf_counter()
    enricher = Enricher(settings)
    built = enricher.warm_up([args.lang])
    print(f"start-up {time.perf_counter() - started:.2f}s (pipelines {built})")
    pipe = enricher.pipeline(args.lang)
    print(f"pipeline {args.lang}: {pipe.ner_model}, components {pipe.nlp.pipe_names}")

    if args.lang == "nl":
        articles = [seed_article(i) for i in range(args.copies)]
    else:
        articles = eval_articles(args.lang, args.copies)
    texts = [f"{a['title']}\n\n{a['body']}" for a in articles]
    enricher.enrich_batch(articles[:8])  # first calls: caches, lazy imports
    list(pipe.nlp.pipe(texts[:8]))

    wall, cpu = [], []
    for r in range(args.rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in pipe.nlp.pipe(texts, batch_size=args.batch):
            pass
        w1, c1 = time.perf_counter(), time.process_time()
        for i in range(0, len(articles), args.batch):
            enricher.enrich_batch(articles[i : i + args.batch])
        w2, c2 = time.perf_counter(), time.process_time()
        bare, core = len(texts) / (w1 - w0), len(articles) / (w2 - w1)
        wall.append(core / bare)
        cpu.append((c1 - c0) / (c2 - c1))
        print(
            f"round {r + 1}: bare spaCy {bare:,.0f} docs/s, core {core:,.0f} articles/s "
            f"(CPU {len(articles) / (c2 - c1):,.0f}/s); core/bare {wall[-1]:.3f} (wall), {cpu[-1]:.3f} (CPU)"
        )
    print(
        f"median core/bare over {args.rounds} rounds of {args.copies}: "
        f"{statistics.median(wall):.3f} (wall), {statistics.median(cpu):.3f} (CPU)"
    )
    print(load())


if __name__ == "__main__":
    main()
