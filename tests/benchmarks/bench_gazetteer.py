"""The gazetteer at Wikidata scale: synthetic dumps through the builder, then a worker's start-up,
memory and enrichment speed against the shipped (curated) gazetteer.

    python tests/benchmarks/bench_gazetteer.py [--aliases 100000 1000000] [--workdir DIR] [--copies 500]

Per size, in one run:

1. a synthetic Wikidata dump (the real line format: labels, aliases, P31 classes, sitelinks) with
   about that many alias records once built, most of them distinct surface forms: people, places
   and organisations with made-up names, some starting with capitalised words of real news text
   (so that the matcher walks), a few homonyms; written once to DIR/<size>/dump.json.gz, reused;
2. ``newsstreams gazetteer build`` (the library call) into a directory holding the curated files
   too, as in production: build time;
3. the compile step (YAML -> compiled copy): time and peak RSS, in a fresh process;
4. a worker's start in a fresh process: the Enricher (gazetteer from the compiled copy) and every
   language's pipeline built, RSS after start-up (current and peak); then enrichment of copies of
   the seed article with this gazetteer and with the shipped one, in alternating rounds: the ratio
   big / shipped per round (wall clock and CPU time) and the median.

Prints figures and the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from streams.settings import PROJECT_DIR, config_dir, get_settings

SEED = PROJECT_DIR / "seeds" / "000_d6634ea9b322a4cb.txt"
SYLLABLES = "ka ro mi na ste van ber lin to ma ri el an jo han sen dor vi ch ul os ta ne ki mo ra lu be ga".split()
FIRST = "Jan Peter Marie Anna Luca Sofia Ahmed Olga Pierre Hans Elena Marco Sara Tomas Ingrid Kenji".split()
KINDS = [("Q5", "PER"), ("Q515", "LOC"), ("Q486972", "LOC"), ("Q43229", "ORG"), ("Q4830453", "ORG")]
LANGS = ["nl", "en", "de", "fr", "es", "it"]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss() -> dict:
    """Current and peak resident memory of this process, MB (Linux /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    return out


# --- 1. the synthetic dump -----------------------------------------------------------------------


def news_words() -> list[str]:
    """Capitalised words of real news text (the seed and the eval set): where names start."""
    text = SEED.read_text(encoding="utf-8")
    for path in sorted((PROJECT_DIR / "tests" / "data" / "eval").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))["article"]
        text += f" {article['title']} {article['body']}"
    return sorted(set(re.findall(r"\b[A-ZÀ-Ý][a-zà-ÿ]{2,}\b", text)))


def made_up(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randrange(2, 4))).capitalize()


def entity(i: int, rng: random.Random, starts: list[str]) -> tuple[dict, int]:
    """One dump item and the number of surface forms it brings (labels and aliases, before dedup)."""
    p31, kind = rng.choice(KINDS)
    if kind == "PER":
        surname = made_up(rng)
        name = f"{rng.choice(FIRST)} {surname}"
        extra = [surname, f"{name[0]}. {surname}"]
    elif kind == "LOC":
        name = made_up(rng) + rng.choice(["", "burg", "stad", " City"])
        extra = [f"Groot-{name}", f"{name}er Land"]
    else:
        name = f"{made_up(rng)} {rng.choice(['Group', 'Holding', 'Bank', 'Partij', 'Verein', 'SA'])}"
        extra = ["".join(w[0] for w in name.split()).upper() + made_up(rng)[:2].upper(), f"{name} International"]
    if rng.random() < 0.12:  # starts like words of real text: "Rusland Holding", "Poetin Kaser"
        name = f"{rng.choice(starts)} {made_up(rng)}"
    if rng.random() < 0.01:  # homonyms: the same name as an earlier item
        name = f"{FIRST[i % len(FIRST)]} {SYLLABLES[i % len(SYLLABLES)].capitalize()}sen"
    labels = {lang: {"language": lang, "value": name} for lang in LANGS}
    for lang in rng.sample(LANGS, k=2):  # a spelling of its own in some languages
        labels[lang] = {"language": lang, "value": name.replace("a", "aa", 1) if "a" in name else name + "e"}
    # Aliases in three languages, each language its own forms (Wikidata's are mostly distinct).
    aliases = {
        lang: [{"language": lang, "value": f"{a} {made_up(rng)}" if k else a} for k, a in enumerate(extra)]
        for lang in rng.sample(LANGS, k=3)
    }
    sites = rng.randrange(20, 200)
    item = {
        "type": "item",
        "id": f"Q{900_000_000 + i}",
        "labels": labels,
        "aliases": aliases,
        "claims": {"P31": [{"mainsnak": {"datavalue": {"value": {"id": p31}}}, "rank": "normal"}]},
        "sitelinks": {f"s{k}wiki": {"site": f"s{k}wiki", "title": name} for k in range(sites)},
    }
    return item, 3 + 3 * len(extra)


