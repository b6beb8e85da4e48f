"""`newsstreams stack up|down|start|stop|status|logs`: start, stop and inspect the local Kafka + OpenSearch.

State lives in ``stack.state_dir`` (default ``.stack/`` in a checkout; installed, under the user's
state directory): one log file and one data directory per service. Running services are found in
/proc, not in pid files. Jars live in ``stack.cache_dir`` and are shared by every checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from streams.ops.stack.errors import StackError
from streams.ops.stack.jars import ensure_jars
from streams.ops.stack.services import MARKER_PROP, Kafka, OpenSearch, Service
from streams.settings import StackSettings


@dataclass
class ServiceStatus:
    name: str
    state: str  # "up" | "starting" | "down"
    pid: int | None
    address: str
    rss_mb: float | None = None
    peak_mb: float | None = None


class Stack:
    def __init__(self, settings: StackSettings, say=print):
        self.settings = settings
        self.services: list[Service] = [Kafka(settings), OpenSearch(settings)]
        self.say = say
        # JVMs this object started. Their Popen handles answer "still running?" exactly, even in
        # the instant the java launcher re-executes itself and /proc/<pid>/cmdline reads empty.
        self._launched: dict[str, subprocess.Popen] = {}

    # -- processes ---------------------------------------------------------------------------
    def log_file(self, name: str) -> Path:
        return self.settings.state_dir / "logs" / f"{name}.log"

    def pids(self, svc: Service) -> list[int]:
        """Our running JVMs for ``svc``: found in /proc by their marker and home directory, so the
        answer holds even after a crash or a recycled pid."""
        marker, home = f"{MARKER_PROP}{svc.name}".encode(), str(svc.home).encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                args = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in args and any(home in arg for arg in args):
                found.append(int(entry.name))
        return found

    def pid(self, svc: Service) -> int | None:
        found = self.pids(svc)
        return found[0] if found else None

    # -- commands ----------------------------------------------------------------------------
    def up(self, names: list[str] | None = None) -> None:
        """Start the services (all, or those named) that are not running, and wait until each answers."""
        started = time.monotonic()
        wanted = self._select(names)
        pending = [svc for svc in wanted if not (self.pid(svc) and svc.ready())]
        if not pending:
            self.say(("stack already up: " if names is None else "already up: ") + self._where(wanted))
            return
        java = find_java(self.settings.java_home)
        launched: list[str] = []
        try:
            for svc in pending:
                if self.pid(svc) is None:
                    self._start(svc, java)
                    launched.append(svc.name)
            self._wait_ready(pending)
        except BaseException:  # a failed or interrupted start leaves nothing of ours running
            if launched:
                self.down(launched)
            raise
        what = "stack up" if names is None else ", ".join(svc.name for svc in pending) + " up"
        self.say(f"{what} in {time.monotonic() - started:.1f}s: {self._where(wanted)}")

    def start(self, name: str) -> None:
        """Start one service (``kafka`` or ``opensearch``) unless it runs, and wait until it answers."""
        self.up([name])

    def stop(self, name: str, *, kill: bool = False, timeout_s: float | None = None) -> None:
        """Stop one service: SIGTERM, then SIGKILL after ``timeout_s`` (default stack.stop_timeout_s);
        ``kill``: SIGKILL at once, as a crash would (no clean shutdown, no flushed state)."""
        self.down([name], kill=kill, timeout_s=timeout_s)

    def down(self, names: list[str] | None = None, *, kill: bool = False, timeout_s: float | None = None) -> None:
        """Stop the services (all, or those named)."""
        for svc in self._select(names):
            launched = self._launched.pop(svc.name, None)
            pids = set(self.pids(svc)) | ({launched.pid} if launched and launched.poll() is None else set())
            if not pids:
                self.say(f"{svc.name}: not running")
            for pid in sorted(pids):
                peak = _proc_mb(pid, "VmHWM")
                if kill:
                    seconds = self._kill(pid)
                    self.say(f"{svc.name}: killed (pid {pid}, SIGKILL) in {seconds:.1f}s; peak memory {peak:.0f} MB")
                else:
                    seconds = self._stop(pid, self.settings.stop_timeout_s if timeout_s is None else timeout_s)
                    self.say(f"{svc.name}: stopped (pid {pid}) in {seconds:.1f}s; peak memory {peak:.0f} MB")

    def status(self) -> list[ServiceStatus]:
        result = []
        for svc in self.services:
            pid = self.pid(svc)
            if pid is None:
                result.append(ServiceStatus(svc.name, "down", None, svc.address()))
                continue
            state = "up" if svc.ready() else "starting"
            result.append(
                ServiceStatus(svc.name, state, pid, svc.address(), _proc_mb(pid, "VmRSS"), _proc_mb(pid, "VmHWM"))
            )
        return result

    # -- internals ---------------------------------------------------------------------------
    def _select(self, names: list[str] | None) -> list[Service]:
        if names is None:
            return list(self.services)
        known = [svc.name for svc in self.services]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise StackError(f"unknown service {unknown[0]!r}: expected one of {', '.join(known)}")
        return [svc for svc in self.services if svc.name in names]

    def _where(self, services: list[Service] | None = None) -> str:
        label = {"kafka": "Kafka at {}", "opensearch": "OpenSearch at http://{}"}
        return ", ".join(label[svc.name].format(svc.address()) for svc in services or self.services)

    def _start(self, svc: Service, java: str) -> None:
        for label, port in svc.ports().items():
            if port_in_use(port):
                raise StackError(
                    f"{svc.name}: port {port} ({label}) on 127.0.0.1 is already taken by another program. "
                    f"Stop it, or choose other ports (NEWSSTREAMS_STACK__*_PORT), or use the running "
                    f"services directly (NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS / NEWSSTREAMS_SEARCH__URL)."
                )
        lib = ensure_jars(
            f"{svc.name}-{svc.artifacts()[0].rsplit(':', 1)[1]}",
            svc.artifacts(),
            self.settings.cache_dir / "jars",
            say=self.say,
        )
        svc.prepare(java, lib)
        log = self.log_file(svc.name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            # A session of its own: `down` signals the whole group, and Ctrl-C in the shell that
            # ran `up` does not take the services with it.
            proc = subprocess.Popen(
                svc.command(java, lib),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=svc.home,
                start_new_session=True,
            )
        self._launched[svc.name] = proc
        self.say(f"{svc.name}: starting (pid {proc.pid}), log {log}")

    def _wait_ready(self, services: list[Service]) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        waiting = list(services)
        while waiting:
            for svc in list(waiting):
                launched = self._launched.get(svc.name)
                if (launched.poll() is not None) if launched else self.pid(svc) is None:
                    raise StackError(
                        f"{svc.name} died during start. Last lines of "
                        f"{self.log_file(svc.name)}:\n{self.tail(svc.name, 25)}"
                    )
                if svc.ready():
                    self.say(f"{svc.name}: ready at {svc.address()}")
                    waiting.remove(svc)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(s.name for s in waiting)
                tails = "\n".join(f"--- {s.name} ---\n{self.tail(s.name, 15)}" for s in waiting)
                raise StackError(f"{names} not ready after {self.settings.start_timeout_s:.0f}s:\n{tails}")
            if waiting:
                time.sleep(0.5)

    def _stop(self, pid: int, timeout_s: float) -> float:
        started = time.monotonic()
        _signal_group(pid, signal.SIGTERM)
        deadline = started + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            self.say(f"pid {pid} ignored SIGTERM for {timeout_s:g}s: SIGKILL")
            return self._kill(pid, started)
        return time.monotonic() - started

    def _kill(self, pid: int, started: float | None = None) -> float:
        started = time.monotonic() if started is None else started
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        return time.monotonic() - started

    def tail(self, name: str, lines: int = 50) -> str:
        try:
            return "\n".join(self.log_file(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log yet)"


def find_java(java_home: Path | None) -> str:
    home = java_home or (Path(os.environ["JAVA_HOME"]) if os.environ.get("JAVA_HOME") else None)
    java = str(home / "bin" / "java") if home else shutil.which("java")
    if not java or not os.access(java, os.X_OK):
        raise StackError(
            "Java 17 or newer is needed for the local stack and was not found "
            "(install openjdk-17-jre-headless, or set JAVA_HOME)."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)', out)
    if not m or int(m.group(1)) < 17:
        raise StackError(f"Java 17 or newer is needed; {java} reports: {out.strip().splitlines()[0]}")
    return java


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # Our child may linger as a zombie until reaped; it no longer runs.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _proc_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
