"""Bulk-response classification and secret hygiene of the search backends (pure, no engine)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from streams.search import DocError, SearchError, TransientSearchError, make_backend
from streams.search.backends import error_reason, parse_bulk_response
from streams.settings import SearchSettings


def _item(doc_id: str, status: int, etype: str | None = None, reason: str = "") -> dict:
    result: dict = {"_id": doc_id, "status": status}
    if etype:
        result["error"] = {"type": etype, "reason": reason}
    return {"index": result}


def test_no_errors():
    assert parse_bulk_response({"errors": False, "items": [_item("a", 201)]}) == []


def test_permanent_item_errors_become_doc_errors():
    resp = {
        "errors": True,
        "items": [
            _item("a", 201),
            _item("b", 400, "mapper_parsing_exception", "failed to parse field [published_at]"),
            _item("c", 413, "too_big", "too large"),
        ],
    }
    assert parse_bulk_response(resp) == [
        DocError("b", 400, "mapper_parsing_exception: failed to parse field [published_at]", 1),
        DocError("c", 413, "too_big: too large", 2),
    ]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_any_transient_item_fails_the_batch(status):
    resp = {
        "errors": True,
        "items": [
            _item("a", 400, "mapper_parsing_exception", "bad"),
            _item("b", status, "es_rejected_execution_exception", "queue full"),
        ],
    }
    with pytest.raises(TransientSearchError, match="queue full") as info:
        parse_bulk_response(resp)
    assert info.value.status == status


def test_missing_index_is_neither_doc_error_nor_transient():
    resp = {"errors": True, "items": [_item("a", 404, "index_not_found_exception", "no such index")]}
    with pytest.raises(SearchError) as info:
        parse_bulk_response(resp)
    assert not isinstance(info.value, TransientSearchError)


def test_error_reason_includes_cause():
    body = {
        "error": {
            "type": "mapper_parsing_exception",
            "reason": "failed to parse field [published_at]",
            "caused_by": {"type": "illegal_argument_exception", "reason": "bad date"},
        },
        "status": 400,
    }
    etype, reason = error_reason(body)
    assert etype == "mapper_parsing_exception"
    assert reason.endswith("(caused by illegal_argument_exception: bad date)")


@pytest.mark.parametrize("kind", ["opensearch", "elasticsearch"])
def test_secrets_never_in_repr(kind):
    s = SearchSettings(
        backend=kind, url="https://user:urlsecret@es.example:9200", username="u",
        password=SecretStr("pwsecret"), api_key=SecretStr("keysecret"),
    )  # fmt: skip
    b = make_backend(s)
    try:
        text = repr(b) + str(b)
        assert "es.example" in text
        for secret in ("urlsecret", "pwsecret", "keysecret"):
            assert secret not in text
    finally:
        b.close()
