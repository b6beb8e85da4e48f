"""The benchmark (tests/benchmarks/bench.py, `make bench`) runs on a small N and prints every figure.

Not a timed test: the figures themselves are not checked, only that each one is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from streams.search import template

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"

# Each figure's key in the JSON and the start of its row in the printed table.
RATES = {
    "spacy": "bare spaCy nlp.pipe",
    "core": "enrichment core",
    "index": "bulk indexing alone, batches of 500",
    "index_v1": "bulk indexing alone, same documents, template version 1",
    "naive": "naive consumer",
    "pipeline": "Faust pipeline, first send",
    "pipeline_plain": "Faust pipeline, stories and alerts off",
    "pipeline_mixed_plain": "Faust pipeline, mixed articles, stories and alerts off",
    "pipeline_mixed": "Faust pipeline, mixed articles, stories and alerts on",
}
ROWS = [
    *RATES.values(),
    "send -> searchable latency",
    f"ratio bulk indexing, template version {template.TEMPLATE_VERSION} / version 1",
    "ratio enrichment core / bare spaCy",
    "ratio pipeline / naive consumer",
    "ratio pipeline / min(core, index)",
    "ratio pipeline with stories and alerts / without, seed copies",
    "ratio pipeline with stories and alerts / without, mixed articles",
]


def test_bench_runs_on_a_small_n_and_prints_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--articles", "50", "--rounds", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "N=50 " in proc.stdout and "load average at start" in proc.stdout and "load average at end" in proc.stdout
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    for row in ROWS:
        assert any(line.startswith(f"| {row}") for line in table), f"no row {row!r} in\n" + "\n".join(table)
    figures = json.loads(out.read_text())
    assert figures["articles"] == 50
    for key in RATES:
        assert figures["rates"][key] > 0, figures
    assert 0 < figures["latency_p50_s"] <= figures["latency_p99_s"], figures
