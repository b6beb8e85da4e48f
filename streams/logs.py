"""Logging for the worker and the CLI: human-readable text by default, JSON lines on request.

Structured events (a DLQ write, a retry) carry ``extra={"event": ..., ...}``; the JSON format keeps
those keys as fields. Every configured secret value is masked in every record, whatever logged it.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from pydantic import BaseModel, SecretStr

from streams.settings import Settings

MASK = "***"


def secret_values(model: BaseModel) -> set[str]:
    """Every non-empty SecretStr value anywhere in the settings."""
    found: set[str] = set()
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.add(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found |= secret_values(value)
    return found


class RedactSecrets(logging.Filter):
    """Masks every configured secret in the message, its arguments, extras, tracebacks and stacks."""

    def __init__(self, secrets: set[str]):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(secrets, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.mask(record.getMessage()), None
        if record.exc_info:
            # Formatted once here and masked: an exception's text or a frame's source line may
            # hold a secret (a URL with credentials, a header). Formatters print exc_text as is.
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "message"):
                setattr(record, key, self.mask(value))
        return True


_TRACEBACKS = logging.Formatter()
_DIGITS = re.compile(r"\d+")


class CollapseRepeats(logging.Filter):
    """One line per interval for a client library's repeated warnings and errors.

    While a broker or engine is down, the clients (aiokafka, kafka-python, the search clients) log
    every failed connection attempt, several a second: the one line an operator needs drowns. The
    first such line is logged; the same line (numbers aside) within ``interval_s`` is counted, and the
    next one after the interval is logged with the count of those held back. Our own loggers
    (``streams.*``) already log one line per retry with its backoff, and pass untouched.
    """

    def __init__(self, interval_s: float = 30.0, own_prefix: str = "streams"):
        super().__init__()
        self.interval_s = interval_s
        self.own_prefix = own_prefix
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # key -> (window start, held back)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name.split(".")[0] == self.own_prefix:
            return True
        key = (record.name, _DIGITS.sub("#", record.getMessage())[:200])
        now = time.monotonic()
        started, held = self._seen.get(key, (None, 0))
        if started is not None and now - started < self.interval_s:
            self._seen[key] = (started, held + 1)
            return False
        if len(self._seen) > 1000:  # bounded: forget old windows
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.interval_s}
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.getMessage()} [{held} more like this in the last {now - started:.0f}s]"
            record.args = None
            record.repeated = held
        return True


def logging_config(settings: Settings, level: str | None = None) -> dict[str, Any]:
    """A dictConfig for the root logger (the Faust worker; `newsstreams` commands pass WARNING)."""
    formatters = {
        "text": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "secrets": {"()": RedactSecrets, "secrets": secret_values(settings)},
            "repeats": {"()": CollapseRepeats},
        },
        "formatters": {settings.log_format: formatters[settings.log_format]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": settings.log_format,
                "filters": ["repeats", "secrets"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": (level or settings.log_level).upper(), "handlers": ["stderr"]},
        # The clients log every refused connection (with a traceback) and every request; our own code
        # turns each failure into one clear message, retry event or DLQ record instead.
        "loggers": {
            "kafka": {"level": "CRITICAL"},
            "opensearch": {"level": "CRITICAL"},
            "elastic_transport": {"level": "CRITICAL"},
        },
    }
