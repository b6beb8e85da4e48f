"""`newsstreams reindex` on the real engine: an alias on the old template (version 1, the mapping as it
was, tests/data/articles_mappings_v1.json) moves to the current one while readers search and a writer
writes through the alias; nothing is lost, readers never fail or see fewer documents, and search with
language stemming, highlights and the surface-form entity filter works on the moved documents.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import harness
import pytest
from harness import drop_alias

from streams.contracts.dates import utc_now_iso
from streams.ops.reindex import next_index, reindex
from streams.search import SearchBackend, SearchError, make_backend, search, template
from streams.settings import SearchSettings


def article(i: int) -> dict:
    """Dutch, English and undetermined articles; each names Poetin (nl) or Putin (en)."""
    lang = ("nl", "en", "und")[i % 3]
    if lang == "nl":
        title, body, surface = (
            f"Poetin en de gaspijpleidingen ({i})",
            "Poetin sprak over de gaspijpleidingen.",
            "Poetin",
        )
    else:
        title, body, surface = f"Putin and the gas pipelines ({i})", "Putin spoke about the pipelines.", "Putin"
    return {
        "id": f"doc-{i}",
        "source": "test",
        "title": title,
        "body": body,
        "language": lang,
        "published_at": "2024-03-01T08:00:00Z",
        "entities": [{"text": surface, "label": "PER", "start": 0, "end": len(surface), "field": "title",
                      "id": "Q7747", "name": "Vladimir Putin", "source": "gazetteer"}],
        "entity_ids": ["Q7747"],
        "entity_names": ["Vladimir Putin"],
        "topics": [{"code": "medtop:11000000", "label": "politics", "score": 0.5}],
        "pipeline": {"version": "0.1.0", "indexed_at": "2024-03-01T08:00:01Z"},
    }  # fmt: skip


def make_v1_alias(backend: SearchBackend, docs: list[dict]) -> None:
    """The alias as the old code made and filled it: template version 1, documents as enriched."""
    harness.make_v1_alias(backend)
    for start in range(0, len(docs), 500):
        assert backend.bulk_index(docs[start : start + 500]) == []
    backend.refresh()
    backend.document = template.index_document  # type: ignore[attr-defined] - today's indexer from here on


@pytest.fixture
def v1_settings(search_settings: SearchSettings) -> Iterator[SearchSettings]:
    settings = search_settings.model_copy(update={"alias": f"{search_settings.alias}-r{uuid.uuid4().hex[:6]}"})
    yield settings
    backend = make_backend(settings)
    with contextlib.suppress(Exception):
        drop_alias(backend)
    backend.close()


def test_next_index_numbers_after_the_highest():
    assert next_index("a", []) == "a-000001"
    assert next_index("a", ["a-000001", "a-000007", "a-b-000009", "ab-000010"]) == "a-000008"


def test_reindex_moves_the_alias_without_downtime_or_loss(v1_settings: SearchSettings) -> None:
    docs = [article(i) for i in range(1500)]
    backend = make_backend(v1_settings)
    try:
        make_v1_alias(backend, docs)
        alias = v1_settings.alias
        assert backend.template_versions([template.first_index(alias)]) == {template.first_index(alias): 1}
        # Version 1 has no language fields: the stemmed query finds nothing there.
        assert search("gaspijpleiding", backend=backend).total == 0

        stop = threading.Event()
        seen: list[int] = []
        errors: list[BaseException] = []
        written: list[str] = []

        def read() -> None:
            reader = make_backend(v1_settings)
            try:
                while not stop.is_set():
                    seen.append(search(None, limit=0, backend=reader).total)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                reader.close()

        def write() -> None:
            writer = make_backend(v1_settings)
            try:
                i = 100_000
                while not stop.is_set():
                    doc = article(i)
                    doc["pipeline"]["indexed_at"] = utc_now_iso()  # as the index stage stamps it
                    assert writer.bulk_index([doc]) == []
                    written.append(doc["id"])
                    i += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                writer.close()

        threads = [threading.Thread(target=read), threading.Thread(target=write)]
        for t in threads:
            t.start()
        env = dict(os.environ, NEWSSTREAMS_SEARCH__ALIAS=alias, NEWSSTREAMS_SEARCH__URL=v1_settings.url)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "streams", "reindex", "--settle-s", "1"],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not errors, errors
        new = f"{alias}-000002"
        assert f"moved from {alias}-000001 (version 1) to {new} (version {template.TEMPLATE_VERSION})" in proc.stdout, (
            proc.stdout
        )
        assert f"deleted {alias}-000001" in proc.stdout
        # Progress without a terminal: a line per stage and tenth; the copy has all documents from before.
        copied = re.findall(r"^copy: ([\d,]+) of \1 documents$", proc.stderr, re.MULTILINE)
        assert copied and int(copied[-1].replace(",", "")) >= len(docs), proc.stderr
        assert re.search(r"^catch-up: [\d,]+ of [\d,]+ documents$", proc.stderr, re.MULTILINE), proc.stderr

        # Readers: never an error (above), never fewer documents than at the start.
        assert seen and min(seen) >= len(docs), (min(seen), len(seen))
        # The alias: the new index alone, the write index, no filter; the old index is gone.
        assert backend.alias_indices() == {new: {"is_write_index": True}}
        assert backend.index_names() == [new]
        assert backend.template_versions([new]) == {new: template.TEMPLATE_VERSION}
        # Nothing lost: every document from before and every one written during the move.
        backend.refresh()
        assert written and backend.count() == len(docs) + len(written)
        assert backend.count({"ids": {"values": written}}) == len(written)

        # The documents have the derived fields, exactly as the indexer makes them.
        raw = backend.client.get(index=alias, id="doc-0")  # type: ignore[attr-defined]
        assert getattr(raw, "body", raw)["_source"] == template.index_document(docs[0])
        assert backend.get("doc-0") == docs[0]
        # Search: stemming in the article's language only, highlights, the surface-form filter.
        by_lang = {lang: 500 + sum(1 for w in written if article(int(w.split("-")[1]))["language"] == lang)
                   for lang in ("nl", "en", "und")}  # fmt: skip
        result = search("gaspijpleiding", lang="nl", backend=backend)
        assert result.total == by_lang["nl"]
        assert "<em>gaspijpleidingen</em>" in result.hits[0].highlights["title"][0]
        assert search("pipeline", backend=backend).total == by_lang["en"]  # "und" articles: neutral fields only
        assert search(None, entity="Poetin", backend=backend).total == by_lang["nl"]
        assert backend.count({"exists": {"field": "title_en"}}) == by_lang["en"]
    finally:
        backend.close()


def test_up_to_date_index_is_left_alone(v1_settings: SearchSettings) -> None:
    backend = make_backend(v1_settings)
    try:
        backend.ensure_index()
        report = reindex(v1_settings, backend=backend)
        assert report.new is None and report.old == [template.first_index(v1_settings.alias)]
        assert report.old_versions == {template.first_index(v1_settings.alias): template.TEMPLATE_VERSION}
    finally:
        backend.close()


def test_an_old_index_works_and_setup_says_what_moves_it(v1_settings: SearchSettings, caplog) -> None:
    backend = make_backend(v1_settings)
    try:
        make_v1_alias(backend, [article(0)])
        with caplog.at_level(logging.WARNING, logger="streams.search.backends"):
            backend.ensure_index()
        assert "made from an older index template" in caplog.text and "newsstreams reindex" in caplog.text
        # Today's documents (with the derived fields) still go into the old mapping, unchanged by setup.
        assert backend.bulk_index([article(1), article(2)]) == []
        backend.refresh()
        assert backend.count() == 3
        assert backend.template_versions(list(backend.alias_indices())) == {template.first_index(v1_settings.alias): 1}
    finally:
        backend.close()


def test_missing_alias_is_an_error(v1_settings: SearchSettings) -> None:
    with pytest.raises(SearchError, match="does not exist"):
        reindex(v1_settings)


@pytest.mark.search_kinds
def test_interrupted_reindex_resumes_and_keeps_the_old_index(kind_settings: SearchSettings) -> None:
    settings = kind_settings.model_copy(update={"alias": f"{kind_settings.alias}-i{uuid.uuid4().hex[:6]}"})
    backend = make_backend(settings)
    try:
        docs = [article(i) for i in range(30)]
        make_v1_alias(backend, docs)
        old, new = template.first_index(settings.alias), f"{settings.alias}-000002"

        def interrupt(stage: str, done: int, total: int | None) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            reindex(settings, backend=backend, settle_s=0, poll_s=0.1, progress=interrupt)
        # Left at step 2: writes go to the new index, readers see the old one alone.
        state = backend.alias_indices()
        assert state[old].get("is_write_index") is False and "filter" not in state[old]
        assert state[new]["is_write_index"] is True and "filter" in state[new]
        assert backend.bulk_index([article(1000)]) == []
        backend.refresh()
        assert search(None, limit=0, backend=backend).total == len(docs)  # not yet visible, nothing missing

        report = reindex(settings, backend=backend, keep_old=True, settle_s=0, poll_s=0.1)
        assert report.resumed and (report.old, report.new, report.kept) == ([old], new, [old])
        assert backend.alias_indices() == {new: {"is_write_index": True}}
        assert backend.index_names() == [old, new]  # kept, out of the alias
        backend.refresh()
        assert backend.count() == len(docs) + 1
        assert search("gaspijpleiding", lang="nl", backend=backend).total == 10
    finally:
        with contextlib.suppress(Exception):
            drop_alias(backend)
        backend.close()
