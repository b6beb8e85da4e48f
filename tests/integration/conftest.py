"""Fixtures for integration tests against the real stack the settings point at (`make test` starts
the local one). An unreachable Kafka or search engine fails the tests; it never skips them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from es_compat_proxy import ES_COMPAT, EsCompatProxy
from harness import Pipeline, drop_alias
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from streams.search import SearchBackend, make_backend
from streams.settings import KafkaSettings, SearchSettings, Settings


@pytest.fixture(scope="session")
def search_settings() -> SearchSettings:
    """Search settings with an alias of its own for this test session: articles-test-<hex>."""
    base = Settings().search
    return base.model_copy(update={"alias": f"articles-test-{uuid.uuid4().hex[:8]}"})


# --- which client: the configured one, and our Elasticsearch backend through the compatibility proxy ---


def search_kinds() -> list[str]:
    """The configured backend and, on OpenSearch, also ES_COMPAT: our Elasticsearch backend (the
    official elasticsearch 8 client) talking to that OpenSearch through es_compat_proxy.py. That
    checks our client code for Elasticsearch, not Elasticsearch itself."""
    configured = Settings().search.backend
    return [configured, ES_COMPAT] if configured == "opensearch" else [configured]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "search_kinds: run each test that uses search_kind once per search_kinds()")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("search_kinds") and "search_kind" in metafunc.fixturenames:
        metafunc.parametrize("search_kind", search_kinds(), indirect=True)


@pytest.fixture(scope="session")
def search_kind(request: pytest.FixtureRequest, search_settings: SearchSettings) -> str:
    """The configured backend unless a test module marked search_kinds asks for each in turn."""
    return getattr(request, "param", search_settings.backend)


@pytest.fixture(scope="session")
def es_compat_proxy(search_settings: SearchSettings) -> Iterator[EsCompatProxy]:
    """The compatibility proxy in front of the configured engine (see es_compat_proxy.py)."""
    upstream = search_settings.url.split(",")[0].strip()
    with EsCompatProxy(upstream, verify_certs=search_settings.verify_certs) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def kind_settings(search_kind: str, search_settings: SearchSettings, request: pytest.FixtureRequest) -> SearchSettings:
    """The session's search settings for ``search_kind``."""
    if search_kind != ES_COMPAT:
        return search_settings
    proxy: EsCompatProxy = request.getfixturevalue("es_compat_proxy")
    return search_settings.model_copy(update={"backend": "elasticsearch", "url": proxy.url})


@contextlib.contextmanager
def _opened(settings: SearchSettings) -> Iterator[SearchBackend]:
    """A backend with its index created; its indices and template are dropped afterwards."""
    backend = make_backend(settings)
    if not backend.ping():
        backend.close()
        pytest.fail(
            f"search engine ({settings.backend}) not reachable at {settings.url}: start it "
            "(newsstreams stack up) or point NEWSSTREAMS_SEARCH__URL at one",
            pytrace=False,
        )
    try:
        backend.ensure_index()  # inside: a half-done setup is cleaned up too
        yield backend
    finally:
        drop_alias(backend)
        backend.close()


@pytest.fixture(scope="session")
def backend(kind_settings: SearchSettings) -> Iterator[SearchBackend]:
    """A backend on the session alias."""
    with _opened(kind_settings) as b:
        yield b


@pytest.fixture
def fresh_backend(kind_settings: SearchSettings) -> Iterator[SearchBackend]:
    """An empty index of its own (alias <session alias>-<hex>) for tests that write."""
    alias = f"{kind_settings.alias}-{uuid.uuid4().hex[:6]}"
    with _opened(kind_settings.model_copy(update={"alias": alias})) as b:
        yield b


@pytest.fixture
def make_search_settings(search_settings: SearchSettings) -> Callable[..., SearchSettings]:
    """Copies of the session settings with overrides, e.g. make_search_settings(url=...)."""
    return lambda **update: search_settings.model_copy(update=update)


# --- the whole pipeline: a real worker process on topics, group and alias of its own -------------------


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    p = Pipeline(tmp_path)
    try:
        p.setup()
        yield p
    finally:
        p.close()


# --- Kafka ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kafka() -> KafkaSettings:
    return Settings().kafka


@pytest.fixture(scope="session")
def admin(kafka: KafkaSettings) -> Iterator[KafkaAdminClient]:
    try:
        client = KafkaAdminClient(
            bootstrap_servers=kafka.bootstrap_servers, bootstrap_timeout_ms=10_000, client_id="newsstreams-test-admin"
        )
    except Exception as exc:  # noqa: BLE001 - any failure here means "no broker"
        pytest.fail(
            f"Kafka is not reachable at {kafka.bootstrap_servers} ({exc!r}); start it "
            "(newsstreams stack up) or set NEWSSTREAMS_KAFKA__BOOTSTRAP_SERVERS",
            pytrace=False,
        )
    yield client
    client.close()


@pytest.fixture
def make_topic(admin: KafkaAdminClient) -> Iterator[Callable[..., str]]:
    """make_topic(prefix, partitions=3) creates a topic with a unique name; all are deleted afterwards."""
    created: list[str] = []

    def make(prefix: str, partitions: int = 3) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:12]}"
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        return name

    yield make
    if created:
        admin.delete_topics(created)


# --- fault tests (test_chaos.py) ------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``chaos`` SIGKILL workers and the stack's services: they run after every other test."""
    items.sort(key=lambda item: item.get_closest_marker("chaos") is not None)  # stable: order kept otherwise


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    from faults import REPORTS

    if REPORTS:
        terminalreporter.section("fault test figures")
        for line in REPORTS:
            terminalreporter.write_line(line)