def write_dump(path: Path, aliases: int) -> None:
    rng = random.Random(aliases)
    starts = news_words()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    made = 0
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as fh:
        fh.write("[\n")
        i = 0
        while made < aliases:
            item, forms = entity(i, rng, starts)
            fh.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + ",\n")
            made += forms
            i += 1
        fh.write("]\n")
    tmp.rename(path)


# --- 3. compile, 4. worker (fresh processes) ----------------------------------------------------


def compile_child(gaz_dir: str) -> None:
    from streams.enrich.gazetteer import load_gazetteer

    started = time.perf_counter()
    gaz = load_gazetteer(LANGS, gaz_dir, compiled=True)
    took = time.perf_counter() - started
    records = len(gaz._rec_sid)
    print(json.dumps({"compile_s": round(took, 1), "entries": len(gaz), "alias_records": records, **rss()}))


def worker_child(gaz_dir: str, copies: int, rounds: int, batch: int) -> None:
    import logging

    from streams.enrich import Enricher

    logging.basicConfig(level=logging.ERROR)
    settings = get_settings().enrich
    base = rss()
    t0 = time.perf_counter()
    big = Enricher(settings.model_copy(update={"gazetteer_dir": Path(gaz_dir)}))
    t1 = time.perf_counter()
    built = big.warm_up()
    t2 = time.perf_counter()
    after = rss()
    forms = {lang: big.gazetteer.size(lang) for lang in [*LANGS, "xx"]}
    shipped = Enricher(settings)  # the curated gazetteer alone
    shipped.warm_up(["nl"])
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_core import seed_article

    articles = [seed_article(i) for i in range(copies)]
    for enr in (big, shipped):
        enr.enrich_batch(articles[:8])
    wall, cpu, rates = [], [], []
    for _ in range(rounds):
        took = {}
        for label, enr in (("shipped", shipped), ("big", big)):
            w, c = time.perf_counter(), time.process_time()
            for i in range(0, len(articles), batch):
                enr.enrich_batch(articles[i : i + batch])
            took[label] = (time.perf_counter() - w, time.process_time() - c)
        wall.append(took["shipped"][0] / took["big"][0])
        cpu.append(took["shipped"][1] / took["big"][1])
        rates.append((copies / took["shipped"][0], copies / took["big"][0]))
    entities = len(big.enrich(articles[0])["entities"]), len(shipped.enrich(articles[0])["entities"])
    print(
        json.dumps(
            {
                "gazetteer_load_s": round(t1 - t0, 1),
                "pipelines_s": round(t2 - t1, 1),
                "start_s": round(t2 - t0, 1),
                "pipelines": built,
                "rss_before_mb": base["VmRSS"],
                "rss_after_start_mb": after["VmRSS"],
                "peak_rss_after_start_mb": after["VmHWM"],
                "surface_forms": forms,
                "seed_entities_big_vs_shipped": entities,
                "rounds_docs_per_s_shipped_big": [[round(a), round(b)] for a, b in rates],
                "speed_big_over_shipped_wall": [round(x, 3) for x in wall],
                "speed_big_over_shipped_cpu": [round(x, 3) for x in cpu],
                "median_wall": round(statistics.median(wall), 3),
                "median_cpu": round(statistics.median(cpu), 3),
            }
        )
    )


def child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aliases", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/newsstreams-gazetteer-bench"))
    ap.add_argument("--copies", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.child[0] == "compile":
            return compile_child(args.child[1])
        return worker_child(args.child[1], args.copies, args.rounds, args.batch)

    from streams.enrich.wikidata import build_gazetteer

    print(load())
    for size in args.aliases:
        print(f"\n== about {size:,} aliases")
        base = args.workdir / str(size)
        dump = base / "dump.json.gz"
        if not dump.exists():
            started = time.perf_counter()
            write_dump(dump, size)
            print(
                f"synthetic dump: {dump} ({dump.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f}s"
            )
        gaz_dir = base / "gazetteer"
        shutil.rmtree(gaz_dir, ignore_errors=True)
        gaz_dir.mkdir(parents=True)
        for path in (config_dir() / "gazetteer").glob("*.yaml"):
            if path.name != "wikidata.yaml":
                shutil.copy(path, gaz_dir / path.name)
        started = time.perf_counter()
        stats = build_gazetteer(dump, gaz_dir / "wikidata.yaml", languages=LANGS, min_sitelinks=20)
        size_mb = (gaz_dir / "wikidata.yaml").stat().st_size / 1e6
        print(f"build: {time.perf_counter() - started:.0f}s, wikidata.yaml {size_mb:.0f} MB; {stats.summary()}")
        print(f"compile (fresh process): {child('--child', 'compile', str(gaz_dir))}")
        copies = [p.stat().st_size for p in (gaz_dir / ".compiled").glob("*.npz")]
        print(f"compiled copy: {sum(copies) / 1e6:.0f} MB")
        out = child("--child", "worker", str(gaz_dir), "--copies", str(args.copies), "--rounds", str(args.rounds))
        for key, value in out.items():
            print(f"worker {key}: {value}")
        print(load())
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
