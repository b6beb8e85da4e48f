"""The raw article (the ``articles.raw`` contract): validation, cleaning, ids, the topic format.

Pure: no Kafka here. ``parse_raw`` is what a consumer calls on a message value; ``clean_article``
is the same validation for a dict a producer already holds (the CLI readers).

Article ids (stable, so re-producing an article overwrites its document instead of duplicating it):
- ``id`` given by the producer: kept as is (stripped).
- else ``u-`` + sha256(normalised url)[:32]; the url is stripped, its fragment dropped and its
  scheme/host lowercased, so ``…/a#top`` and ``…/a`` are the same article.
- else ``h-`` + sha256(source, title, body after cleaning)[:32].
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from streams.contracts.dates import normalise_date
from streams.contracts.languages import normalise_language
from streams.contracts.text import clean_text, is_blank, strip_controls, without_surrogates
from streams.settings import LimitSettings

FIELDS = ("id", "url", "source", "title", "body", "published_at", "language", "meta")
ID_HASH_CHARS = 32
MAX_ID_BYTES = 512  # Elasticsearch/OpenSearch reject a longer _id.
# Room in a raw payload for the JSON envelope, title, meta and escaping/markup around the body.
PAYLOAD_OVERHEAD_BYTES = 64 * 1024
# Objects and arrays nested deeper than this are refused: an article needs a few levels, and deeper
# values make recursive code downstream (copying, cleaning, the search engine) fail or crawl.
MAX_JSON_DEPTH = 64
# Longer integer literals are refused: the search engine's JSON parser stops at 1000 characters, and
# a number is written back with all its digits.
MAX_INT_DIGITS = 100


class InvalidArticle(ValueError):
    """A message that can never become an article. ``reason`` is a stable machine code."""

    def __init__(self, reason: str, error: str):
        super().__init__(f"{reason}: {error}")
        self.reason = reason
        self.error = error


def max_payload_bytes(limits: LimitSettings) -> int:
    # The body limit applies to the cleaned text; the raw payload may also carry HTML markup and
    # JSON escapes, hence twice the body plus the envelope.
    return 2 * limits.max_body_bytes + 4 * limits.max_title_chars + PAYLOAD_OVERHEAD_BYTES


def normalise_url(url: str) -> str:
    """Light normalisation for the id: no fragment, lowercase scheme and host."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def _digest(*parts: str) -> str:
    # \x1f (unit separator) cannot occur in cleaned text, so fields cannot run into each other.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:ID_HASH_CHARS]


def derive_id(url: str | None, source: str | None, title: str, body: str) -> str:
    if url:
        return "u-" + _digest(normalise_url(url))
    return "h-" + _digest(source or "", title, body)


# --- the model -----------------------------------------------------------------------------


def _limits(info: ValidationInfo) -> LimitSettings:
    ctx = info.context or {}
    return ctx.get("limits") or LimitSettings()


class RawArticle(BaseModel):
    """A raw article after validation and cleaning. Validate with ``clean_article`` or
    ``RawArticle.model_validate(data, context={"limits": limits})``."""

    # strict: a number is not a title, a string is not an object.
    model_config = ConfigDict(strict=True, extra="forbid")

    id: str | None = None
    url: str | None = None
    source: str | None = None
    title: str
    body: str
    published_at: str | None = None
    language: str | None = None
    meta: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _collect_unknown(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            raise PydanticCustomError(
                "not_object", "an article must be a JSON object, got {kind}", {"kind": type(data).__name__}
            )
        data = dict(data)
        for name in ("title", "body"):
            if data.get(name) is None:  # null counts as absent, not as a type error
                data.pop(name, None)
        unknown = {k: data.pop(k) for k in list(data) if k not in FIELDS}
        if unknown:
            meta = data.get("meta")
            if meta is None:
                data["meta"] = unknown
            elif isinstance(meta, dict):
                data["meta"] = {**unknown, **meta}  # the producer's own meta wins on a clash
        if data.get("meta") is None:
            data.pop("meta", None)
        return data

    @field_validator("id", "url", "source", "published_at", "language")
    @classmethod
    def _optional(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        value = clean_text(value, single_line=True) if info.field_name == "source" else strip_controls(value)
        if is_blank(value):
            return None  # "" (or only invisible characters) means "not given"
        if info.field_name == "published_at":
            try:
                return normalise_date(value)
            except ValueError as exc:
                raise PydanticCustomError("bad_date", "published_at: {e}", {"e": str(exc)}) from None
        if info.field_name == "language":
            try:
                return normalise_language(value)
            except ValueError as exc:
                raise PydanticCustomError("bad_language", "language: {e}", {"e": str(exc)}) from None
        if info.field_name == "id" and len(value.encode("utf-8")) > MAX_ID_BYTES:
            raise PydanticCustomError("too_large", "id is longer than {n} bytes", {"n": MAX_ID_BYTES})
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str, info: ValidationInfo) -> str:
        value = clean_text(value, single_line=True)
        if is_blank(value):  # also a title of zero-width or bidi characters only: it shows nothing
            raise PydanticCustomError("empty_field", "title is empty")
        limit = _limits(info).max_title_chars
        if len(value) > limit:
            raise PydanticCustomError(
                "too_large", "title has {n} characters, the limit is {limit}", {"n": len(value), "limit": limit}
            )
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        limit = _limits(info).max_body_bytes
        if len(value) > 2 * limit + PAYLOAD_OVERHEAD_BYTES:  # don't parse megabytes of HTML first
            raise PydanticCustomError(
                "too_large", "body has {n} characters, the limit is {limit} bytes", {"n": len(value), "limit": limit}
            )
        value = clean_text(value)
        if is_blank(value):
            raise PydanticCustomError("empty_field", "body is empty")
        size = len(value.encode("utf-8"))
        if size > limit:
            raise PydanticCustomError(
                "too_large", "body has {n} bytes, the limit is {limit}", {"n": size, "limit": limit}
            )
        return value

    @field_validator("meta")
    @classmethod
    def _meta(cls, value: dict[str, Any]) -> dict[str, Any]:
        return without_surrogates(value)

    @model_validator(mode="after")
    def _derive_id(self) -> RawArticle:
        if self.id is None:
            self.id = derive_id(self.url, self.source, self.title, self.body)
        return self


INVALID_REASONS = frozenset(
    {
        "empty_payload",
        "not_utf8",
        "not_json",
        "not_object",
        "missing_field",
        "wrong_type",
        "empty_field",
        "too_large",
        "bad_date",
        "bad_language",
        "invalid",
    }
)
_TYPE_NAMES = {"string_type": "a string", "dict_type": "an object"}


def _json_kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)


