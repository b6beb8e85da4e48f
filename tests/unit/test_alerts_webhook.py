"""Webhook deliveries off the indexing path: retries, giving up, a bounded queue that drops."""

from __future__ import annotations

import asyncio
import threading
import time

from streams.alerts.webhook import Webhooks
from streams.settings import AlertsSettings

RECORD = {"alert": "putin", "article_id": "a1"}


def _hooks(post, retries=3, queue=10) -> Webhooks:
    settings = AlertsSettings(webhook_retries=retries, webhook_timeout_s=1, webhook_queue_size=queue)
    return Webhooks(settings, post=post, backoff_s=0.01)


def _answers(*statuses):
    calls = []

    def post(url, record, timeout_s):
        calls.append((url, record, timeout_s))
        answer = statuses[min(len(calls), len(statuses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return post, calls


def _run(hooks: Webhooks, n: int = 1) -> None:
    async def main():
        for _ in range(n):
            hooks.submit("http://hook.example/x", RECORD)
        await asyncio.wait_for(hooks.drain(), 5)
        hooks.close()

    asyncio.run(main())


def test_delivered_after_failures():
    post, calls = _answers(ConnectionError("refused"), 503, 200)
    hooks = _hooks(post)
    _run(hooks)
    assert len(calls) == 3 and calls[-1] == ("http://hook.example/x", RECORD, 1)
    assert (hooks.delivered, hooks.failed) == (1, 0)


def test_gives_up_after_the_retries():
    post, calls = _answers(500)
    hooks = _hooks(post, retries=2)
    _run(hooks)
    assert len(calls) == 3 and (hooks.delivered, hooks.failed) == (0, 1)


def test_a_refusal_is_not_retried():
    post, calls = _answers(404)
    hooks = _hooks(post)
    _run(hooks)
    assert len(calls) == 1 and hooks.failed == 1


def test_a_hanging_receiver_never_blocks_submit_and_a_full_queue_drops():
    release = threading.Event()

    def hanging(url, record, timeout_s):
        release.wait(5)
        return 200

    hooks = _hooks(hanging, queue=3)
    outcomes = []
    hooks.on_outcome = outcomes.append

    async def main():
        started = time.monotonic()
        accepted = [hooks.submit("http://hook.example/x", RECORD) for _ in range(10)]
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.wait_for(hooks.drain(), 5)
        hooks.close()
        return accepted, elapsed

    accepted, elapsed = asyncio.run(main())
    assert elapsed < 0.1
    assert accepted[:3] == [True] * 3 and sum(accepted) == 3
    assert hooks.dropped == 7 and hooks.delivered == 3
    assert sorted(outcomes) == ["delivered"] * 3 + ["dropped"] * 7
