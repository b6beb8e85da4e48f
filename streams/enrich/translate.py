"""Translation of title + lead summary into the target language(s), behind a circuit breaker.

Backends (settings ``translate.backend``):

- ``none`` (default): nothing is translated; ``translations`` stays ``{}``.
- ``libretranslate``: ``POST {url}/translate`` with JSON ``{q, source, target, format: "text",
  api_key?}`` -> ``{"translatedText": ...}``, one text per request.
- your own class, as ``package.module:Class`` or ``package.module.Class``::

      class MyTranslator:
          name = "my-engine"   # optional; recorded as `engine` (default: the dotted path)

          def __init__(self, settings):  # optional; gets the TranslateSettings if it takes one
              ...

          def translate(self, text: str, source: str, target: str) -> str:
              ...  # ISO 639-1 codes; raise on failure (OSError counts as transient and is retried)

What is translated: the title and a lead summary (``lead()``: the first ``summary_chars``
characters of the body, cut at a sentence end, else at a word boundary) of each article whose
detected language is neither ``und`` nor one of ``targets``, into every target. Per target::

    {"en": {"title": "...", "summary": "...", "source": "nl", "engine": "libretranslate"}}
    {"en": {"error": "timeout after 5.0s", "source": "nl", "engine": "libretranslate"}}
    {"en": {"error": "circuit open", "source": "nl", "engine": "libretranslate"}}

(If the title made it and the summary did not, the entry has ``title`` and ``error``.)

A slow or dead translator must not stall the enrich agent:

- every call has a hard deadline of ``timeout_s``: it runs on a daemon thread, so even a user
  class that hangs cannot hold the batch (the HTTP request also has that socket timeout);
- a connection error, 429 or 5xx is retried ``retries`` times with a short exponential backoff
  (tenacity, already a dependency). A timeout is not retried: a translator that is slow now is
  slow 0.2 s later too, and retrying would multiply the stall;
- when the title fails, the summary is not attempted;
- a circuit breaker opens after ``breaker_failures`` consecutive failed calls. While open, every
  translation is skipped at once and recorded as ``"error": "circuit open"``; after
  ``breaker_reset_s`` one trial call goes through and its success closes the circuit. A prompt
  rejection (HTTP 4xx, e.g. an unsupported language pair) shows the service is up: it is recorded
  for that article but does not count against the breaker.

Nothing raises out of ``Translator.__call__``. Warnings are rate-limited per failure kind (one per
``WARN_EVERY_S``, with a count of those held back). The API key is sent in the request body only,
never logged, and masked in any error text.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from streams.enrich.language import UND
from streams.settings import TranslateSettings

log = logging.getLogger(__name__)

CIRCUIT_OPEN = "circuit open"
WARN_EVERY_S = 60.0
BACKOFF_S = 0.2  # first wait before a retry; doubles each time, capped at 2 s
MAX_ERROR_CHARS = 300


class Engine(Protocol):
    def translate(self, text: str, source: str, target: str) -> str: ...


class TranslatorConfigError(ValueError):
    """``translate.backend`` names something that cannot be loaded or used."""


class TranslationFailed(Exception):
    """One failed call. ``kind`` groups warnings; ``transient`` ones are retried; ``rejected``
    ones (the service answered promptly with a refusal) do not count against the breaker."""

    def __init__(self, message: str, *, kind: str, transient: bool = False, rejected: bool = False):
        super().__init__(message)
        self.kind, self.transient, self.rejected = kind, transient, rejected


# --- the LibreTranslate backend -----------------------------------------------------------------


class LibreTranslate:
    """Client of LibreTranslate's ``/translate`` endpoint (one pooled HTTP session)."""

    name = "libretranslate"

    def __init__(self, settings: TranslateSettings):
        import requests  # only this backend needs it (installed with spaCy)

        self._requests = requests
        self.endpoint = settings.url.rstrip("/") + "/translate"
        parts = urlsplit(settings.url)
        self.host = parts.netloc.rpartition("@")[2] or settings.url  # never user:password@
        self.timeout = settings.timeout_s
        self._api_key = settings.api_key
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"LibreTranslate(host={self.host!r})"

    def translate(self, text: str, source: str, target: str) -> str:
        body: dict[str, str] = {"q": text, "source": source, "target": target, "format": "text"}
        if self._api_key is not None:
            body["api_key"] = self._api_key.get_secret_value()
        requests = self._requests
        try:
            resp = self._session.post(self.endpoint, json=body, timeout=self.timeout)
        except requests.Timeout:  # before ConnectionError: ConnectTimeout is both
            raise TimeoutError from None
        except requests.ConnectionError:
            raise TranslationFailed(f"cannot connect to {self.host}", kind="connection", transient=True) from None
        except requests.RequestException as exc:
            raise TranslationFailed(f"request failed: {type(exc).__name__}", kind="request") from None
        if resp.status_code != 200:
            status = resp.status_code
            transient = status in (408, 429) or status >= 500
            detail = _error_detail(resp)
            raise TranslationFailed(
                f"HTTP {status}" + (f": {detail}" if detail else ""),
                kind=f"HTTP {status}",
                transient=transient,
                rejected=not transient,
            )
        try:
            translated = resp.json()["translatedText"]
        except (ValueError, KeyError, TypeError):
            translated = None
        if not isinstance(translated, str):
            raise TranslationFailed("bad response: no translatedText string", kind="bad response")
        return translated

    def close(self) -> None:
        self._session.close()


