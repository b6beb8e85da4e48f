"""A trained model as the Enricher loaded it before and as it loads it now: same entities, speed, memory.

    python tests/benchmarks/bench_models.py --model fr_core_news_sm --lang fr [--copies 300] [--rounds 5]

before: ``spacy.load(model)``, then the components NER does not need disabled (what
``entities._load_base`` did until the shared tok2vec was looked at). now: ``entities._load_base``
(those components not loaded at all, an embedding component no enabled component listens to
disabled). Texts: the eval articles of ``--lang`` (title + body), repeated to ``--copies``.

Prints, in one run: the components each way, whether every document has the same entities
(text, label, offsets) both ways (on the eval articles and on texts made by shuffling their
sentences), docs/s of each in alternating rounds with the ratio per round by wall clock and by
this process's CPU time (less moved by other processes on a shared machine), and each way's load
time and peak RSS (each measured in a fresh process). Asserts nothing; exits 1 if entities differ.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time

import spacy

from streams.enrich.entities import _NOT_FOR_NER, _load_base
from streams.settings import PROJECT_DIR


def before(model: str):
    nlp = spacy.load(model)
    for pipe in nlp.pipe_names:
        if pipe in _NOT_FOR_NER:
            nlp.disable_pipe(pipe)
    return nlp


def now(model: str, lang: str):
    return _load_base(lang, [model])[0]


def texts(lang: str, copies: int) -> list[str]:
    found = []
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob(f"{lang}-*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))["article"]
        found.append(f"{article['title']}\n\n{article['body']}")
    if not found:
        sys.exit(f"no eval articles for {lang!r}")
    return [found[i % len(found)] for i in range(copies)]


def shuffled(base: list[str], n: int) -> list[str]:
    """New texts from the sentences of ``base``, in other orders and combinations."""
    rng = random.Random(0)
    sentences = [s.strip() + "." for text in base for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 20]
    return [" ".join(rng.sample(sentences, k=min(len(sentences), rng.randrange(2, 9)))) for _ in range(n)]


def ents(doc) -> list[tuple]:
    return [(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents]


def memory(args) -> None:
    """Child process: load one way, run the texts, print load seconds and peak RSS."""
    started = time.perf_counter()
    nlp = before(args.model) if args.way == "before" else now(args.model, args.lang)
    loaded = time.perf_counter() - started
    for _ in nlp.pipe(texts(args.lang, args.copies), batch_size=args.batch):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": round(loaded, 2), "peak_rss_mb": round(peak)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lang", required=True)
    ap.add_argument("--copies", type=int, default=120)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--way", choices=["before", "now"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.way:
        return memory(args)

    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for way in ("before", "now"):
        cmd = [sys.executable, __file__, "--model", args.model, "--lang", args.lang, "--way", way]
        cmd += ["--copies", str(args.copies), "--batch", str(args.batch)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        print(f"{way}: fresh process, {json.loads(out)}")

    old, new = before(args.model), now(args.model, args.lang)
    print(f"before: enabled {old.pipe_names}; now: enabled {new.pipe_names}, loaded {new.component_names}")
    docs = texts(args.lang, args.copies)
    unique = list(dict.fromkeys(docs))
    unique += shuffled(unique, 300)
    same = all(ents(a) == ents(b) for a, b in zip(old.pipe(unique), new.pipe(unique), strict=True))
    count = sum(len(ents(d)) for d in new.pipe(unique))
    print(f"entities identical on {len(unique)} distinct texts ({count} entities): {same}")

    wall, cpu = [], []
    for r in range(args.rounds):
        took = {}
        for way, nlp in (("before", old), ("now", new)):
            w, c = time.perf_counter(), time.process_time()
            for _ in nlp.pipe(docs, batch_size=args.batch):
                pass
            took[way] = (time.perf_counter() - w, time.process_time() - c)
        wall.append(took["before"][0] / took["now"][0])
        cpu.append(took["before"][1] / took["now"][1])
        print(
            f"round {r + 1}: before {len(docs) / took['before'][0]:,.0f} docs/s, "
            f"now {len(docs) / took['now'][0]:,.0f} docs/s; now/before {wall[-1]:.2f} (wall), {cpu[-1]:.2f} (CPU)"
        )
    print(
        f"median now/before over {args.rounds} rounds of {len(docs)} docs: "
        f"{statistics.median(wall):.2f} (wall), {statistics.median(cpu):.2f} (CPU)"
    )
    print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
