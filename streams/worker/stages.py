"""The worker's stages: plain functions over plain data. No Kafka, no search client, no I/O.

A Kafka message arrives here as a ``Record``; a stage returns an ``Outcome``: the messages for the
next topic, the dead letters, and the documents it passed on. Anything that belongs to one record
ends as that record's dead letter; nothing a record contains can make a stage raise for the batch.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.contracts.article import (
    MAX_ID_BYTES,
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    InvalidArticle,
    dumps_article,
    load_json,
    parse_raw,
)
from streams.contracts.dates import iso_from_epoch, utc_now_iso
from streams.contracts.dlq import dlq_record
from streams.enrich import EnrichResult
from streams.search import DocError
from streams.settings import LimitSettings

# ``_load_enriched`` finds digit runs by mapping every byte to 1 (a digit) or 0: a C-speed scan,
# where a regular expression over a 10 KB record costs more than parsing it.
_DIGITS = bytes(int(chr(b).isdigit() and b < 128) for b in range(256))
_TOO_MANY_DIGITS = b"\x01" * (MAX_INT_DIGITS + 1)
# JSON writes a lone surrogate only as an escape: \ud800..\udfff.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
ERROR_CHARS = 2000  # an error text in a dead letter; a traceback of a recursive failure can be huge
DLQ_ENVELOPE_BYTES = 16 * 1024  # room in a DLQ message for everything but the payload


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka message as plain data."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None = None  # seconds since the epoch (producer or broker time)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    record: Record
    reason: str
    stage: str
    error: str
    payload: bytes | None = None  # what to keep for replay; None: the record's own value


@dataclass(frozen=True, slots=True)
class Output:
    record: Record  # the record it came from, so a refused send can still become its dead letter
    key: bytes
    value: bytes


@dataclass
class Outcome:
    out: list[Output] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    passed: list[dict] = field(default_factory=list)  # documents passed on (metrics)

    def __iadd__(self, other: Outcome) -> Outcome:
        self.out += other.out
        self.dead += other.dead
        self.passed += other.passed
        return self


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


# --- enrich ---------------------------------------------------------------------------------------


def validate(records: Sequence[Record], limits: LimitSettings) -> tuple[list[tuple[Record, dict]], list[DeadLetter]]:
    """Raw messages → clean articles (stamped ``pipeline.ingested_at``), or dead letters."""
    good, dead = [], []
    for record in records:
        try:
            article = parse_raw(record.value, limits)
        except InvalidArticle as exc:
            dead.append(DeadLetter(record, exc.reason, "validate", exc.error[:ERROR_CHARS]))
            continue
        except Exception as exc:  # noqa: BLE001 - a validator bug must cost one record, not the batch
            dead.append(DeadLetter(record, "invalid", "validate", describe_error(exc)))
            continue
        article["pipeline"] = {"ingested_at": _ingested_at(record.timestamp)}
        good.append((record, article))
    return good, dead


def _ingested_at(timestamp: float | None) -> str:
    """The message timestamp as ISO-8601; now if there is none or it is out of range (a producer
    sets CreateTime, and the broker accepts any, e.g. the year 300,000)."""
    try:
        return iso_from_epoch(timestamp) if timestamp and timestamp > 0 else utc_now_iso()
    except (ValueError, OverflowError, OSError):
        return utc_now_iso()


def enrich(
    records: Sequence[Record],
    *,
    limits: LimitSettings,
    enrich_batch: Callable[[list[dict]], list[EnrichResult]],
    budget_bytes: int,
) -> Outcome:
    """Validate, enrich as one batch, serialise. A document over ``budget_bytes`` becomes a
    ``too_large_enriched`` dead letter that keeps the raw payload, so a replay works once the
    limits are raised."""
    good, dead = validate(records, limits)
    outcome = Outcome(dead=dead)
    results = enrich_batch([article for _, article in good]) if good else []
    for (record, _), result in zip(good, results, strict=True):
        if result.error is not None or result.doc is None:
            outcome.dead.append(
                DeadLetter(record, "enrich_failed", "enrich", describe_error(result.error or ValueError("no document")))
            )
            continue
        try:
            value = dumps_article(result.doc)
            key = str(result.doc["id"]).encode("utf-8")
        except Exception as exc:  # noqa: BLE001 - an unserialisable document is this record's problem
            outcome.dead.append(DeadLetter(record, "enrich_failed", "enrich", describe_error(exc)))
            continue
        if len(value) > budget_bytes:
            outcome.dead.append(
                DeadLetter(
                    record,
                    "too_large_enriched",
                    "enrich",
                    f"enriched record has {len(value)} bytes, the budget is "
                    f"{budget_bytes} ({result.doc.get('entity_count')} entities)",
                )
            )
            continue
        outcome.out.append(Output(record, key, value))
        outcome.passed.append(result.doc)
    return outcome


# --- index ----------------------------------------------------------------------------------------


def read_enriched(records: Sequence[Record]) -> tuple[list[tuple[Record, dict]], list[DeadLetter]]:
    """Enriched messages → documents, or ``bad_enriched_record`` dead letters.

    The enriched topic holds what the enrich stage writes, so a record is refused unless it is
    strict JSON (UTF-8, no NaN/Infinity, bounded nesting), an object with a non-empty string ``id``
    of at most 512 bytes and an object (or no) ``pipeline``, and encodes as UTF-8 again (no lone
    surrogates): anything else could fail a whole bulk request instead of one document."""
    good, dead = [], []
    for record in records:
        try:
            doc = _load_enriched(record.value)
        except InvalidArticle as exc:
            dead.append(DeadLetter(record, "bad_enriched_record", "index", exc.error[:ERROR_CHARS]))
            continue
        problem = _document_problem(doc, may_hold_surrogates=_SURROGATE_ESCAPE.search(record.value) is not None)
        if problem:
            dead.append(DeadLetter(record, "bad_enriched_record", "index", problem))
            continue
        if doc.get("pipeline") is None:
            doc["pipeline"] = {}  # null counts as absent; the indexer stamps indexed_at into it
        good.append((record, doc))
    return good, dead


def _load_enriched(value: bytes | None) -> Any:
    """``load_json`` with the same verdicts, faster on what the enrich stage writes: without a digit
    run longer than ``MAX_INT_DIGITS`` no integer can be too long, so the C decoder parses integers
    itself (the strict loader calls a Python hook for each: hundreds of entity offsets per record).
    Whatever this path does not accept goes through ``load_json`` for the verdict and its message."""
    if value and value.translate(_DIGITS).find(_TOO_MANY_DIGITS) < 0:
        try:
            text = value.decode("utf-8").removeprefix("\ufeff")
            data = json.loads(text, parse_constant=_not_json, parse_float=_finite)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            pass
        else:
            if _nests_within(data, MAX_JSON_DEPTH):
                return data
    return load_json(value, check_size=False)


_CONTAINERS = frozenset((dict, list))  # what json.loads makes of objects and arrays
_is_container = _CONTAINERS.__contains__


def _nests_within(value: Any, limit: int) -> bool:
    """``nesting_depth(value, limit) <= limit`` for a decoded JSON value, level by level: most
    objects of a document hold scalars only, and ``any(map(...))`` passes over those in C."""
    level = [value] if type(value) in _CONTAINERS else []
    for _ in range(limit):
        if not level:
            return True
        deeper: list = []
        for node in level:
            children = node.values() if type(node) is dict else node
            if any(map(_is_container, map(type, children))):
                deeper += [child for child in children if type(child) in _CONTAINERS]
        level = deeper
    return not level


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _document_problem(doc: Any, may_hold_surrogates: bool = True) -> str | None:
    if not isinstance(doc, dict):
        return f"expected a JSON object, got {type(doc).__name__}"
    doc_id = doc.get("id")
    if not isinstance(doc_id, str):
        return f"id must be a string, got {type(doc_id).__name__}"
    if not doc_id.strip():
        return "id is empty"
    pipeline = doc.get("pipeline")
    if pipeline is not None and not isinstance(pipeline, dict):
        return f"pipeline must be an object, got {type(pipeline).__name__}"
    try:
        if len(doc_id.encode("utf-8")) > MAX_ID_BYTES:
            return f"id is longer than {MAX_ID_BYTES} bytes"
        if may_hold_surrogates:  # the one way a decoded document fails to encode again
            dumps_article(doc)
    except UnicodeEncodeError as exc:
        return f"not encodable as UTF-8 (a lone surrogate escape?): {exc}"
    return None


def index_outcome(items: Sequence[tuple[Record, dict]], rejected: Sequence[DocError]) -> Outcome:
    """After a bulk request: the documents the engine refused become dead letters, by position."""
    refused = {err.position: err for err in rejected}
    outcome = Outcome()
    for i, (record, doc) in enumerate(items):
        err = refused.get(i)
        if err is None:
            outcome.passed.append(doc)
        else:
            outcome.dead.append(DeadLetter(record, f"rejected_{err.status}", "index", err.reason[:ERROR_CHARS]))
    return outcome


# --- dead letters ---------------------------------------------------------------------------------


def dead_letter_message(dead: DeadLetter, max_bytes: int) -> tuple[bytes | None, bytes]:
    """The DLQ message (key, value) of a dead letter, never over ``max_bytes``: a payload that does
    not fit is cut (``payload_truncated``, with its full length and sha256)."""
    rec = dead.record
    payload = (rec.value if dead.payload is None else dead.payload) or b""
    # An error text may hold lone surrogates (from a hostile payload); they cannot be UTF-8.
    error = dead.error[:ERROR_CHARS].encode("utf-8", "replace").decode("utf-8")
    cut = None  # whole, if it fits
    while True:
        record = dlq_record(
            payload, dead.reason, dead.stage, error, rec.topic, rec.partition, rec.offset, max_payload_bytes=cut
        )
        value = json.dumps(record, ensure_ascii=False).encode("utf-8")
        if len(value) <= max_bytes or cut == 0:
            return rec.key, value
        # JSON escapes may double the text (control characters: six bytes each), base64 adds a third.
        cut = max(0, max_bytes - DLQ_ENVELOPE_BYTES) // 2 if cut is None else cut // 3
