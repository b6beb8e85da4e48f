"""The articles template (version 2): text analysed once per language, and the derived fields the
indexer adds (``index_document``) and the reindex script rebuilds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from streams.search import template

V1 = Path(__file__).resolve().parents[1] / "data" / "articles_mappings_v1.json"

ARTICLE = {
    "id": "nl-1",
    "title": "Poetin dreigt",
    "body": "Poetin en Macron in Moskou. Poetin sprak.",
    "language": "nl",
    "entities": [
        {"text": "Poetin", "id": "Q7747", "name": "Vladimir Putin"},
        {"text": "Macron", "id": None, "name": "Macron"},
        {"text": "Moskou", "id": "Q649", "name": "Moscow"},
        {"text": "Poetin", "id": "Q7747", "name": "Vladimir Putin"},
    ],
    "entity_names": ["Vladimir Putin", "Macron", "Moscow"],
}


def test_text_fields_are_neutral_plus_one_field_per_language():
    props = template.mappings()["properties"]
    for field in template.TEXT_FIELDS:
        assert props[field] == {"type": "text", "analyzer": "standard"}  # no sub-fields: analysed once
        for lang, analyzer in template.LANGUAGE_ANALYZERS.items():
            assert props[f"{field}_{lang}"] == {"type": "text", "analyzer": analyzer}
    assert props["entities"] == {"type": "object", "enabled": False}
    assert props["entity_texts"]["type"] == "keyword"


def test_the_version_is_bumped_from_the_old_template():
    old = json.loads(V1.read_text())
    assert old["_meta"]["template_version"] == 1
    assert template.mappings()["_meta"]["template_version"] == template.TEMPLATE_VERSION == 3


def test_derived_fields_are_all_mapped():
    props = template.mappings()["properties"]
    assert set(props) >= template.DERIVED_FIELDS


def test_index_document_adds_the_language_fields_of_its_language_only():
    original = copy.deepcopy(ARTICLE)
    doc = template.index_document(ARTICLE)
    assert original == ARTICLE  # the input is left alone
    assert doc["title_nl"] == ARTICLE["title"] and doc["body_nl"] == ARTICLE["body"]
    assert not {k for k in doc if k.startswith(("title_", "body_"))} - {"title_nl", "body_nl"}
    assert doc["entity_texts"] == ["Poetin", "Macron", "Moskou"]  # distinct, in order of mention
    assert template.stored_document(doc) == ARTICLE


def test_other_languages_get_the_neutral_fields_only():
    for lang in ("und", "pl", None, 7):
        doc = template.index_document(dict(ARTICLE, language=lang))
        assert not [k for k in doc if k.startswith(("title_", "body_"))], lang


def test_index_document_depends_on_the_article_alone():
    once = template.index_document(ARTICLE)
    assert template.index_document(once) == once
    # A document read back with another language's fields: they are replaced, not kept.
    moved = template.index_document(dict(once, language="en"))
    assert "title_nl" not in moved and moved["title_en"] == ARTICLE["title"]


def test_odd_values_are_skipped_not_fatal():
    doc = template.index_document({"id": "x", "language": "nl", "title": None, "body": 3, "entities": [1, {"a": 2}]})
    assert "title_nl" not in doc and "body_nl" not in doc
    assert doc["entity_texts"] == []
    assert "entity_texts" not in template.index_document({"id": "x", "entities": "not a list"})


def test_reindex_script_gets_the_same_names():
    params = template.reindex_script()["params"]
    assert set(params["derived"]) == template.DERIVED_FIELDS
    assert params["languages"] == list(template.LANGUAGE_ANALYZERS)
    assert params["text_fields"] == list(template.TEXT_FIELDS)
