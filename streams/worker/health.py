"""The worker's /health answer: can it reach Kafka and the search engine, and is it making progress?"""

from __future__ import annotations

import asyncio
from typing import Any

# Lag above zero with the committed offsets standing still for this many metrics ticks = stalled.
STALLED_TICKS = 3
CHECK_TIMEOUT_S = 5.0


class HealthState:
    def __init__(self) -> None:
        self._committed: int | None = None
        self.lag = 0
        self.stalled_ticks = 0

    def observe_lag(self, lags: dict[tuple[str, int], tuple[int, int]]) -> None:
        """Called on each metrics tick with (topic, partition) -> (committed, end_offset)."""
        committed = sum(c for c, _ in lags.values())
        self.lag = sum(max(end - c, 0) for c, end in lags.values())
        moved = self._committed is None or committed != self._committed
        self.stalled_ticks = 0 if (self.lag == 0 or moved) else self.stalled_ticks + 1
        self._committed = committed

    async def check(self, lag_reader: Any, search: Any) -> dict[str, Any]:
        kafka, engine = await asyncio.gather(_probe(lag_reader.ping), _probe(search.ping))
        progress = {
            "ok": self.stalled_ticks < STALLED_TICKS,
            "lag": self.lag,
            "ticks_without_progress": self.stalled_ticks,
        }
        checks = {"kafka": kafka, "search": engine, "progress": progress}
        down = [name for name, check in checks.items() if not check["ok"]]
        return {"status": "unhealthy" if down else "ok", "down": down, "checks": checks}


async def _probe(fn: Any) -> dict[str, Any]:
    """Run a blocking probe off the event loop; False or an exception means unhealthy."""
    try:
        result = await asyncio.wait_for(asyncio.to_thread(fn), CHECK_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": result is not False}
