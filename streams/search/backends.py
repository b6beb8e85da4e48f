"""Search engine access: one interface, an Elasticsearch 8.x and an OpenSearch backend.

Everything except client construction and unpacking the client's exceptions lives in ``_Backend``;
both clients accept the same ``body=`` calls.

Error contract (the index agent relies on it):
- ``TransientSearchError``: engine unreachable, timeout, 408/429/5xx for the request, or any bulk item
  failed with 429/5xx. Retry the whole batch later (writes are idempotent).
- ``DocError`` (returned by ``bulk_index``): a document the engine rejected for good (4xx other than
  429, e.g. mapper_parsing_exception). The other documents of the batch were indexed.
- ``SearchError``: anything else (bad request, auth, misconfiguration): an operator's fix. The index
  agent still retries a whole-request refusal (it keeps the batch until fixed); only per-document
  refusals go to the DLQ.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import elastic_transport
import elasticsearch
import elasticsearch.serializer
import opensearchpy

from streams.search import template
from streams.settings import SearchSettings, Settings, get_settings

log = logging.getLogger(__name__)

MAX_ALERTS = 10_000  # saved-search alerts per alerts index (one page of the engines' default window)


class SearchError(Exception):
    """A search-engine request failed; ``status`` is the HTTP status when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, error_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class TransientSearchError(SearchError):
    """Worth retrying later with backoff: unreachable, timeout, 408/429/5xx."""


@dataclass(frozen=True)
class DocError:
    doc_id: str
    status: int
    reason: str
    position: int = -1  # index of the document in the bulk request (ids may repeat or be numbers)


class SearchBackend(Protocol):
    alias: str

    def ensure_index(self) -> None: ...
    def bulk_index(self, docs: list[dict]) -> list[DocError]: ...
    def ensure_metrics_index(self) -> None: ...
    def write_metrics(self, docs: list[dict]) -> None: ...
    def get(self, doc_id: str) -> dict | None: ...
    def search(self, body: dict) -> dict: ...
    def msearch(self, bodies: list[dict]) -> list[dict]: ...
    def update_fields(self, updates: dict[str, dict]) -> list[DocError]: ...
    def count(self, query: dict | None = None) -> int: ...
    def refresh(self) -> None: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...
    # moving the alias to a new index (streams/ops/reindex.py)
    def put_template(self) -> None: ...
    def alias_indices(self) -> dict[str, dict]: ...
    def index_names(self) -> list[str]: ...
    def template_versions(self, indices: list[str]) -> dict[str, int | None]: ...
    def create_index(self, index: str) -> None: ...
    def update_aliases(self, actions: list[dict]) -> None: ...
    def start_reindex(self, body: dict) -> str: ...
    def task(self, task_id: str) -> dict: ...
    def refresh_index(self, index: str) -> None: ...
    def count_index(self, index: str, query: dict | None = None) -> int: ...
    def delete_index(self, index: str) -> None: ...
    # saved-search alerts (streams/alerts): plain indices named by settings.alerts
    def ensure_plain_index(self, index: str, mappings: dict) -> None: ...
    def put_alert(self, index: str, name: str, doc: dict) -> None: ...
    def delete_alert(self, index: str, name: str) -> bool: ...
    def list_alerts(self, index: str) -> list[dict]: ...
    def percolate(self, index: str, docs: list[dict]) -> list[tuple[dict, list[int]]]: ...
    def get_many(self, index: str, ids: list[str]) -> dict[str, dict]: ...
    def create_many(self, index: str, docs: dict[str, dict]) -> set[str]: ...
    def replace_if(self, index: str, doc_id: str, doc: dict, seq_no: int, primary_term: int) -> bool: ...
    def put_many(self, index: str, docs: dict[str, dict]) -> None: ...


def _is_transient_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def error_reason(error: Any) -> tuple[str | None, str]:
    """(type, readable reason) from an engine error object, including the first ``caused_by``."""
    if not isinstance(error, dict):
        return None, str(error)
    if isinstance(error.get("error"), (dict, str)):  # a whole response body
        error = error["error"]
        if not isinstance(error, dict):
            return None, str(error)
    etype = error.get("type")
    reason = f"{etype}: {error.get('reason')}" if etype else str(error.get("reason", error))
    cause = error.get("caused_by")
    if isinstance(cause, dict) and cause.get("reason"):
        reason += f" (caused by {cause.get('type')}: {cause['reason']})"
    return etype, reason


