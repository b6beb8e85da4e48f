"""Logging for the worker and the CLI: human-readable text by default, JSON lines on request.

Structured events (a DLQ write, a retry) carry ``extra={"event": ..., ...}``; the JSON format keeps
those keys as fields. Every configured secret value is masked in every record, whatever logged it.
"""

from __future__ import annotations

import logging
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
    def __init__(self, secrets: set[str]):
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = sorted(secrets, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, None
            for key, value in list(vars(record).items()):
                if isinstance(value, str) and key not in ("msg", "message"):
                    for secret in self.secrets:
                        value = value.replace(secret, MASK)
                    setattr(record, key, value)
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
        "filters": {"secrets": {"()": RedactSecrets, "secrets": secret_values(settings)}},
        "formatters": {settings.log_format: formatters[settings.log_format]},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": settings.log_format,
                "filters": ["secrets"],
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
