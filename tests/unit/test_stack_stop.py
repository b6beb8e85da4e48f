"""`Stack.stop` / `newsstreams stack stop|start` on stand-in processes: the same marker and home
directory in their command line as a service JVM, so no Java is needed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.ops.stack import Stack, StackError
from streams.ops.stack.services import MARKER_PROP
from streams.settings import Settings

IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
OBEYS_SIGTERM = "import time; time.sleep(120)"


@pytest.fixture
def stack(tmp_path: Path):
    settings = Settings().stack.model_copy(update={"state_dir": tmp_path / "stack", "stop_timeout_s": 30.0})
    said: list[str] = []
    stack = Stack(settings, say=said.append)
    stack.said = said  # type: ignore[attr-defined]
    started: list[subprocess.Popen] = []

    def fake(name: str, code: str) -> subprocess.Popen:
        home = next(svc.home for svc in stack.services if svc.name == name)
        proc = subprocess.Popen([sys.executable, "-c", code, f"{MARKER_PROP}{name}", str(home)], start_new_session=True)
        started.append(proc)
        deadline = time.monotonic() + 10
        while stack.pid(next(s for s in stack.services if s.name == name)) is None:
            assert time.monotonic() < deadline, "stand-in process not found in /proc"
            time.sleep(0.05)
        time.sleep(0.3)  # its signal handler is installed
        return proc

    stack.fake = fake  # type: ignore[attr-defined]
    yield stack
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_kill_is_immediate_even_for_a_process_ignoring_sigterm(stack) -> None:
    proc = stack.fake("kafka", IGNORES_SIGTERM)
    other = stack.fake("opensearch", OBEYS_SIGTERM)
    started = time.monotonic()
    stack.stop("kafka", kill=True)
    assert time.monotonic() - started < 5
    assert proc.wait(5) == -9
    assert other.poll() is None  # only the named service
    assert any("kafka: killed" in m and "SIGKILL" in m for m in stack.said), stack.said


def test_stop_sends_sigterm_then_sigkill_after_the_timeout(stack) -> None:
    obeys = stack.fake("opensearch", OBEYS_SIGTERM)
    stack.stop("opensearch", timeout_s=5)
    assert obeys.wait(5) == -15
    ignores = stack.fake("kafka", IGNORES_SIGTERM)
    started = time.monotonic()
    stack.stop("kafka", timeout_s=1.5)
    assert 1.5 <= time.monotonic() - started < 10
    assert ignores.wait(5) == -9
    assert any("ignored SIGTERM for 1.5s: SIGKILL" in m for m in stack.said), stack.said


def test_stop_of_a_service_not_running_says_so(stack) -> None:
    stack.stop("kafka")
    assert stack.said == ["kafka: not running"]


def test_unknown_service_is_refused(stack) -> None:
    with pytest.raises(StackError, match="unknown service 'zookeeper'"):
        stack.stop("zookeeper")
    with pytest.raises(StackError, match="unknown service 'zookeeper'"):
        stack.start("zookeeper")


def test_start_of_a_running_service_does_nothing(stack, monkeypatch) -> None:
    stack.fake("kafka", OBEYS_SIGTERM)
    monkeypatch.setattr(type(stack.services[0]), "ready", lambda self: True)
    stack.start("kafka")
    assert stack.said[-1].startswith("already up: Kafka at 127.0.0.1:"), stack.said


@pytest.mark.parametrize("command", ["start", "stop", "logs"])
def test_cli_refuses_an_unknown_service(command: str) -> None:
    result = CliRunner().invoke(app, ["stack", command, "zookeeper"])
    assert result.exit_code == 2, result.output  # a usage error
    assert "'zookeeper' is not one of 'kafka'" in " ".join(result.output.split()), result.output
