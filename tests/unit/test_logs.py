"""Log configuration: JSON lines carry structured events; configured secrets never get through."""

from __future__ import annotations

import io
import json
import logging
import logging.config

from pydantic import SecretStr

from streams.logs import MASK, logging_config, secret_values
from streams.settings import Settings


def _configured(settings: Settings) -> tuple[logging.Logger, io.StringIO]:
    config = logging_config(settings)
    stream = io.StringIO()
    config["handlers"]["stderr"]["stream"] = stream
    logging.config.dictConfig(config)
    return logging.getLogger("test.logs"), stream


def _settings(**kw) -> Settings:
    s = Settings()
    search = s.search.model_copy(update={"password": SecretStr("hunter2-secret"), "api_key": SecretStr("k3y")})
    return s.model_copy(update={"search": search, **kw})


def test_secret_values_found_in_nested_sections() -> None:
    assert secret_values(_settings()) == {"hunter2-secret", "k3y"}


def test_secrets_masked_in_message_args_and_extras() -> None:
    log, out = _configured(_settings(log_format="json"))
    log.warning("connecting with %s", "hunter2-secret", extra={"event": "retry", "url": "http://u:k3y@h"})
    line = json.loads(out.getvalue().strip())
    assert "hunter2-secret" not in out.getvalue() and "k3y" not in out.getvalue()
    assert line["message"] == f"connecting with {MASK}"
    assert line["url"] == f"http://u:{MASK}@h" and line["event"] == "retry"
    assert line["level"] == "WARNING" and line["logger"] == "test.logs"


def test_text_format_is_one_readable_line() -> None:
    log, out = _configured(_settings(log_format="text"))
    log.info("hello %s", "world")
    text = out.getvalue()
    assert text.count("\n") == 1 and "[INFO] test.logs: hello world" in text


def test_secrets_masked_in_tracebacks_and_exception_text() -> None:
    for fmt in ("text", "json"):
        log, out = _configured(_settings(log_format=fmt))
        try:
            raise ConnectionError("refused by http://elastic:hunter2-secret@es:9200 (key k3y)")
        except ConnectionError:
            log.exception("bulk failed")
        text = out.getvalue()
        assert "Traceback" in text and "ConnectionError: refused by http://elastic:" in text, text
        assert "hunter2-secret" not in text and "k3y" not in text, text


def test_repeated_client_errors_collapse_into_one_line_per_interval(monkeypatch) -> None:
    _, out = _configured(_settings(log_format="text"))
    client = logging.getLogger("aiokafka.conn")
    clock = [1000.0]
    monkeypatch.setattr("streams.logs.time.monotonic", lambda: clock[0])
    for attempt in range(100):  # ten a second for 10 s, as while a broker is down
        client.error("Unable connect to node with id %d: [Errno 111] Connect call failed", attempt)
        clock[0] += 0.1
    clock[0] += 30
    client.error("Unable connect to node with id 1: [Errno 111] Connect call failed")
    own = logging.getLogger("streams.worker")
    own.warning("our own retry line %d", 1)
    own.warning("our own retry line %d", 2)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4, lines
    assert "[99 more like this in the last" in lines[1]
    assert lines[2].endswith("our own retry line 1") and lines[3].endswith("our own retry line 2")
