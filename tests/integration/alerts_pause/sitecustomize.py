"""Test instrumentation for the alerts SIGKILL test, loaded by a worker started with this directory on
PYTHONPATH: NEWSSTREAMS_TEST_ALERTS_PAUSE="before:S" waits S seconds between claiming pairs and sending
their records, "after:S" between the broker's acknowledgement and marking them sent. A SIGKILL then
almost always lands in the window the ledger's "pending" state exists for."""

import os

_pause = os.environ.get("NEWSSTREAMS_TEST_ALERTS_PAUSE")
if _pause:
    import asyncio

    from streams.alerts.topic import AlertsTopic

    _where, _seconds = _pause.split(":")
    _send = AlertsTopic.send

    async def _paused_send(self, records):
        if _where == "before":
            await asyncio.sleep(float(_seconds))
        await _send(self, records)
        if _where == "after":
            await asyncio.sleep(float(_seconds))

    AlertsTopic.send = _paused_send
