"""Load the saved objects (data views, visualizations, saved search, dashboards) into Kibana or
OpenSearch Dashboards through their saved-objects import API.

- Kibana:                POST {url}[/s/{space}]/api/saved_objects/_import?overwrite=true, kbn-xsrf: true
- OpenSearch Dashboards: POST {url}/api/saved_objects/_import?overwrite=true, osd-xsrf: true
Both take the NDJSON file as the multipart field ``file``. ``overwrite=true`` makes a re-import replace
the objects with the same ids: importing twice leaves one copy.

With ``retries``, a failure that may pass (no answer, or 429/5xx: Kibana still starting, Elasticsearch
busy) is tried again after 2, 4, 8, 16 and then every 30 seconds; a refusal (4xx, rejected objects) is not.

Plain urllib, no extra dependency. Credentials (basic auth or an API key) go into the Authorization
header only; messages show the URL with any user:password removed.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from streams.settings import KibanaSettings, SearchSettings, config_dir


@dataclass(frozen=True)
class Product:
    name: str
    xsrf_header: str
    saved_objects: str  # the NDJSON, relative to the configuration directory
    has_spaces: bool

    @property
    def default_file(self) -> Path:
        return config_dir() / self.saved_objects


KIBANA = Product("Kibana", "kbn-xsrf", "kibana/newsstreams.ndjson", True)
OPENSEARCH_DASHBOARDS = Product("OpenSearch Dashboards", "osd-xsrf", "opensearch-dashboards/newsstreams.ndjson", False)
PRODUCTS = {"kibana": KIBANA, "opensearch-dashboards": OPENSEARCH_DASHBOARDS}  # by the CLI's --flavour


class ImportFailed(Exception):
    """The import did not happen or not completely; ``errors`` are the per-object errors, if any.
    ``transient``: the same request may succeed later (no answer, 429, 5xx)."""

    def __init__(
        self,
        message: str,
        errors: list[dict] | None = None,
        imported: list[Imported] | None = None,
        transient: bool = False,
    ):
        super().__init__(message)
        self.errors = errors or []
        self.imported = imported or []
        self.transient = transient


class Unreachable(ImportFailed):
    """No HTTP answer at all: wrong URL, not started yet, network."""

    def __init__(self, message: str):
        super().__init__(message, transient=True)


TRANSIENT_STATUS = {429, 500, 502, 503, 504}
RETRY_FIRST_DELAY_S = 2.0
RETRY_MAX_DELAY_S = 30.0


def retry_delays(retries: int) -> list[float]:
    """Seconds to wait before each of ``retries`` further attempts: 2, 4, 8, 16, 30, 30, ..."""
    return [min(RETRY_FIRST_DELAY_S * 2**n, RETRY_MAX_DELAY_S) for n in range(retries)]


def _sleep(seconds: float) -> None:  # the tests replace it
    time.sleep(seconds)


@dataclass(frozen=True)
class Imported:
    type: str
    id: str
    title: str
    overwritten: bool  # the response says so for objects that existed; absent means newly created
    # Kibana's id for the stored object when it differs from the file's: the same id already exists in
    # another space, so the copy in this one got a new id.
    destination_id: str | None = None

    @property
    def stored_id(self) -> str:
        return self.destination_id or self.id


@dataclass
class ImportReport:
    product: Product
    url: str  # without credentials
    space: str | None
    file: Path
    imported: list[Imported] = field(default_factory=list)
    warnings: list[Any] = field(default_factory=list)

    def dashboard_links(self) -> list[tuple[str, str]]:
        prefix = f"/s/{quote(self.space, safe='')}" if self.space and self.space != "default" else ""
        return [
            (o.title, f"{self.url}{prefix}/app/dashboards#/view/{quote(o.stored_id, safe='')}")
            for o in self.imported
            if o.type == "dashboard"
        ]


def import_path(product: Product, space: str | None) -> str:
    # The default space has no /s/ prefix; OpenSearch Dashboards has no spaces at all.
    prefix = f"/s/{quote(space, safe='')}" if product.has_spaces and space and space != "default" else ""
    return f"{prefix}/api/saved_objects/_import?overwrite=true"


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(URL without user:password, the credentials if the URL carried any)."""
    parts = urlsplit(url.rstrip("/"))
    if not parts.username:
        return urlunsplit(parts), None
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), (parts.username, parts.password or "")