def _error_detail(resp: Any) -> str:
    try:
        detail = resp.json().get("error") or ""
    except (ValueError, AttributeError):
        detail = ""
    return str(detail)[:200]


# --- circuit breaker ----------------------------------------------------------------------------


class CircuitBreaker:
    """closed --N consecutive failures--> open --reset_s--> one trial call: success closes it,
    failure opens it again.

    A small class of our own rather than pybreaker: pybreaker is not a dependency, and all we need
    is "skip at once while open, then one trial", with an injectable clock for tests.
    """

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic):
        self.threshold, self.reset_s, self.clock = failures, reset_s, clock
        self.failures = 0  # consecutive
        self.opened_at: float | None = None
        self._trial = False  # the one half-open trial call is in flight
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self._trial or self.clock() - self.opened_at < self.reset_s else "half-open"

    def allow(self) -> bool:
        with self._lock:
            if self.opened_at is None:
                return True
            if self._trial or self.clock() - self.opened_at < self.reset_s:
                return False
            self._trial = True
            return True

    def success(self) -> bool:
        """Record a success; True if it closed an open circuit."""
        with self._lock:
            was_open = self.opened_at is not None
            self.failures, self.opened_at, self._trial = 0, None, False
            return was_open

    def failure(self) -> bool:
        """Record a failure; True if the circuit (re)opened because of it."""
        with self._lock:
            self.failures += 1
            if self.opened_at is None and self.failures < self.threshold:
                return False
            self.opened_at, self._trial = self.clock(), False
            return True


# --- helpers ------------------------------------------------------------------------------------


def call_with_deadline(fn: Callable[..., Any], args: tuple, timeout: float) -> Any:
    """``fn(*args)`` on a daemon thread; ``TimeoutError`` if it has not returned in ``timeout`` s.

    An overrunning call keeps running in the background (Python cannot kill a thread), but the
    batch moves on, and the breaker stops new calls once they keep failing. Daemon, so a hung
    call never blocks interpreter exit.
    """
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="translate-call", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    ok, value = outcome[0]
    if ok:
        return value
    raise value


_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*\s")


def lead(body: str, chars: int) -> str:
    """The first ~``chars`` characters of ``body`` (whitespace collapsed), cut after the last
    sentence that fits if that keeps at least half, else at a word boundary (with "…")."""
    text = " ".join(body.split())
    if len(text) <= chars:
        return text
    if chars <= 0:
        return ""
    window = text[: chars + 1]  # +1: a sentence ending exactly at `chars` is followed by a space
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] > chars // 2:
        return window[: ends[-1]].rstrip()
    cut = window.rfind(" ")
    if cut > 0:
        return window[:cut].rstrip(" ,;:-–") + "…"
    return text[:chars] + "…"


class _Warnings:
    """At most one warning per kind per ``every_s``; the next one says how many were held back."""

    def __init__(self, every_s: float, clock: Callable[[], float]):
        self.every_s, self.clock = every_s, clock
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, kind: str, message: str) -> None:
        with self._lock:
            now = self.clock()
            last = self._last.get(kind)
            if last is not None and now - last < self.every_s:
                self._held[kind] += 1
                return
            self._last[kind] = now
            held = self._held.pop(kind, 0)
        if held:
            message += f" ({held} more since the last such warning)"
        log.warning("%s", message)


# --- the hook the Enricher calls ----------------------------------------------------------------


