"""The worker's consumer-group timing reaches Faust (and through it aiokafka)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streams.settings import KafkaSettings, Settings
from streams.worker.app import create_app


@pytest.mark.parametrize(("session", "heartbeat"), [(10.0, 3.0), (6.0, 2.0), (45.0, 3.0)])
def test_session_timeout_and_heartbeat(session: float, heartbeat: float) -> None:
    base = Settings()
    settings = base.model_copy(update={"kafka": base.kafka.model_copy(update={"session_timeout_s": session})})
    app = create_app(settings, search=SimpleNamespace(), enricher=SimpleNamespace(enrich_batch=lambda docs: []))
    assert app.conf.broker_session_timeout == session
    assert app.conf.broker_heartbeat_interval == heartbeat


def test_default_session_timeout_is_ten_seconds() -> None:
    assert KafkaSettings().session_timeout_s == 10.0