def auth_headers(settings: KibanaSettings, url_credentials: tuple[str, str] | None = None) -> dict[str, str]:
    if settings.api_key is not None:  # Kibana: the encoded API key (base64 of id:api_key)
        return {"Authorization": f"ApiKey {settings.api_key.get_secret_value()}"}
    user_pass = None
    if settings.username:
        user_pass = (settings.username, settings.password.get_secret_value() if settings.password else "")
    elif url_credentials:
        user_pass = url_credentials
    if user_pass is None:
        return {}
    token = base64.b64encode(f"{user_pass[0]}:{user_pass[1]}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the one field ``file``; (body, Content-Type)."""
    boundary = f"newsstreams-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/ndjson\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def retitle_data_views(content: bytes, search: SearchSettings) -> bytes:
    """Point the data views at the configured aliases when they differ from the defaults the files were
    written for ("articles", "newsstreams-metrics"). Unchanged bytes otherwise."""
    defaults = SearchSettings()
    renames = {
        old: new
        for old, new in ((defaults.alias, search.alias), (defaults.metrics_alias, search.metrics_alias))
        if old != new
    }
    if not renames:
        return content
    lines = []
    for line in content.decode("utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            if obj.get("type") == "index-pattern" and obj["attributes"].get("title") in renames:
                obj["attributes"]["title"] = renames[obj["attributes"]["title"]]
                line = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def import_saved_objects(
    settings: KibanaSettings,
    product: Product,
    *,
    search: SearchSettings | None = None,
    url: str | None = None,
    space: str | None = None,
    file: Path | None = None,
    retries: int = 0,
    on_retry: Callable[[ImportFailed, int, float], None] | None = None,
) -> ImportReport:
    """Import ``file`` (default: the product's NDJSON in config_dir()). Raises ImportFailed/Unreachable
    once a failure is not transient or ``retries`` further attempts have failed too; before each retry
    ``on_retry(failure, attempt that failed, seconds until the next)``."""
    delays = retry_delays(retries)
    attempt = 0
    while True:
        attempt += 1
        try:
            return _import_once(settings, product, search=search, url=url, space=space, file=file)
        except ImportFailed as exc:
            if not exc.transient or attempt > len(delays):
                raise
            if on_retry is not None:
                on_retry(exc, attempt, delays[attempt - 1])
            _sleep(delays[attempt - 1])


def _import_once(
    settings: KibanaSettings,
    product: Product,
    *,
    search: SearchSettings | None,
    url: str | None,
    space: str | None,
    file: Path | None,
) -> ImportReport:
    base, url_credentials = split_credentials(url or settings.url)
    space = (space or settings.space) if product.has_spaces else None
    path = file or product.default_file
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    if search is not None:
        content = retitle_data_views(content, search)
    body, content_type = multipart(path.name if path.suffix == ".ndjson" else "newsstreams.ndjson", content)
    headers = {
        product.xsrf_header: "true",
        "Content-Type": content_type,
        "Accept": "application/json",
        **auth_headers(settings, url_credentials),
    }
    request = urllib.request.Request(base + import_path(product, space), data=body, headers=headers, method="POST")
    status, payload = _send(request, settings, product, base)
    report = ImportReport(product, base, space, path)
    if status != 200 or not isinstance(payload, dict):
        raise ImportFailed(_http_failure(status, payload, product, base, space), transient=status in TRANSIENT_STATUS)
    report.imported = [
        Imported(
            r.get("type", "?"),
            r.get("id", "?"),
            (r.get("meta") or {}).get("title") or "",
            bool(r.get("overwrite")),
            r.get("destinationId") or None,
        )
        for r in payload.get("successResults") or []
    ]
    report.warnings = payload.get("warnings") or []
    if not payload.get("success") or payload.get("errors"):
        errors = payload.get("errors") or []
        raise ImportFailed(
            f"{product.name} imported {payload.get('successCount', 0)} object(s) and rejected {len(errors)}",
            errors=errors,
            imported=report.imported,
        )
    return report


def _send(request: urllib.request.Request, settings: KibanaSettings, product: Product, base: str) -> tuple[int, Any]:
    context = None
    if request.full_url.startswith("https:") and not settings.verify_certs:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_s, context=context) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:  # an answer, with an error status
        status, raw = exc.code, exc.read()
    except urllib.error.URLError as exc:
        raise Unreachable(f"cannot reach {product.name} at {base}: {exc.reason}") from None
    except (TimeoutError, ConnectionError, HTTPException, OSError) as exc:
        raise Unreachable(f"cannot reach {product.name} at {base}: {exc or type(exc).__name__}") from None
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return status, raw[:200].decode("utf-8", "replace")


def _http_failure(status: int, payload: Any, product: Product, base: str, space: str | None) -> str:
    detail = payload.get("message") or payload.get("error") if isinstance(payload, dict) else payload
    message = f"{product.name} at {base} answered {status}" + (f": {detail}" if detail else "")
    if status == 401:
        message += " (set NEWSSTREAMS_KIBANA__USERNAME and __PASSWORD, or __API_KEY)"
    elif status == 403:
        message += " (the user may not manage saved objects)"
    elif status == 404 and space:
        message += f" (does the space {space!r} exist? is this {product.name}?)"
    elif status in (400, 404, 405) and product is KIBANA:
        message += " (is this Kibana? for OpenSearch Dashboards use --opensearch-dashboards)"
    elif status in (400, 404, 405):
        message += " (is this OpenSearch Dashboards?)"
    return message


def describe_error(error: dict) -> str:
    """One line for an entry of the response's ``errors``."""
    title = error.get("title") or (error.get("meta") or {}).get("title") or ""
    what = f"{error.get('type', '?')} {error.get('id', '?')}" + (f" ({title})" if title else "")
    err = error.get("error") or {}
    kind = err.get("type", "error")
    if kind == "missing_references":
        refs = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in err.get("references", []))
        return f"{what}: missing references: {refs}"
    if kind == "conflict" and err.get("destinationId"):
        return f"{what}: conflict with existing {err['destinationId']}"
    detail = err.get("message") or err.get("error") or ""
    return f"{what}: {kind}" + (f": {detail}" if detail else "")
