"""The enrich stage in a child process gives what it gives in the worker's own, and outlives its child."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from streams.enrich import Enricher
from streams.settings import Settings
from streams.worker import stages
from streams.worker.app import enrich_runner
from streams.worker.enrich_process import EnrichProcess

BUDGET = 1_000_000
ARTICLE = {"id": "a1", "title": "Poetin in Moskou", "body": "Poetin sprak in Moskou met de NAVO."}
TS = 1_700_000_000.0  # ingested_at comes from it
RECORDS = [stages.Record(b"k", json.dumps(ARTICLE).encode(), "t", 0, 0, TS), stages.Record(b"k", b"x", "t", 0, 1, TS)]


def _without_time(value: bytes) -> dict:
    doc = json.loads(value)
    del doc["pipeline"]["enriched_at"]
    return doc


def test_the_child_enriches_like_the_worker_and_is_replaced_when_it_dies() -> None:
    settings = Settings()
    in_thread = asyncio.run(enrich_runner(settings, BUDGET, Enricher.from_settings(settings))(RECORDS))
    process = EnrichProcess(settings, BUDGET)
    try:
        process.start()
        outcome = asyncio.run(process(RECORDS))
        assert [(d.record.offset, d.reason) for d in outcome.dead] == [(1, "not_json")]
        [out] = outcome.out
        assert out.key == b"a1" and outcome.passed == [{"id": "a1"}]  # documents come back as ids
        assert _without_time(out.value) == _without_time(in_thread.out[0].value)
        assert _without_time(out.value)["entity_ids"]  # really enriched

        [pid] = process._pool._processes  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):  # this batch fails (delivery.isolated retries it) ...
            asyncio.run(process(RECORDS))
        assert len(asyncio.run(process(RECORDS)).out) == 1  # ... and the next attempt gets a new child
    finally:
        process.close()


def test_the_child_exits_when_the_worker_is_killed(tmp_path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(
        "import time\n"
        "from streams.settings import Settings\n"
        "from streams.worker.enrich_process import EnrichProcess\n"
        "if __name__ == '__main__':  # the spawned child imports this file too\n"
        "    p = EnrichProcess(Settings(), 1_000_000)\n"
        "    p.start()\n"
        "    print(*p._pool._processes, flush=True)\n"
        "    time.sleep(600)\n"
    )
    worker = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        child = int(worker.stdout.readline())
        os.kill(worker.pid, signal.SIGKILL)  # no shutdown, no atexit: the pool cannot stop its child
        worker.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        worker.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
