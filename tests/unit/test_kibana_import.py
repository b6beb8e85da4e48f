"""`newsstreams kibana import` against a STUB of the saved-objects import endpoint.

Kibana and OpenSearch Dashboards cannot run here. ``SavedObjectsImportStub`` is a small local HTTP server
that records every request and answers the way Kibana's ``POST /api/saved_objects/_import`` does
(``success``, ``successCount``, ``successResults`` with ``overwrite: true`` for ids it has seen before,
or ``errors``). It checks nothing by itself: the tests assert the exact requests the command sends and
what it prints. It is not Kibana: that the objects themselves are valid is test_saved_objects.py's job.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.common import app
from streams.ops import dashboards
from streams.settings import config_dir, get_settings

KIBANA_NDJSON = config_dir() / "kibana" / "newsstreams.ndjson"
OSD_NDJSON = config_dir() / "opensearch-dashboards" / "newsstreams.ndjson"
PASSWORD = "s3cr3t-Pa55word"
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def uploaded_files(self) -> dict[str, tuple[str, bytes]]:
        """Multipart form fields -> (filename, content), parsed by the standard library's email parser."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        assert message.is_multipart()
        return {
            part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
            for part in message.iter_parts()
        }


class SavedObjectsImportStub:
    """A stub of Kibana's / OpenSearch Dashboards' saved-objects import endpoint (not Kibana)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.known: set[tuple[str, str]] = set()  # what a real import would have stored
        self.reply: tuple[int, dict] | None = None  # a canned answer instead of the normal one
        self.replies: list[tuple[int, dict]] = []  # canned answers for the next requests, one each
        # id -> the id Kibana gives its copy, as when the id already exists in another space
        self.destination_ids: dict[str, str] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                request = Request(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                stub.requests.append(request)
                canned = stub.replies.pop(0) if stub.replies else stub.reply
                status, body = canned or (200, stub.answer(request))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, request: Request) -> dict:
        _, content = request.uploaded_files()["file"]
        results = []
        for line in content.decode().splitlines():
            obj = json.loads(line)
            key = (obj["type"], obj["id"])
            result = {"type": obj["type"], "id": obj["id"], "meta": {"title": obj["attributes"]["title"]}}
            if key in self.known:
                result["overwrite"] = True
            if obj["id"] in self.destination_ids:
                result["destinationId"] = self.destination_ids[obj["id"]]
            self.known.add(key)
            results.append(result)
        return {"success": True, "successCount": len(results), "successResults": results, "warnings": []}


@pytest.fixture
def stub() -> Iterator[SavedObjectsImportStub]:
    s = SavedObjectsImportStub()
    s.thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A proxy from the environment would send the requests for 127.0.0.1 elsewhere.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("URL", "USERNAME", "PASSWORD", "API_KEY", "SPACE"):
        monkeypatch.delenv(f"NEWSSTREAMS_KIBANA__{name}", raising=False)
    monkeypatch.delenv("NEWSSTREAMS_SEARCH__ALIAS", raising=False)
    monkeypatch.delenv("NEWSSTREAMS_SEARCH__METRICS_ALIAS", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between retries, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(dashboards, "_sleep", waited.append)
    return waited


def run(*args: str):
    get_settings.cache_clear()  # settings from the environment of this test
    return CliRunner().invoke(app, ["kibana", "import", *args])


def ndjson_ids(path: Path) -> list[tuple[str, str]]:
    return [(o["type"], o["id"]) for o in map(json.loads, path.read_text().splitlines())]


# --- the requests -------------------------------------------------------------------------------------
def test_kibana_default_space(stub: SavedObjectsImportStub) -> None:
    result = run("--url", stub.url)
    assert result.exit_code == 0, result.output

    [request] = stub.requests
    assert request.method == "POST"
    assert request.path == "/api/saved_objects/_import?overwrite=true"
    assert request.headers["kbn-xsrf"] == "true"
    assert "osd-xsrf" not in request.headers
    assert "authorization" not in request.headers
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    files = request.uploaded_files()
    assert list(files) == ["file"]
    assert files["file"] == ("newsstreams.ndjson", KIBANA_NDJSON.read_bytes())  # the file, byte for byte


def test_kibana_space_from_option_and_from_settings(
    stub: SavedObjectsImportStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("--url", stub.url, "--space", "ops team").exit_code == 0
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__SPACE", "news")
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__URL", stub.url)
    assert run().exit_code == 0
    assert run("--space", "default").exit_code == 0  # the default space has no /s/ prefix
    assert [r.path for r in stub.requests] == [
        "/s/ops%20team/api/saved_objects/_import?overwrite=true",
        "/s/news/api/saved_objects/_import?overwrite=true",
        "/api/saved_objects/_import?overwrite=true",
    ]


@pytest.mark.parametrize("flavour", [["--opensearch-dashboards"], ["--flavour", "opensearch-dashboards"]])
def test_opensearch_dashboards(stub: SavedObjectsImportStub, flavour: list[str]) -> None:
    result = run(*flavour, "--url", stub.url)
    assert result.exit_code == 0, result.output
    [request] = stub.requests
    assert request.path == "/api/saved_objects/_import?overwrite=true"
    assert request.headers["osd-xsrf"] == "true"
    assert "kbn-xsrf" not in request.headers
    assert request.uploaded_files()["file"] == ("newsstreams.ndjson", OSD_NDJSON.read_bytes())
    assert "OpenSearch Dashboards at " + stub.url in result.stdout


def test_opensearch_dashboards_has_no_spaces(stub: SavedObjectsImportStub) -> None:
    result = run("--opensearch-dashboards", "--url", stub.url, "--space", "ops")
    assert result.exit_code == 2
    assert "no spaces" in result.stderr
    assert stub.requests == []


def test_basic_auth_from_settings_never_printed(stub: SavedObjectsImportStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__USERNAME", "elastic")
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__PASSWORD", PASSWORD)
    result = run("--url", stub.url)
    assert result.exit_code == 0, result.output
    expected = base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    assert stub.requests[0].headers["authorization"] == f"Basic {expected}"
    assert PASSWORD not in result.output and expected not in result.output


def test_api_key_wins_and_is_never_printed(stub: SavedObjectsImportStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__USERNAME", "elastic")
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__PASSWORD", PASSWORD)
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__API_KEY", API_KEY)
    result = run("--url", stub.url)
    assert result.exit_code == 0, result.output
    assert stub.requests[0].headers["authorization"] == f"ApiKey {API_KEY}"
    assert API_KEY not in result.output and PASSWORD not in result.output


def test_credentials_in_the_url_become_basic_auth_and_are_not_printed(stub: SavedObjectsImportStub) -> None:
    with_credentials = stub.url.replace("http://", f"http://elastic:{PASSWORD}@")
    result = run("--url", with_credentials)
    assert result.exit_code == 0, result.output
    expected = base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    assert stub.requests[0].headers["authorization"] == f"Basic {expected}"
    assert PASSWORD not in result.output
    assert stub.url in result.stdout


def test_data_views_follow_the_configured_aliases(
    stub: SavedObjectsImportStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSSTREAMS_SEARCH__ALIAS", "news")
    monkeypatch.setenv("NEWSSTREAMS_SEARCH__METRICS_ALIAS", "news-metrics")
    assert run("--url", stub.url).exit_code == 0
    _, content = stub.requests[0].uploaded_files()["file"]
    sent = [json.loads(line) for line in content.decode().splitlines()]
    original = [json.loads(line) for line in KIBANA_NDJSON.read_text().splitlines()]
    titles = {o["id"]: o["attributes"]["title"] for o in sent if o["type"] == "index-pattern"}
    assert titles == {
        "newsstreams-articles": "news",
        "newsstreams-articles-indexed": "news",
        "newsstreams-metrics": "news-metrics",
    }
    assert [o for o in sent if o["type"] != "index-pattern"] == [o for o in original if o["type"] != "index-pattern"]


# --- what it prints -----------------------------------------------------------------------------------
def test_summary_created_then_overwritten(stub: SavedObjectsImportStub) -> None:
    first, second = run("--url", stub.url), run("--url", stub.url)
    assert first.exit_code == second.exit_code == 0
    ids = ndjson_ids(KIBANA_NDJSON)
    assert f"Kibana at {stub.url}, space 'default': {len(ids)} saved object(s) from {KIBANA_NDJSON}" in first.stdout
    for obj_type, obj_id in ids:
        assert any(line.split()[:3] == ["created", obj_type, obj_id] for line in first.stdout.splitlines())
        assert any(line.split()[:3] == ["overwritten", obj_type, obj_id] for line in second.stdout.splitlines())
    assert f"dashboard News: {stub.url}/app/dashboards#/view/newsstreams-dashboard-news" in first.stdout
    assert f"dashboard Pipeline: {stub.url}/app/dashboards#/view/newsstreams-dashboard-pipeline" in first.stdout
    # Same request both times: the import is idempotent by overwrite, not by the command remembering.
    assert stub.requests[0].uploaded_files() == stub.requests[1].uploaded_files()


def test_dashboard_links_carry_the_space(stub: SavedObjectsImportStub) -> None:
    result = run("--url", stub.url + "/", "--space", "ops")
    assert f"dashboard News: {stub.url}/s/ops/app/dashboards#/view/newsstreams-dashboard-news" in result.stdout


def test_dashboard_links_use_the_ids_kibana_gave_the_copies(stub: SavedObjectsImportStub) -> None:
    # The ids already exist in another space: Kibana stores this space's copies under new ids.
    new_id = "5b0c2e4a-93d1-4c55-b1de-7e1f4c9a0d21"
    stub.destination_ids = {"newsstreams-dashboard-news": new_id}
    result = run("--url", stub.url, "--space", "ops")
    assert result.exit_code == 0, result.output
    links = {line.split(":", 1)[0]: line for line in result.stdout.splitlines() if line.startswith("dashboard ")}
    assert links["dashboard News"].endswith(f"{stub.url}/s/ops/app/dashboards#/view/{new_id}")
    assert links["dashboard Pipeline"].endswith("/s/ops/app/dashboards#/view/newsstreams-dashboard-pipeline")
    assert any(
        line.split()[:5] == ["created", "dashboard", "newsstreams-dashboard-news", "as", new_id]
        for line in result.stdout.splitlines()
    ), result.stdout


# --- failures -----------------------------------------------------------------------------------------
def test_import_errors_exit_non_zero_and_are_shown(stub: SavedObjectsImportStub) -> None:
    stub.reply = (
        200,
        {
            "success": False,
            "successCount": 1,
            "successResults": [{"type": "index-pattern", "id": "newsstreams-metrics", "meta": {"title": "m"}}],
            "errors": [
                {
                    "id": "newsstreams-vis-lag",
                    "type": "visualization",
                    "meta": {"title": "Consumer lag per partition"},
                    "error": {
                        "type": "missing_references",
                        "references": [{"type": "index-pattern", "id": "newsstreams-metrics-x"}],
                    },
                },
                {
                    "id": "newsstreams-dashboard-news",
                    "type": "dashboard",
                    "title": "News",
                    "error": {"type": "unknown", "message": "Document has a newer version", "statusCode": 400},
                },
            ],
        },
    )
    result = run("--url", stub.url)
    assert result.exit_code == 1
    assert "Kibana imported 1 object(s) and rejected 2" in result.stderr
    assert (
        "visualization newsstreams-vis-lag (Consumer lag per partition): missing references: "
        "index-pattern/newsstreams-metrics-x"
    ) in result.stderr
    assert "dashboard newsstreams-dashboard-news (News): unknown: Document has a newer version" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "status, body, expected",
    [
        (
            401,
            {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception] unable to authenticate"},
            "answered 401: [security_exception] unable to authenticate (set NEWSSTREAMS_KIBANA__USERNAME",
        ),
        (
            400,
            {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension .txt"},
            "answered 400: Invalid file extension .txt",
        ),
        (404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}, "does the space 'nope' exist?"),
    ],
)
def test_http_errors(stub: SavedObjectsImportStub, monkeypatch: pytest.MonkeyPatch, status, body, expected) -> None:
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__PASSWORD", PASSWORD)
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__USERNAME", "elastic")
    stub.reply = (status, body)
    result = run("--url", stub.url, *(["--space", "nope"] if status == 404 else []))
    assert result.exit_code == 1
    assert expected in result.stderr
    assert PASSWORD not in result.output and "Traceback" not in result.output


def test_unreachable_url_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("NEWSSTREAMS_KIBANA__PASSWORD", PASSWORD)
    result = run("--url", f"http://elastic:{PASSWORD}@127.0.0.1:{port}")
    assert result.exit_code == 2
    assert f"cannot reach Kibana at http://127.0.0.1:{port}" in result.stderr
    assert "NEWSSTREAMS_KIBANA__URL" in result.stderr
    assert "Traceback" not in result.output and PASSWORD not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_file(stub: SavedObjectsImportStub, tmp_path: Path) -> None:
    result = run("--url", stub.url, "--file", str(tmp_path / "nope.ndjson"))
    assert result.exit_code == 1
    assert "cannot read" in result.stderr and stub.requests == []


# --- retries (the docker-compose `dashboards` services use them) ----------------------------------------
STARTING = (503, {"statusCode": 503, "error": "Service Unavailable", "message": "Kibana server is not ready yet"})


def test_a_transient_answer_is_retried_with_backoff(stub: SavedObjectsImportStub, sleeps: list[float]) -> None:
    stub.replies = [STARTING, STARTING]
    result = run("--url", stub.url, "--retries", "3")
    assert result.exit_code == 0, result.output
    assert len(stub.requests) == 3
    assert stub.requests[0].uploaded_files() == stub.requests[2].uploaded_files()
    assert sleeps == [2.0, 4.0]
    assert "answered 503: Kibana server is not ready yet; attempt 2 of 4 in 2 s" in result.stderr
    assert "attempt 3 of 4 in 4 s" in result.stderr
    assert "dashboard News: " in result.stdout


def test_retries_run_out(stub: SavedObjectsImportStub, sleeps: list[float]) -> None:
    stub.reply = STARTING
    result = run("--url", stub.url, "--retries", "2")
    assert result.exit_code == 1
    assert len(stub.requests) == 3 and sleeps == [2.0, 4.0]
    assert "answered 503" in result.stderr


def test_no_answer_is_retried(sleeps: list[float]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run("--url", f"http://127.0.0.1:{port}", "--retries", "6")
    assert result.exit_code == 2
    assert sleeps == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert result.stderr.count(f"cannot reach Kibana at http://127.0.0.1:{port}") == 7


@pytest.mark.parametrize(
    "reply",
    [
        (400, {"statusCode": 400, "error": "Bad Request", "message": "Invalid file extension .txt"}),
        (401, {"statusCode": 401, "error": "Unauthorized", "message": "unable to authenticate"}),
        (
            200,
            {
                "success": False,
                "successCount": 0,
                "errors": [{"id": "x", "type": "dashboard", "error": {"type": "unknown", "message": "bad"}}],
            },
        ),
    ],
)
def test_refusals_are_not_retried(stub: SavedObjectsImportStub, sleeps: list[float], reply) -> None:
    stub.reply = reply
    result = run("--url", stub.url, "--retries", "5")
    assert result.exit_code == 1
    assert len(stub.requests) == 1 and sleeps == []
    assert "retrying" not in result.stderr


def test_no_retries_by_default(stub: SavedObjectsImportStub, sleeps: list[float]) -> None:
    stub.reply = STARTING
    assert run("--url", stub.url).exit_code == 1
    assert len(stub.requests) == 1 and sleeps == []