class Translator:
    """``translator(article, enriched) -> {target: entry}``: the Enricher's translation hook."""

    def __init__(
        self,
        engine: Engine,
        settings: TranslateSettings,
        *,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.engine = engine
        self.name = name or getattr(engine, "name", None) or type(engine).__name__
        self.settings = settings
        self.targets = list(settings.targets)
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s, clock)
        self._warn = _Warnings(WARN_EVERY_S, clock)
        self._secret = settings.api_key.get_secret_value() if settings.api_key else None
        self.stats: Counter[str] = Counter()  # translated / failed / skipped, per target entry

    def __repr__(self) -> str:
        return f"Translator(engine={self.name!r}, targets={self.targets})"

    def __call__(self, article: Mapping[str, Any], enriched: Mapping[str, Any]) -> dict:
        source = enriched.get("language")
        if not source or source == UND or source in self.targets:
            return {}
        title = str(article.get("title") or "")
        summary = lead(str(article.get("body") or ""), self.settings.summary_chars)
        return {target: self.translate(title, summary, source, target) for target in self.targets}

    def translate(self, title: str, summary: str, source: str, target: str) -> dict:
        entry: dict[str, Any] = {}
        try:
            entry["title"] = self._text(title, source, target)
            entry["summary"] = self._text(summary, source, target)
        except TranslationFailed as exc:
            entry["error"] = str(exc)
            self.stats["skipped" if exc.kind == CIRCUIT_OPEN else "failed"] += 1
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not block indexing either
            entry["error"] = self._redact(f"{type(exc).__name__}: {exc}")
            self.stats["failed"] += 1
            self._warn("internal", f"translation via {self.name} failed: {entry['error']}")
        else:
            self.stats["translated"] += 1
        entry.update(source=source, engine=self.name)
        return entry

    def _text(self, text: str, source: str, target: str) -> str:
        if not text.strip():
            return text
        if not self.breaker.allow():
            raise TranslationFailed(CIRCUIT_OPEN, kind=CIRCUIT_OPEN)
        try:
            result = self._with_retries(text, source, target)
        except TranslationFailed as exc:
            if exc.rejected:
                self.breaker.success()  # it answered promptly: the service is up
                self._warn(exc.kind, f"translation via {self.name} refused ({source}->{target}): {exc}")
            elif self.breaker.failure():
                self._warn(
                    CIRCUIT_OPEN,
                    (
                        f"translation via {self.name}: circuit open after {self.breaker.failures} "
                        f"consecutive failures (last: {exc}); skipping translation for "
                        f"{self.settings.breaker_reset_s:g}s"
                    ),
                )
            else:
                self._warn(exc.kind, f"translation via {self.name} failed: {exc}")
            raise
        if self.breaker.success():
            log.warning("translation via %s: trial call succeeded, circuit closed", self.name)
        return result

    def _with_retries(self, text: str, source: str, target: str) -> str:
        retrying = Retrying(
            stop=stop_after_attempt(1 + self.settings.retries),
            wait=wait_exponential(multiplier=BACKOFF_S, max=2),
            retry=retry_if_exception(lambda e: isinstance(e, TranslationFailed) and e.transient),
            reraise=True,
        )
        return retrying(self._attempt, text, source, target)

    def _attempt(self, text: str, source: str, target: str) -> str:
        try:
            result = call_with_deadline(self.engine.translate, (text, source, target), self.settings.timeout_s)
        except TimeoutError:
            raise TranslationFailed(f"timeout after {self.settings.timeout_s}s", kind="timeout") from None
        except TranslationFailed as exc:
            raise TranslationFailed(
                self._redact(str(exc)), kind=exc.kind, transient=exc.transient, rejected=exc.rejected
            ) from None
        except OSError as exc:  # a user engine's connection trouble: retried like a 5xx
            raise TranslationFailed(
                self._redact(f"{type(exc).__name__}: {exc}"), kind=type(exc).__name__, transient=True
            ) from None
        except Exception as exc:  # noqa: BLE001 - a user's translator may raise anything
            raise TranslationFailed(self._redact(f"{type(exc).__name__}: {exc}"), kind=type(exc).__name__) from None
        if not isinstance(result, str):
            raise TranslationFailed(f"bad response: {type(result).__name__}, not str", kind="bad response")
        return result

    def _redact(self, message: str) -> str:
        if self._secret:
            message = message.replace(self._secret, "***")
        return message[:MAX_ERROR_CHARS]

    def close(self) -> None:
        close = getattr(self.engine, "close", None)
        if callable(close):
            close()


# --- from settings ------------------------------------------------------------------------------


def load_engine(settings: TranslateSettings) -> tuple[Engine, str]:
    """The engine named by ``settings.backend`` and the name recorded as ``engine``."""
    if settings.backend == "libretranslate":
        return LibreTranslate(settings), LibreTranslate.name
    module_name, sep, attr = settings.backend.partition(":")
    if not sep:
        module_name, _, attr = settings.backend.rpartition(".")
    where = f"translate.backend {settings.backend!r}"
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except ImportError as exc:
        raise TranslatorConfigError(f"{where}: cannot import {module_name}: {exc}") from exc
    except AttributeError:
        raise TranslatorConfigError(f"{where}: {module_name} has no {attr}") from None
    if not callable(getattr(cls, "translate", None)):
        raise TranslatorConfigError(f"{where}: no translate(text, source, target) method")
    try:
        engine = cls(settings) if _takes_an_argument(cls) else cls()
    except Exception as exc:
        raise TranslatorConfigError(f"{where}: could not be created: {type(exc).__name__}: {exc}") from exc
    return engine, str(getattr(engine, "name", None) or settings.backend)


def _takes_an_argument(cls: Any) -> bool:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def make_translator(settings: TranslateSettings) -> Translator | None:
    """The configured Translator, or None for ``backend = "none"`` (or no targets)."""
    if settings.backend == "none" or not settings.targets:
        return None
    engine, name = load_engine(settings)
    translator = Translator(engine, settings, name=name)
    where = f"{name} at {engine.host}" if isinstance(engine, LibreTranslate) else name
    log.info(
        "translation via %s into %s (timeout %gs, %d retries, breaker %d failures / %gs)",
        where,
        ",".join(translator.targets),
        settings.timeout_s,
        settings.retries,
        settings.breaker_failures,
        settings.breaker_reset_s,
    )
    return translator
