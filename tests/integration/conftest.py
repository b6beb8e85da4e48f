"""Fixtures for integration tests against the real stack (search engine; Kafka fixtures come later).

The engine comes from the settings (``NEWSSTREAMS_SEARCH__URL`` etc.). An unreachable engine fails the
tests; it never skips them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

import pytest

from streams.search import SearchBackend, make_backend, template
from streams.settings import SearchSettings, Settings


@pytest.fixture(scope="session")
def search_settings() -> SearchSettings:
    """Search settings with an alias of its own for this test session: articles-test-<hex>."""
    base = Settings().search
    return base.model_copy(update={"alias": f"articles-test-{uuid.uuid4().hex[:8]}"})


def _drop(backend: SearchBackend) -> None:
    client = backend.client  # type: ignore[attr-defined]
    # Explicit names: Elasticsearch 8 refuses wildcard deletes by default.
    resp = client.indices.get(index=template.index_pattern(backend.alias))
    names = list(getattr(resp, "body", resp))
    if names:
        client.indices.delete(index=",".join(names))
    with contextlib.suppress(Exception):  # absent if ensure_index never ran
        client.indices.delete_index_template(name=template.template_name(backend.alias))


def _open(settings: SearchSettings) -> SearchBackend:
    backend = make_backend(settings)
    if not backend.ping():
        backend.close()
        pytest.fail(
            f"search engine ({settings.backend}) not reachable at {settings.url}: start it "
            "(newsstreams stack up) or point NEWSSTREAMS_SEARCH__URL at one",
            pytrace=False,
        )
    backend.ensure_index()
    return backend


@pytest.fixture(scope="session")
def backend(search_settings: SearchSettings) -> Iterator[SearchBackend]:
    """A backend on the session alias, index created; indices and template dropped at the end."""
    b = _open(search_settings)
    try:
        yield b
    finally:
        _drop(b)
        b.close()


@pytest.fixture
def fresh_backend(search_settings: SearchSettings) -> Iterator[SearchBackend]:
    """An empty index of its own (alias <session alias>-<hex>) for tests that write."""
    alias = f"{search_settings.alias}-{uuid.uuid4().hex[:6]}"
    b = _open(search_settings.model_copy(update={"alias": alias}))
    try:
        yield b
    finally:
        _drop(b)
        b.close()


@pytest.fixture
def make_search_settings(search_settings: SearchSettings) -> Callable[..., SearchSettings]:
    """Copies of the session settings with overrides, e.g. make_search_settings(url=...)."""
    return lambda **update: search_settings.model_copy(update=update)