def _invalid(exc: ValidationError) -> InvalidArticle:
    errors = exc.errors(include_url=False)
    messages = []
    for err in errors:
        field = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            messages.append(f"{field} is required")
        elif err["type"].endswith("_type"):
            wanted = _TYPE_NAMES.get(err["type"], err["msg"].lower())
            messages.append(f"{field} must be {wanted}, got {_json_kind(err.get('input'))}")
        else:
            messages.append(err["msg"])
    first = errors[0]["type"]
    reason = "missing_field" if first == "missing" else "wrong_type" if first.endswith("_type") else first
    if reason not in INVALID_REASONS:
        reason = "invalid"
    return InvalidArticle(reason, "; ".join(messages))


def clean_article(data: Any, limits: LimitSettings | None = None) -> dict[str, Any]:
    """Validate and clean an already decoded article → the clean dict (keys ``FIELDS``)."""
    try:
        article = RawArticle.model_validate(data, context={"limits": limits or LimitSettings()})
    except ValidationError as exc:
        raise _invalid(exc) from None
    return article.model_dump()


def _reject_constant(name: str) -> None:
    # NaN/Infinity are not JSON and would make the indexed document unparseable downstream.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf, which would be written back as Infinity
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text.lstrip('-'))} digits is out of range (max {MAX_INT_DIGITS})")
    return int(text)


def nesting_depth(value: Any, limit: int) -> int:
    """How deep objects and arrays nest in ``value`` (a scalar is 0), counted up to ``limit + 1``.
    Iterative: a deep value cannot exhaust the stack here."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = node.values() if isinstance(node, dict) else node
        stack += [(child, depth + 1) for child in children if isinstance(child, dict | list)]
    return deepest


def load_json(value: bytes | None, limits: LimitSettings | None = None, *, check_size: bool = True) -> Any:
    """Bytes → JSON value: size checked, strict UTF-8 (a leading byte order mark is ignored, as RFC
    8259 allows), strict JSON: no NaN/Infinity, no number out of float range or integer of more than
    ``MAX_INT_DIGITS`` digits, no nesting deeper than ``MAX_JSON_DEPTH``."""
    limits = limits or LimitSettings()
    if not value:
        raise InvalidArticle("empty_payload", "the message has no value")
    if check_size and len(value) > max_payload_bytes(limits):
        raise InvalidArticle(
            "too_large",
            f"payload has {len(value)} bytes, the limit is "
            f"{max_payload_bytes(limits)} (body limit {limits.max_body_bytes})",
        )
    try:
        text = value.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidArticle("not_utf8", f"payload is not UTF-8: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise InvalidArticle("not_json", f"payload is not JSON: {exc}") from None
    if nesting_depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise InvalidArticle("not_json", f"payload nests objects/arrays deeper than {MAX_JSON_DEPTH} levels")
    return data


def parse_raw(value: bytes | None, limits: LimitSettings | None = None) -> dict[str, Any]:
    """A message value from ``articles.raw`` → the clean article dict, or ``InvalidArticle``."""
    data = load_json(value, limits)
    if not isinstance(data, dict):
        raise InvalidArticle("not_object", f"payload must be a JSON object, got {type(data).__name__}")
    return clean_article(data, limits)


def dumps_article(article: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, the value format on the article topics. Strict: NaN/Infinity (which no
    JSON parser downstream accepts) raise ``ValueError``, lone surrogates ``UnicodeEncodeError``."""
    return json.dumps(article, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