def parse_bulk_response(resp: dict) -> list[DocError]:
    """Per-document permanent errors; raises TransientSearchError if any item failed transiently."""
    if not resp.get("errors"):
        return []
    failed: list[DocError] = []
    transient: list[str] = []
    for position, item in enumerate(resp.get("items", [])):
        result = next(iter(item.values()))
        status = int(result.get("status", 0))
        if status < 300:
            continue
        etype, reason = error_reason(result.get("error"))
        if _is_transient_status(status):
            transient.append(f"{status} {reason}")
        elif etype == "index_not_found_exception":
            # The write alias is gone: not the document's fault, so no DocError (it would be DLQ'd).
            raise SearchError(f"write alias missing, call ensure_index(): {reason}", status=status, error_type=etype)
        else:
            failed.append(DocError(str(result.get("_id")), status, reason, position))
    if transient:
        raise TransientSearchError(
            f"bulk: {len(transient)} item(s) failed transiently, e.g. {transient[0]}",
            status=int(transient[0].split(" ", 1)[0]),
        )
    return failed


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password or parts.username:
        host = parts.hostname or ""
        netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _hosts(url: str) -> list[str]:
    return [u.strip() for u in url.split(",") if u.strip()]


class _Backend:
    """Shared logic; subclasses build ``self.client`` and unpack their client's exceptions."""

    name = "?"
    client_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, settings: SearchSettings):
        self.settings = settings
        self.alias = settings.alias
        self.client = self._make_client(settings)

    def __repr__(self) -> str:  # never the credentials
        return f"<{type(self).__name__} {redact_url(self.settings.url)} alias={self.alias}>"

    # --- subclass hooks -------------------------------------------------------------------------
    def _make_client(self, settings: SearchSettings) -> Any:
        raise NotImplementedError

    def _unpack(self, exc: BaseException) -> tuple[int | None, Any, bool]:
        """(HTTP status or None, error body or message, transient-if-no-status)."""
        raise NotImplementedError

    # --- error translation ----------------------------------------------------------------------
    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        try:
            yield
        except self.client_errors as exc:
            raise self._translate(exc, action) from exc

    def _where(self) -> str:
        return f"{self.name} at {redact_url(self.settings.url)}"

    def _body(self, resp: Any, action: str) -> dict:
        """The answer as a dict (the elasticsearch client wraps it, opensearch-py does not)."""
        body = getattr(resp, "body", resp)
        if not isinstance(body, dict):  # a 2xx answer that is not a JSON object
            raise SearchError(f"{action}: {self._where()} answered no JSON object: {str(body)[:200]!r}")
        return body

    def _translate(self, exc: BaseException, action: str) -> SearchError:
        status, error, transient = self._unpack(exc)
        where = self._where()
        if status is None:  # no HTTP answer: network, timeout, TLS, serialization
            if transient:
                return TransientSearchError(f"{action}: cannot reach {where}: {error}")
            return SearchError(f"{action}: {where}: {error}")
        etype, reason = error_reason(error)
        cls = TransientSearchError if _is_transient_status(status) else SearchError
        return cls(f"{action}: {where} answered {status}: {reason}", status=status, error_type=etype)

    # --- the interface ---------------------------------------------------------------------------
    def ensure_index(self) -> None:
        self._ensure_write_alias(self.alias, template.index_template(self.settings))
        self._warn_if_outdated()

    def _warn_if_outdated(self) -> None:
        """A warning when the alias reads an index made from an older template (it still works, with
        the search features of that version) and what moves it."""
        try:
            versions = self.template_versions(list(self.alias_indices()))
        except SearchError:
            return  # only a warning: never the reason setup fails
        old = {index: v for index, v in versions.items() if v != template.TEMPLATE_VERSION}
        if old:
            log.warning(
                "alias %s reads %s, made from an older index template (current: version %d); "
                "`newsstreams reindex` moves it to the current one without downtime",
                self.alias,
                ", ".join(f"{index} (version {v})" for index, v in sorted(old.items())),
                template.TEMPLATE_VERSION,
            )

    def ensure_metrics_index(self) -> None:
        """Template + first index + write alias for the pipeline metrics (idempotent)."""
        alias = self.settings.metrics_alias
        if alias == self.alias:  # one template would replace the other's mapping
            raise SearchError(f"search.metrics_alias must differ from search.alias ({alias!r})")
        self._ensure_write_alias(alias, template.metrics_index_template(self.settings))

    def _ensure_write_alias(self, alias: str, template_body: dict) -> None:
        self._put_template(alias, template_body)
        if self._alias_exists(alias):
            return
        index = template.first_index(alias)
        try:
            with self._call("create index"):
                self.client.indices.create(index=index, body={"aliases": {alias: {"is_write_index": True}}})
            log.info("created index %s behind write alias %s", index, alias)
        except SearchError as exc:
            # Another worker won the race: fine if it created the alias too.
            if exc.error_type != "resource_already_exists_exception" or not self._alias_exists(alias):
                raise

    def _put_template(self, alias: str, template_body: dict) -> None:
        with self._call("put index template"):
            self.client.indices.put_index_template(name=template.template_name(alias), body=template_body)

    def _alias_exists(self, alias: str | None = None) -> bool:
        with self._call("check alias"):
            return bool(self.client.indices.exists_alias(name=alias or self.alias))

    # --- moving the alias to a new index (streams/ops/reindex.py) ------------------------------------
    def put_template(self) -> None:
        """The articles template of this version (new indices of the pattern get it)."""
        self._put_template(self.alias, template.index_template(self.settings))

    def alias_indices(self) -> dict[str, dict]:
        """Index -> the alias's properties on it (``is_write_index``, ``filter``); {} without the alias."""
        try:
            with self._call("get alias"):
                resp = self._body(self.client.indices.get_alias(name=self.alias), "get alias")
        except SearchError as exc:
            if exc.status == 404:
                return {}
            raise
        return {index: dict((info.get("aliases") or {}).get(self.alias) or {}) for index, info in resp.items()}

    def index_names(self) -> list[str]:
        """Every index of the alias's pattern (``<alias>-*``), in the alias or not."""
        with self._call("list indices"):
            resp = self._body(self.client.indices.get_alias(index=template.index_pattern(self.alias)), "list indices")
        return sorted(resp)

    def template_versions(self, indices: list[str]) -> dict[str, int | None]:
        """Index -> the template version its mapping was made from (None: not made by us)."""
        with self._call("get mapping"):
            resp = self._body(self.client.indices.get_mapping(index=",".join(indices)), "get mapping")
        versions: dict[str, int | None] = {}
        for index, info in resp.items():
            version = (info.get("mappings") or {}).get("_meta", {}).get("template_version")
            versions[index] = version if isinstance(version, int) else None
        return versions

    def create_index(self, index: str) -> None:
        with self._call("create index"):
            self.client.indices.create(index=index)

    def update_aliases(self, actions: list[dict]) -> None:
        """All the actions at once: readers see the alias before or after, never in between."""
        with self._call("update aliases"):
            self.client.indices.update_aliases(body={"actions": actions})

    def start_reindex(self, body: dict) -> str:
        """Starts ``_reindex`` as a task on the engine; returns its id (see ``task``)."""
        with self._call("reindex"):
            resp = self._body(self.client.reindex(body=body, wait_for_completion=False, refresh=True), "reindex")
        if not isinstance(resp.get("task"), str):
            raise SearchError(f"reindex: no task id in the answer: {str(resp)[:200]}")
        return resp["task"]

    def task(self, task_id: str) -> dict:
        """The task's state: ``completed``, ``task.status`` (total, created, ...), ``response``, ``error``."""
        with self._call("get task"), warnings.catch_warnings():
            # The elasticsearch client warns that the tasks API is a "technical preview"; it is what
            # Elasticsearch documents for following a reindex.
            warnings.filterwarnings("ignore", message=".*technical preview.*")
            return self._body(self.client.tasks.get(task_id=task_id), "get task")

    def refresh_index(self, index: str) -> None:
        with self._call("refresh"):
            self.client.indices.refresh(index=index)

    def count_index(self, index: str, query: dict | None = None) -> int:
        body = {"query": query} if query else None
        with self._call("count"):
            return int(self._body(self.client.count(index=index, body=body), "count")["count"])

    def delete_index(self, index: str) -> None:
        with self._call("delete index"):
            self.client.indices.delete(index=index)

    # The document as the engine gets it (the enriched article + the template's derived fields).
    document = staticmethod(template.index_document)

    def bulk_index(self, docs: list[dict]) -> list[DocError]:
        if not docs:
            return []
        operations: list[dict] = []
        for doc in docs:
            if not doc.get("id"):
                raise ValueError("every document needs an 'id' (it becomes _id)")
            # "index" overwrites: re-delivering the same article leaves one document.
            operations += [{"index": {"_id": str(doc["id"])}}, self.document(doc)]
        with self._call("bulk"):
            # require_alias: never auto-create a plain index named like the alias.
            resp = self.client.bulk(body=operations, index=self.alias, require_alias=True)
        return parse_bulk_response(self._body(resp, "bulk"))

    def write_metrics(self, docs: list[dict]) -> None:
        """Append metrics documents to the metrics alias in one bulk request.

        No ids: every document is a new sample (append-only). Raises TransientSearchError (engine
        away, 429/5xx) or SearchError (a document rejected, alias missing, ...): the caller drops
        or keeps the samples; nothing here retries, so a metrics write never holds up the pipeline.
        After an error part of the batch may be stored already: sending it again can count twice.
        """
        if not docs:
            return
        alias = self.settings.metrics_alias
        operations: list[dict] = []
        for doc in docs:
            operations += [{"index": {}}, doc]
        with self._call("bulk metrics"):
            resp = self.client.bulk(body=operations, index=alias, require_alias=True)
        try:
            rejected = parse_bulk_response(self._body(resp, "bulk metrics"))
        except TransientSearchError:
            raise
        except SearchError as exc:  # index_not_found: say which alias and what creates it
            raise SearchError(
                f"bulk metrics: alias {alias!r} missing ({exc.error_type}), call ensure_metrics_index()",
                status=exc.status,
                error_type=exc.error_type,
            ) from exc
        if rejected:  # a collector/mapping mismatch, not a per-article problem: no DLQ for metrics
            raise SearchError(
                f"bulk metrics: {len(rejected)} of {len(docs)} document(s) rejected, "
                f"e.g. {rejected[0].status} {rejected[0].reason}",
                status=rejected[0].status,
            )

    def get(self, doc_id: str) -> dict | None:
        """The document as enriched (without the fields the indexer derives), or None."""
        try:
            with self._call("get"):
                source = self._body(self.client.get(index=self.alias, id=doc_id), "get")["_source"]
                return template.stored_document(source)
        except SearchError as exc:
            if exc.status == 404:
                return None
            if exc.status == 400 and exc.error_type == "illegal_argument_exception":
                return self._get_by_search(doc_id)  # alias spans several indices (during a rebuild)
            raise

    def _get_by_search(self, doc_id: str) -> dict | None:
        hits = self.search({"query": {"ids": {"values": [doc_id]}}, "size": 1})["hits"]["hits"]
        return template.stored_document(hits[0]["_source"]) if hits else None

    def search(self, body: dict) -> dict:
        with self._call("search"):
            return self._body(self.client.search(index=self.alias, body=body), "search")

    def msearch(self, bodies: list[dict]) -> list[dict]:
        """One response per body, in order, in one round trip; a failed search raises like ``search``."""
        if not bodies:
            return []
        lines: list[dict] = []
        for body in bodies:
            lines += [{}, body]
        with self._call("msearch"):
            responses = self._body(self.client.msearch(index=self.alias, body=lines), "msearch")["responses"]
        for resp in responses:
            if "error" in resp:
                status = resp.get("status")
                error_type, reason = error_reason(resp["error"])
                cls = TransientSearchError if isinstance(status, int) and _is_transient_status(status) else SearchError
                raise cls(f"msearch: {self._where()}: {reason}", status=status, error_type=error_type)
        return responses

    def update_fields(self, updates: dict[str, dict]) -> list[DocError]:
        """Set ``fields`` on the documents with these ids (bulk partial updates); refusals come back."""
        if not updates:
            return []
        operations: list[dict] = []
        for doc_id, fields in updates.items():
            operations += [{"update": {"_id": str(doc_id)}}, {"doc": fields}]
        with self._call("bulk update"):
            resp = self.client.bulk(body=operations, index=self.alias, require_alias=True)
        return parse_bulk_response(self._body(resp, "bulk update"))

    def count(self, query: dict | None = None) -> int:
        body = {"query": query} if query else None
        with self._call("count"):
            return int(self._body(self.client.count(index=self.alias, body=body), "count")["count"])

    def refresh(self) -> None:
        with self._call("refresh"):
            self.client.indices.refresh(index=self.alias)

    def ping(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:  # noqa: BLE001 - ping answers a question; it never raises
            return False

    def close(self) -> None:
        self.client.close()

    # --- saved-search alerts (streams/alerts): thin calls on plain indices ------------------------
    def ensure_plain_index(self, index: str, mappings: dict) -> None:
        """Create ``index`` with ``mappings``, or add properties new since it was created (idempotent)."""
        with self._call("check index"):
            exists = bool(self.client.indices.exists(index=index))
        if not exists:
            try:
                with self._call("create index"):
                    self.client.indices.create(index=index, body={"mappings": mappings})
                log.info("created index %s", index)
                return
            except SearchError as exc:
                if exc.error_type != "resource_already_exists_exception":  # else another worker won the race
                    raise
        with self._call("put mapping"):
            self.client.indices.put_mapping(index=index, body=mappings)

    def put_alert(self, index: str, name: str, doc: dict) -> None:
        """Store (or replace) an alert; refreshed, so the next percolation and listing see it."""
        with self._call("put alert"):
            self.client.index(index=index, id=name, body=doc, refresh=True)

    def delete_alert(self, index: str, name: str) -> bool:
        """False if there was no such alert."""
        try:
            with self._call("delete alert"):
                self.client.delete(index=index, id=name, refresh=True)
        except SearchError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def list_alerts(self, index: str) -> list[dict]:
        body = {"query": {"match_all": {}}, "size": MAX_ALERTS, "sort": [{"name": "asc"}]}
        with self._call("list alerts"):
            resp = self._body(self.client.search(index=index, body=body), "list alerts")
        return [h["_source"] for h in resp["hits"]["hits"]]

    def percolate(self, index: str, docs: list[dict]) -> list[tuple[dict, list[int]]]:
        """Every alert that matches one of ``docs`` (as indexed), with the positions of those it
        matches: one request for the whole batch."""
        if not docs:
            return []
        body = {
            "query": {"percolate": {"field": "query", "documents": [self.document(d) for d in docs]}},
            "size": MAX_ALERTS,
            "_source": ["name", "webhook"],
        }
        with self._call("percolate"):
            resp = self._body(self.client.search(index=index, body=body), "percolate")
        matches = []
        for hit in resp["hits"]["hits"]:
            # One document: the engines may leave the slot out.
            slots = (hit.get("fields") or {}).get("_percolator_document_slot", [0] if len(docs) == 1 else [])
            matches.append((hit["_source"], [int(s) for s in slots]))
        return matches

    def get_many(self, index: str, ids: list[str]) -> dict[str, dict]:
        """id -> {"_source", "_seq_no", "_primary_term"} of those that exist (real-time: no refresh needed)."""
        if not ids:
            return {}
        with self._call("mget"):
            resp = self._body(self.client.mget(index=index, body={"ids": ids}), "mget")
        return {d["_id"]: d for d in resp["docs"] if d.get("found")}

    def create_many(self, index: str, docs: dict[str, dict]) -> set[str]:
        """Create each document unless its id exists; the ids this call created. Creation is atomic
        per id: of two callers creating the same id, exactly one gets it."""
        if not docs:
            return set()
        operations: list[dict] = []
        for doc_id, doc in docs.items():
            operations += [{"create": {"_id": doc_id}}, doc]
        with self._call("bulk create"):
            resp = self._body(self.client.bulk(body=operations, index=index), "bulk create")
        created, failed = set(), []
        for item in resp.get("items", []):
            result = item["create"]
            if result.get("status") in (200, 201):
                created.add(result["_id"])
            elif result.get("status") != 409:  # 409: exists already
                failed.append(result)
        if failed:
            status = int(failed[0].get("status", 0))
            cls = TransientSearchError if _is_transient_status(status) else SearchError
            raise cls(f"bulk create in {index}: {error_reason(failed[0].get('error'))[1]}", status=status)
        return created

    def replace_if(self, index: str, doc_id: str, doc: dict, seq_no: int, primary_term: int) -> bool:
        """Replace the document only if it is still the version read (compare and set); False if not."""
        try:
            with self._call("replace"):
                self.client.index(index=index, id=doc_id, body=doc, if_seq_no=seq_no, if_primary_term=primary_term)
        except SearchError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def put_many(self, index: str, docs: dict[str, dict]) -> None:
        """Write (overwrite) the documents; raises if any was not written."""
        if not docs:
            return
        operations: list[dict] = []
        for doc_id, doc in docs.items():
            operations += [{"index": {"_id": doc_id}}, doc]
        with self._call("bulk"):
            resp = self._body(self.client.bulk(body=operations, index=index), "bulk")
        rejected = parse_bulk_response(resp)
        if rejected:
            raise SearchError(f"bulk in {index}: {rejected[0].status} {rejected[0].reason}", status=rejected[0].status)


class _TolerantJsonSerializer(elasticsearch.serializer.JsonSerializer):
    """JSON; an answer that is not JSON stays text instead of raising SerializationError.

    The elasticsearch client parses an answer's body before it looks at the status, so a 503 from a
    gateway in front of the engine, with a text body under a JSON (or no) content type, would lose
    its status and look permanent. opensearch-py keeps the status and the text; so do we."""

    def loads(self, data: bytes) -> Any:
        try:
            return super().loads(data)
        except elastic_transport.SerializationError:
            return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


class _TolerantTextSerializer(elasticsearch.serializer.TextSerializer):
    """Any other application/* answer (application/octet-stream, ...) as text, for the same reason."""

    def loads(self, data: bytes) -> str:
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


class ElasticsearchBackend(_Backend):
    name = "Elasticsearch"
    client_errors = (elasticsearch.ApiError, elastic_transport.TransportError)

    def _make_client(self, s: SearchSettings) -> Any:
        kwargs: dict[str, Any] = {}
        if s.api_key is not None:
            kwargs["api_key"] = s.api_key.get_secret_value()
        elif s.username:
            kwargs["basic_auth"] = (s.username, s.password.get_secret_value() if s.password else "")
        if not s.verify_certs:
            kwargs.update(verify_certs=False, ssl_show_warn=False)
        # No client retries: the caller retries whole batches with backoff.
        return elasticsearch.Elasticsearch(
            _hosts(s.url),
            request_timeout=s.timeout_s,
            max_retries=0,
            retry_on_timeout=False,
            # Also used for application/vnd.elasticsearch+json (the client maps it).
            serializers={"application/json": _TolerantJsonSerializer(), "application/*": _TolerantTextSerializer()},
            **kwargs,
        )

    def _unpack(self, exc: BaseException) -> tuple[int | None, Any, bool]:
        t = elastic_transport
        if isinstance(exc, elasticsearch.UnsupportedProductError):
            return None, f"{exc} (is search.backend right? this is not Elasticsearch)", False
        if isinstance(exc, elasticsearch.ApiError):
            error = exc.body if exc.body else exc.message
            if exc.meta.status == 406:  # OpenSearch refuses the ES 8 compatibility media type
                error = f"{error_reason(error)[1]} (is search.backend right? this may be OpenSearch)"
            return exc.meta.status, error, False
        transient = isinstance(exc, (t.ConnectionError, t.ConnectionTimeout)) and not isinstance(exc, t.TlsError)
        return None, str(exc), transient


class OpenSearchBackend(_Backend):
    name = "OpenSearch"
    client_errors = (opensearchpy.OpenSearchException,)

    def _make_client(self, s: SearchSettings) -> Any:
        kwargs: dict[str, Any] = {}
        if s.api_key is not None:
            # opensearch-py has no api_key option; send the header the way Elasticsearch expects it.
            kwargs["headers"] = {"Authorization": f"ApiKey {s.api_key.get_secret_value()}"}
        elif s.username:
            kwargs["http_auth"] = (s.username, s.password.get_secret_value() if s.password else "")
        if not s.verify_certs:
            kwargs.update(verify_certs=False, ssl_show_warn=False)
        return opensearchpy.OpenSearch(
            _hosts(s.url), timeout=s.timeout_s, max_retries=0, retry_on_timeout=False, **kwargs
        )

    def _unpack(self, exc: BaseException) -> tuple[int | None, Any, bool]:
        o = opensearchpy
        if isinstance(exc, o.TransportError) and isinstance(exc.status_code, int):
            return exc.status_code, exc.info if isinstance(exc.info, dict) else exc.error, False
        transient = isinstance(exc, o.ConnectionError) and not isinstance(exc, o.SSLError)
        return None, str(exc.info if isinstance(exc, o.TransportError) else exc), transient


def make_backend(settings: SearchSettings) -> SearchBackend:
    if settings.backend == "elasticsearch":
        return ElasticsearchBackend(settings)
    if settings.backend == "opensearch":
        return OpenSearchBackend(settings)
    raise ValueError(f"unknown search backend {settings.backend!r}")


@contextmanager
def using_backend(
    backend: SearchBackend | None, settings: SearchSettings | Settings | None = None
) -> Iterator[SearchBackend]:
    """``backend`` as given, or one made from ``settings`` (search or whole settings; default: the
    settings in force) and closed afterwards: the rule of the query functions' ``backend=`` argument."""
    if backend is not None:
        yield backend
        return
    if isinstance(settings, Settings):
        settings = settings.search
    own = make_backend(settings or get_settings().search)
    try:
        yield own
    finally:
        own.close()
