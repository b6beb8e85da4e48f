"""A compatibility proxy for tests: lets the official Elasticsearch 8 client talk to OpenSearch.

This is not Elasticsearch and does not make OpenSearch one. It lets the tests run our
``ElasticsearchBackend`` (its client construction, request building, response unpacking and error
mapping) against the OpenSearch the test settings point at, because Elasticsearch itself is not
available where the tests run. What differs between the two engines is out of its reach.

The elasticsearch 8.x client refuses OpenSearch in two ways, and the proxy undoes exactly those:

- It sends ``Content-Type``/``Accept: application/vnd.elasticsearch+json; compatible-with=8``
  (``+x-ndjson`` for bulk); OpenSearch answers 406. The proxy forwards them as ``application/json``
  and ``application/x-ndjson``.
- It raises ``UnsupportedProductError`` on a 2xx answer without ``X-Elastic-Product: Elasticsearch``.
  The proxy adds that header to every answer, and answers with the compatibility media type when
  the request asked for it (as Elasticsearch 8 does).

The 8.x client does not look at the version number of ``GET /``, so that answer passes unchanged
(it still says "opensearch").

Tests can also make the proxy answer a request itself, with an error status or by closing the
connection (``fault``), to check how a backend maps errors an engine seldom produces on demand.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ES_COMPAT = "elasticsearch-compat"  # the test kind: our Elasticsearch backend through this proxy
COMPAT_MEDIA_TYPE = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+)\s*(?:;\s*compatible-with=\d+)?")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def plain_media_type(value: str) -> str:
    """``application/vnd.elasticsearch+json; compatible-with=8`` -> ``application/json`` (also in lists)."""
    return COMPAT_MEDIA_TYPE.sub(r"application/\1", value)


@dataclass(eq=False)
class Fault:
    """An answer the proxy gives itself instead of forwarding the request."""

    status: int | None  # None: close the connection without answering
    body: bytes = b""
    content_type: str | None = "application/json"
    method: str | None = None  # only requests with this method ...
    path: str | None = None  # ... and this regular expression found in the path (with query)
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or re.search(self.path, path))


@dataclass
class Exchange:
    """One request as the proxy saw it: for tests that check what was rewritten."""

    method: str
    path: str
    content_type: str | None  # as the client sent them
    accept: str | None
    forwarded_content_type: str | None = None  # as OpenSearch received them
    forwarded_accept: str | None = None
    status: int | None = None  # what the client got (None: connection closed)
    answered_content_type: str | None = None
    faulted: bool = False
    upstream_headers: dict[str, str] = field(default_factory=dict)


class EsCompatProxy:
    """``with EsCompatProxy("http://127.0.0.1:9200") as proxy:`` then point a client at ``proxy.url``."""

    def __init__(
        self,
        upstream: str,
        *,
        verify_certs: bool = True,
        timeout_s: float = 60.0,
        rewrite_media_types: bool = True,
        product_header: bool = True,
    ):
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"upstream must be an http(s) URL, not {upstream!r}")
        self.upstream = parts
        self.verify_certs = verify_certs
        self.timeout_s = timeout_s
        # Both on for the compatibility tests; off only to show what the client does without them.
        self.rewrite_media_types = rewrite_media_types
        self.product_header = product_header
        self.exchanges: list[Exchange] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self) -> EsCompatProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    # --- faults ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def fault(
        self,
        status: int | None,
        body: bytes | str = b"",
        *,
        content_type: str | None = "application/json",
        method: str | None = None,
        path: str | None = None,
        times: int = 1,
    ) -> Iterator[Fault]:
        """Answer the next ``times`` matching requests (see ``Fault``) itself while the block runs."""
        data = body.encode() if isinstance(body, str) else body
        f = Fault(status, data, content_type=content_type, method=method, path=path, times=times)
        with self._lock:
            self._faults.append(f)
        try:
            yield f
        finally:
            with self._lock:
                if f in self._faults:
                    self._faults.remove(f)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.times > 0 and f.matches(method, path):
                    f.times -= 1
                    return f
        return None

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self.upstream.hostname, self.upstream.port
        if self.upstream.scheme == "https":
            context = ssl.create_default_context()
            if not self.verify_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=context)
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _handler_for(proxy: EsCompatProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect
        upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def finish(self) -> None:
            if self.upstream is not None:
                self.upstream.close()
            super().finish()

        def _relay(self) -> None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.send_error(501, "the compatibility proxy reads Content-Length bodies only")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            exchange = Exchange(self.command, self.path, self.headers.get("Content-Type"), self.headers.get("Accept"))
            try:
                fault = proxy._take_fault(self.command, self.path)
                if fault is not None:
                    exchange.faulted = True
                    if fault.status is None:  # the connection drops before any answer
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    headers = {"Content-Type": fault.content_type} if fault.content_type else {}
                    self._answer(exchange, fault.status, headers, fault.body)
                else:
                    self._forward(exchange, body)
            finally:
                proxy._record(exchange)

        def _forward(self, exchange: Exchange, body: bytes) -> None:
            headers = {}
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() in ("host", "content-length"):
                    continue
                if proxy.rewrite_media_types and name.lower() in ("content-type", "accept"):
                    value = plain_media_type(value)
                headers[name] = value
            exchange.forwarded_content_type = _header(headers, "content-type")
            exchange.forwarded_accept = _header(headers, "accept")
            while True:
                fresh = self.upstream is None
                if fresh:
                    self.upstream = proxy._connect()
                try:
                    self.upstream.request(self.command, self.path, body=body or None, headers=headers)
                    resp = self.upstream.getresponse()
                    data = resp.read()
                    break
                except (OSError, http.client.HTTPException):
                    self.upstream.close()
                    self.upstream = None
                    if fresh:
                        # The engine is unreachable: close without answering, as a dead engine would.
                        self.close_connection = True
                        return
                    # A kept-alive connection the engine closed (it restarted): again, on a new one.
            answer = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            exchange.upstream_headers = dict(answer)
            self._answer(exchange, resp.status, answer, data)

        def _answer(self, exchange: Exchange, status: int, headers: dict[str, str], body: bytes) -> None:
            """Answer as Elasticsearch 8 would: with the product header and, when the request asked
            for the compatibility media type, in that type."""
            if proxy.product_header:
                headers["X-Elastic-Product"] = "Elasticsearch"
            ctype = next((k for k in headers if k.lower() == "content-type"), None)  # as spelled upstream
            accept = exchange.accept or ""
            if proxy.rewrite_media_types and ctype and COMPAT_MEDIA_TYPE.search(accept):
                m = re.match(r"application/(json|x-ndjson)\b", headers[ctype])
                if m:
                    headers[ctype] = f"application/vnd.elasticsearch+{m.group(1)};compatible-with=8"
            exchange.status = status
            exchange.answered_content_type = headers[ctype] if ctype else None

            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            if self.command == "HEAD":  # no body, but the length a GET would get
                self.send_header("Content-Length", _header(headers, "content-length") or "0")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay

    return Handler
