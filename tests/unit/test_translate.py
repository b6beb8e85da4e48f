"""Translation hook: the libretranslate backend against a local stub of LibreTranslate's API, user
classes by dotted path, timeouts, bounded retries, the circuit breaker, and the API key kept secret.

No network and no real translator: ``LibreTranslateStub`` is a stub that only speaks the
``POST /translate`` part of LibreTranslate's API, on 127.0.0.1 at a random port.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from streams.enrich import Enricher
from streams.enrich.translate import (
    CircuitBreaker,
    Translator,
    TranslatorConfigError,
    lead,
    load_engine,
    make_translator,
)
from streams.settings import Settings, TranslateSettings

SECRET = "s3cret-KEY-4f9a"
NL = {"language": "nl"}


# --- the stub -------------------------------------------------------------------------------------


class LibreTranslateStub(ThreadingHTTPServer):
    """A stub of LibreTranslate's ``POST /translate`` (not LibreTranslate): answers
    ``{"translatedText": "[<target>] <q>"}``, records every request body, and can be told to be
    slow (``delay``), to fail (``status``, with LibreTranslate's ``{"error": ...}`` body) or to
    echo the request's api_key in its error (a server that leaks what it was sent)."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self.delay = 0.0
        self.status = 200
        self.error = "internal error"
        self.echo_key = False
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _StubHandler(BaseHTTPRequestHandler):
    server: LibreTranslateStub

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        stub = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with stub.lock:
            stub.requests.append(body)
            stub.paths.append(self.path)
            stub.content_types.append(self.headers.get("Content-Type", ""))
        if stub.delay:
            time.sleep(stub.delay)
        if stub.status == 200:
            answer = {"translatedText": f"[{body['target']}] {body['q']}"}
        else:
            error = stub.error + (f" (key {body.get('api_key')})" if stub.echo_key else "")
            answer = {"error": error}
        data = json.dumps(answer).encode()
        try:
            self.send_response(stub.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def stub():
    server = LibreTranslateStub()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def settings_for(stub: LibreTranslateStub | None, **overrides) -> TranslateSettings:
    values = {
        "backend": "libretranslate",
        "url": stub.url if stub else "http://127.0.0.1:9",
        "timeout_s": 2.0,
        "retries": 2,
        "breaker_failures": 5,
        "breaker_reset_s": 60.0,
    }
    return TranslateSettings(**(values | overrides))


def article(title="Poetin spreekt met Macron", body="Een lange tekst. Over de grens."):
    return {"id": "a1", "title": title, "body": body}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the libretranslate backend -------------------------------------------------------------------


def test_request_body_and_response(stub):
    translator = make_translator(settings_for(stub, api_key=SECRET))
    out = translator(article(), NL)
    assert out == {
        "en": {
            "title": "[en] Poetin spreekt met Macron",
            "summary": "[en] Een lange tekst. Over de grens.",
            "source": "nl",
            "engine": "libretranslate",
        }
    }
    assert stub.requests == [
        {"q": "Poetin spreekt met Macron", "source": "nl", "target": "en", "format": "text", "api_key": SECRET},
        {"q": "Een lange tekst. Over de grens.", "source": "nl", "target": "en", "format": "text", "api_key": SECRET},
    ]
    assert stub.paths == ["/translate", "/translate"]
    assert all(ct.startswith("application/json") for ct in stub.content_types)


def test_no_api_key_field_without_a_key_and_every_target(stub):
    translator = make_translator(settings_for(stub, url=stub.url + "/", targets=["en", "de"]))
    out = translator(article(body=""), NL)
    assert out["en"]["title"] == "[en] Poetin spreekt met Macron" and out["en"]["summary"] == ""
    assert out["de"]["title"] == "[de] Poetin spreekt met Macron"
    assert [r["target"] for r in stub.requests] == ["en", "de"]  # empty summary: no request
    assert all("api_key" not in r for r in stub.requests)
    assert stub.paths == ["/translate", "/translate"]


@pytest.mark.parametrize("language", ["en", "und", None, ""])
def test_target_language_and_und_untouched(stub, language):
    translator = make_translator(settings_for(stub))
    assert translator(article(), {"language": language}) == {}
    assert stub.requests == []


def test_an_article_in_any_target_language_is_untouched(stub):
    translator = make_translator(settings_for(stub, targets=["en", "fr"]))
    assert translator(article(), {"language": "fr"}) == {}
    assert stub.requests == []


def test_summary_is_the_lead_of_the_body(stub):
    body = "Eerste zin van het stuk. " * 40
    translator = make_translator(settings_for(stub, summary_chars=100))
    summary = translator(article(body=body), NL)["en"]["summary"]
    assert summary.startswith("[en] Eerste zin") and summary.endswith("stuk.")
    assert len(summary) <= len("[en] ") + 100
    assert stub.requests[1]["q"] == lead(body, 100)


# --- failures: timeouts, retries, dead hosts ------------------------------------------------------


def test_timeout_is_recorded_within_bounded_time_and_not_retried(stub):
    stub.delay = 1.5
    translator = make_translator(settings_for(stub, timeout_s=0.2, retries=2))
    started = time.monotonic()
    out = translator(article(), NL)
    took = time.monotonic() - started
    assert out == {"en": {"error": "timeout after 0.2s", "source": "nl", "engine": "libretranslate"}}
    assert took < 1.2, took  # well under the stub's 1.5 s
    # One request: a timeout is not retried, and the summary is not tried after the title failed.
    assert len(stub.requests) == 1


@pytest.mark.parametrize("retries", [0, 2])
def test_retries_are_bounded(stub, retries):
    stub.status, stub.error = 503, "overloaded"
    translator = make_translator(settings_for(stub, retries=retries))
    started = time.monotonic()
    out = translator(article(), NL)
    assert out["en"]["error"] == "HTTP 503: overloaded"
    assert "title" not in out["en"]
    assert len(stub.requests) == 1 + retries
    assert time.monotonic() - started < 2.0  # backoff 0.2 s, then 0.4 s


def test_client_error_is_not_retried_and_does_not_open_the_circuit(stub):
    stub.status, stub.error = 400, "nl is not supported"
    translator = make_translator(settings_for(stub, breaker_failures=2))
    outs = [translator(article(), NL) for _ in range(4)]
    assert all(o["en"]["error"] == "HTTP 400: nl is not supported" for o in outs)
    assert len(stub.requests) == 4  # no retries, and the breaker never skipped one
    assert translator.breaker.state == "closed"


def test_a_dead_host_fails_fast():
    port = free_port()  # nothing listens there: connection refused
    translator = make_translator(settings_for(None, url=f"http://127.0.0.1:{port}", retries=1))
    started = time.monotonic()
    out = translator(article(), NL)
    assert out["en"]["error"] == f"cannot connect to 127.0.0.1:{port}"
    assert time.monotonic() - started < 1.5


def test_partial_success_keeps_the_title(stub):
    translator = make_translator(settings_for(stub, retries=0))
    original = translator.engine.translate

    def title_only(text, source, target):
        if text.startswith("Een"):
            raise ValueError("summary too long")
        return original(text, source, target)

    translator.engine.translate = title_only
    out = translator(article(), NL)["en"]
    assert out["title"] == "[en] Poetin spreekt met Macron"
    assert out["error"] == "ValueError: summary too long" and "summary" not in out


# --- the circuit breaker --------------------------------------------------------------------------


def test_circuit_opens_skips_and_closes_after_a_successful_trial(stub):
    stub.status = 500
    translator = make_translator(settings_for(stub, retries=0, breaker_failures=3, breaker_reset_s=0.3))
    for _ in range(3):
        assert translator(article(), NL)["en"]["error"].startswith("HTTP 500")
    assert len(stub.requests) == 3 and translator.breaker.state == "open"

    started = time.monotonic()
    skipped = [translator(article(), NL) for _ in range(20)]
    assert time.monotonic() - started < 0.5  # skipped at once
    assert all(s["en"] == {"error": "circuit open", "source": "nl", "engine": "libretranslate"} for s in skipped)
    assert len(stub.requests) == 3  # nothing reached the stub while open
    assert translator.stats["skipped"] == 20

    time.sleep(0.35)  # reset time over: one trial goes through; it fails, so open again
    assert translator(article(), NL)["en"]["error"].startswith("HTTP 500")
    assert len(stub.requests) == 4
    assert translator(article(), NL)["en"]["error"] == "circuit open"
    assert len(stub.requests) == 4

    stub.status = 200
    time.sleep(0.35)  # a successful trial closes the circuit
    out = translator(article(), NL)["en"]
    assert out["title"] == "[en] Poetin spreekt met Macron" and "error" not in out
    assert translator.breaker.state == "closed"
    assert len(stub.requests) == 6  # the trial (title) and then the summary


def test_breaker_lets_one_trial_through_at_a_time():
    now = [0.0]
    breaker = CircuitBreaker(2, 10.0, clock=lambda: now[0])
    assert breaker.allow() and not breaker.failure()
    assert breaker.failure() and breaker.state == "open"
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.state == "half-open"
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # a second caller while the trial is in flight
    assert breaker.success() and breaker.state == "closed" and breaker.failures == 0


def test_a_timeout_storm_costs_breaker_failures_times_timeout_then_nothing(stub):
    stub.delay = 1.0
    translator = make_translator(settings_for(stub, timeout_s=0.1, breaker_failures=3))
    started = time.monotonic()
    outs = [translator(article(), NL) for _ in range(50)]
    took = time.monotonic() - started
    assert [o["en"]["error"] for o in outs[:3]] == ["timeout after 0.1s"] * 3
    assert {o["en"]["error"] for o in outs[3:]} == {"circuit open"}
    assert took < 1.5, took  # 3 timeouts of 0.1 s; without the breaker: 50 x 0.1 s
    assert len(stub.requests) == 3


# --- user classes ---------------------------------------------------------------------------------


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_engines.py").write_text(
        textwrap.dedent("""
        import time

        class Shouty:
            name = "shouty"

            def __init__(self, settings):
                self.settings = settings

            def translate(self, text, source, target):
                return f"{target}:{text.upper()}"

        class Plain:
            def translate(self, text, source, target):
                return text[::-1]

        class Hangs:
            def translate(self, text, source, target):
                time.sleep(5)
                return text

        class Broken:
            def translate(self, text, source, target):
                raise RuntimeError("model not loaded")

        class NoMethod:
            pass
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "my_engines"


@pytest.mark.parametrize("spec", ["my_engines:Shouty", "my_engines.Shouty"])
def test_user_class_by_dotted_path(user_module, spec):
    translator = make_translator(TranslateSettings(backend=spec, targets=["en"]))
    assert translator.engine.settings.backend == spec  # constructed with the settings
    out = translator(article(), NL)
    assert out["en"] == {
        "title": "en:POETIN SPREEKT MET MACRON",
        "summary": "en:EEN LANGE TEKST. OVER DE GRENS.",
        "source": "nl",
        "engine": "shouty",
    }


def test_user_class_without_constructor_arguments_or_name(user_module):
    translator = make_translator(TranslateSettings(backend="my_engines:Plain"))
    out = translator(article(title="abc"), NL)["en"]
    assert out["title"] == "cba" and out["engine"] == "my_engines:Plain"


def test_a_hanging_user_class_is_cut_off(user_module):
    translator = make_translator(TranslateSettings(backend="my_engines:Hangs", timeout_s=0.2))
    started = time.monotonic()
    assert translator(article(), NL)["en"]["error"] == "timeout after 0.2s"
    assert time.monotonic() - started < 2.0  # the class sleeps 5 s


def test_a_failing_user_class_is_recorded(user_module):
    translator = make_translator(TranslateSettings(backend="my_engines:Broken"))
    assert translator(article(), NL)["en"]["error"] == "RuntimeError: model not loaded"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("my_engines:Missing", "has no Missing"),
        ("no_such_module_xyz:Engine", "cannot import no_such_module_xyz"),
        ("my_engines:NoMethod", "no translate(text, source, target) method"),
    ],
)
def test_bad_backends_fail_at_start(user_module, spec, message):
    with pytest.raises(TranslatorConfigError, match=re.escape(message)):
        load_engine(TranslateSettings(backend=spec))


@pytest.mark.parametrize("backend", ["", "deepl please", "module", "a.b:"])
def test_settings_reject_a_backend_that_is_no_class_path(backend):
    with pytest.raises(ValidationError):
        TranslateSettings(backend=backend)


def test_none_backend_means_no_translator():
    assert make_translator(TranslateSettings()) is None
    assert make_translator(TranslateSettings(backend="libretranslate", targets=[])) is None
    assert Settings().translate.backend == "none"


# --- secrets and logs -----------------------------------------------------------------------------


def test_api_key_never_in_logs_errors_or_repr(stub, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("NEWSSTREAMS_TRANSLATE__API_KEY", SECRET)
    monkeypatch.setenv("NEWSSTREAMS_TRANSLATE__BACKEND", "libretranslate")
    monkeypatch.setenv("NEWSSTREAMS_TRANSLATE__URL", stub.url)
    settings = Settings()
    assert settings.translate.api_key.get_secret_value() == SECRET  # taken from the environment
    for text in (repr(settings), str(settings), repr(settings.translate), settings.model_dump_json()):
        assert SECRET not in text

    translator = make_translator(settings.translate.model_copy(update={"retries": 1, "breaker_failures": 2}))
    stub.status, stub.echo_key = 500, True  # a server that puts the key into its error message
    outs = [translator(article(), NL) for _ in range(3)]
    stub.status = 400
    translator.breaker.success()
    outs.append(translator(article(), NL))
    assert stub.requests and all(r["api_key"] == SECRET for r in stub.requests)
    assert "***" in outs[0]["en"]["error"]
    assert SECRET not in json.dumps(outs)
    assert SECRET not in repr(translator) and SECRET not in repr(translator.engine)
    assert caplog.records and SECRET not in caplog.text


def test_warnings_are_one_per_failure_kind_not_one_per_article(stub, caplog):
    caplog.set_level(logging.WARNING, logger="streams.enrich.translate")
    stub.status, stub.error = 400, "nl is not supported"
    translator = make_translator(settings_for(stub))
    for _ in range(30):
        translator(article(), NL)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "HTTP 400: nl is not supported" in warnings[0].getMessage()


def test_held_back_warnings_are_counted_in_the_next_one(caplog):
    caplog.set_level(logging.WARNING, logger="streams.enrich.translate")
    now = [0.0]

    class Down:
        def translate(self, text, source, target):
            raise ValueError("down")

    translator = Translator(Down(), TranslateSettings(breaker_failures=1000), clock=lambda: now[0])
    for _ in range(5):
        translator(article(), NL)
    now[0] = 61.0
    translator(article(), NL)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "4 more since the last such warning" in messages[1]


# --- lead summary ---------------------------------------------------------------------------------


def test_lead():
    assert lead("Kort.\n\n  Stuk.", 500) == "Kort. Stuk."
    # The only sentence end keeps less than half the budget: cut at a word instead.
    assert lead("Een zin. Nog een zin die langer is dan de rest.", 20) == "Een zin. Nog een zin…"
    assert lead("Eerste zin hier. Tweede zin.", 20) == "Eerste zin hier."
    assert lead("Eerste zin hier. Tweede zin.", 16) == "Eerste zin hier."  # ends exactly at the limit
    assert lead("abcdefghij", 4) == "abcd…"
    assert lead("iets", 0) == ""


# --- through the Enricher -------------------------------------------------------------------------


def test_enricher_end_to_end_with_the_stub(stub):
    settings = Settings(translate=settings_for(stub))
    enricher = Enricher.from_settings(settings)
    dutch = {
        "id": "nl-1",
        "title": "Poetin ontmoet Macron in Moskou",
        "body": "De Russische president Poetin heeft met zijn Franse evenknie Macron gesproken "
        "over de spanningen aan de grens met Oekraïne. Ze spraken zes uur met elkaar.",
        "language": None,
        "pipeline": {},
    }
    english = {
        "id": "en-1",
        "title": "Putin meets Macron in Moscow",
        "body": "The Russian president Putin met his French counterpart Macron to talk "
        "about the tensions on the border with Ukraine. They talked for six hours.",
        "language": None,
        "pipeline": {},
    }
    nl_doc, en_doc = (r.doc for r in enricher.enrich_batch([dutch, english]))
    assert nl_doc["language"] == "nl" and en_doc["language"] == "en"
    assert nl_doc["translations"]["en"]["title"] == "[en] Poetin ontmoet Macron in Moskou"
    assert nl_doc["translations"]["en"]["summary"].startswith("[en] De Russische president")
    assert nl_doc["translations"]["en"]["source"] == "nl"
    assert en_doc["translations"] == {}
    assert "Q7747" in nl_doc["entity_ids"]

    stub.delay = 1.0  # a slow translator: the document is still produced, with the error
    slow = Enricher(
        settings.enrich, gazetteer=enricher.gazetteer, translate=make_translator(settings_for(stub, timeout_s=0.1))
    )
    doc = slow.enrich(dutch)
    assert doc["translations"]["en"]["error"] == "timeout after 0.1s" and doc["entities"]
