"""Fixtures for integration tests against the real stack the settings point at (`make test` starts
the local one). An unreachable Kafka or search engine fails the tests; it never skips them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
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
    backend.ensure_index()
    try:
        yield backend
    finally:
        drop_alias(backend)
        backend.close()


@pytest.fixture(scope="session")
def backend(search_settings: SearchSettings) -> Iterator[SearchBackend]:
    """A backend on the session alias."""
    with _opened(search_settings) as b:
        yield b


@pytest.fixture
def fresh_backend(search_settings: SearchSettings) -> Iterator[SearchBackend]:
    """An empty index of its own (alias <session alias>-<hex>) for tests that write."""
    alias = f"{search_settings.alias}-{uuid.uuid4().hex[:6]}"
    with _opened(search_settings.model_copy(update={"alias": alias})) as b:
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
