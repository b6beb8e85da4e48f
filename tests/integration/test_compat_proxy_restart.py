"""The compatibility proxy survives a restart of the engine behind it: a kept-alive upstream connection
the engine closed is reopened once (the fault tests restart the engine before the session's
Elasticsearch-kind fixtures tear down through the proxy). No stack needed: a stand-in engine."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from es_compat_proxy import EsCompatProxy


class _Engine(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the engine

    def log_message(self, format: str, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.open_connections.append(self.connection)  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        body = b'{"count": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Engine)
    server.daemon_threads = True
    server.open_connections = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def _stop(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    """As a killed engine: the listening socket and every kept-alive connection closed."""
    server.shutdown()
    thread.join()
    server.server_close()
    for conn in server.open_connections:  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()


def test_a_kept_alive_upstream_connection_closed_by_an_engine_restart_is_reopened() -> None:
    engine = _serve()
    port = engine[0].server_address[1]
    with EsCompatProxy(f"http://127.0.0.1:{port}") as proxy:
        client = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        client.request("GET", "/_count")
        assert client.getresponse().read() == b'{"count": 1}'

        _stop(*engine)  # the engine goes, and with it the proxy's upstream connection
        engine = _serve(port)
        try:
            client.request("GET", "/_count")  # the same client connection, so the same upstream one
            resp = client.getresponse()
            assert resp.status == 200 and resp.read() == b'{"count": 1}'
        finally:
            client.close()
            _stop(*engine)


def test_an_engine_that_is_down_still_gets_no_answer() -> None:
    server, thread = _serve()
    port = server.server_address[1]
    _stop(server, thread)
    with EsCompatProxy(f"http://127.0.0.1:{port}") as proxy:
        client = http.client.HTTPConnection("127.0.0.1", int(proxy.url.rsplit(":", 1)[1]), timeout=10)
        client.request("GET", "/_count")
        try:
            client.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):
            pass
        else:
            raise AssertionError("the proxy answered for an engine that is down")
        finally:
            client.close()
