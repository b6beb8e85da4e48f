"""Enrichment speed: N copies of the seed article through ``Enricher.enrich_batch``.

    python tests/benchmarks/bench_enrich.py [--copies 200] [--batch 64]

Prints figures; asserts nothing. Pipeline build time (worker start) is reported separately.
"""

from __future__ import annotations

import argparse
import logging
import time

from streams.enrich import Enricher
from streams.enrich.language import LanguageDetector
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--copies", type=int, default=200)
    ap.add_argument("--batch", type=int, default=get_settings().worker.enrich_batch_size)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = get_settings().enrich
    t0 = time.perf_counter()
    enricher = Enricher(settings)
    t1 = time.perf_counter()
    built = enricher.warm_up(["nl"])
    t2 = time.perf_counter()
    print(f"init (language model, gazetteer, lexicons): {t1 - t0:.2f}s")
    ner_model = enricher.pipeline("nl").ner_model
    print(f"pipelines built: {built} ({t2 - t1:.2f}s); ner_model={ner_model}")

    articles = [seed_article(i) for i in range(args.copies)]
    words = sum(len((a["title"] + " " + a["body"]).split()) for a in articles)
    enricher.enrich_batch(articles[:2])  # warm caches

    started = time.perf_counter()
    docs = []
    for i in range(0, len(articles), args.batch):
        docs.extend(r.doc for r in enricher.enrich_batch(articles[i : i + args.batch]))
    took = time.perf_counter() - started
    print(f"{len(docs)} articles ({words} words) in batches of {args.batch}: {took:.2f}s")
    print(f"  {len(docs) / took:,.0f} articles/s, {words / took:,.0f} words/s")
    labels = [t["label"] for t in docs[0]["topics"]]
    print(f"  {len(docs[0]['entities'])} entities, topics {labels}")

    # The parts, for orientation.
    detector: LanguageDetector = enricher.detector
    texts = [a["title"] + "\n\n" + a["body"] for a in articles]
    s = time.perf_counter()
    for text in texts:
        detector.detect(text)
    print(f"  language detection alone: {len(texts) / (time.perf_counter() - s):,.0f} docs/s")
    nlp = enricher.pipeline("nl").nlp
    s = time.perf_counter()
    for _ in nlp.pipe(texts):
        pass
    print(f"  spaCy pipeline alone: {len(texts) / (time.perf_counter() - s):,.0f} docs/s")


if __name__ == "__main__":
    main()
