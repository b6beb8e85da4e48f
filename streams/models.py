"""Validation and cleaning of raw articles (the ``articles.raw`` contract) and the DLQ record.

Pure: no Kafka here. ``parse_raw`` is what a consumer calls on a message value; ``clean_article``
is the same validation for a dict a producer already holds (the CLI readers).

Article ids (stable, so re-producing an article overwrites its document instead of duplicating it):
- ``id`` given by the producer: kept as is (stripped).
- else ``u-`` + sha256(normalised url)[:32]; the url is stripped, its fragment dropped and its
  scheme/host lowercased, so ``…/a#top`` and ``…/a`` are the same article.
- else ``h-`` + sha256(source, title, body after cleaning)[:32].
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from streams.settings import LimitSettings

FIELDS = ("id", "url", "source", "title", "body", "published_at", "language", "meta")
ID_HASH_CHARS = 32
MAX_ID_BYTES = 512  # Elasticsearch/OpenSearch reject a longer _id.
# Room in a raw payload for the JSON envelope, title, meta and escaping/markup around the body.
PAYLOAD_OVERHEAD_BYTES = 64 * 1024


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


# --- text cleaning -------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote details div dl fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr main nav ol p pre section table ul".split()
)
_LINE_TAGS = frozenset("caption dd dt figcaption li summary tr".split())  # a line each, no blank line
_SKIP_TAGS = frozenset("head script style noscript template svg math iframe object".split())
_LOOKS_LIKE_HTML = re.compile(
    r"</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>|<!--"
    r"|&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});"
)
_NEWLINES = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n",
                           "\u2029": "\n\n"})
# C0/C1 controls except \t and \n, lone surrogates (JSON "\ud800" escapes) and the BOM.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_HSPACE = re.compile(r"[^\S\t\n]+")
_PARA = "\x00P"  # markers that survive until layout; real NULs were removed before parsing
_BR = "\x00B"
_LINE = "\x00L"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "body":
            self._skip = 0  # an unclosed <head> must not swallow the document
        elif tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self.parts.append(_BR)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
            self._pre += tag == "pre"
        elif tag in _LINE_TAGS:
            self.parts.append(_LINE)
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag not in _SKIP_TAGS:  # <br/>, <hr/>; a self-closed <script/> has no content
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
        elif tag in _LINE_TAGS:
            self.parts.append(_LINE)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # HTML collapses source whitespace; <pre> keeps its line breaks.
            self.parts.append(data.replace("\n", _BR) if self._pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        raw = "".join(self.parts)
        return re.sub(rf"(?:\s*(?:{_PARA}|{_BR}|{_LINE}))+\s*", _layout, raw)


def _layout(m: re.Match) -> str:
    # Any block boundary or <br><br> is a paragraph break; a single <br> or list item a line break.
    return "\n\n" if _PARA in m.group(0) or m.group(0).count(_BR) > 1 else "\n"


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(_CONTROL.sub("", html))
    parser.close()
    return parser.text()


def clean_text(value: str, *, single_line: bool = False) -> str:
    """HTML (if it looks like HTML) to text, controls removed, whitespace normalised.

    Multi-line text keeps line breaks and paragraph breaks (at most one blank line in a row).
    """
    # NFC: a decomposed "Oekraïne" (i + combining diaeresis) must match the gazetteer's composed form.
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").translate(_NEWLINES))
    value = _CONTROL.sub("", value)
    if _LOOKS_LIKE_HTML.search(value):
        value = html_to_text(value)
    if single_line:
        return " ".join(value.split())
    value = _HSPACE.sub(" ", value)
    lines = [line.strip() for line in value.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- field checks --------------------------------------------------------------------------

ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu "
    "hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb "
    "lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om "
    "or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw "
    "ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)
_LEGACY_LANGUAGE = {"iw": "he", "in": "id", "ji": "yi"}  # still emitted by Java locales


def normalise_language(value: str) -> str:
    """``"NL"``, ``"nl-BE"``, ``"nl_be"`` → ``"nl"``; anything else is not an ISO 639-1 code."""
    primary = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    primary = _LEGACY_LANGUAGE.get(primary, primary)
    if primary not in ISO_639_1:
        raise ValueError(f"{value!r} is not an ISO 639-1 language code")
    return primary


def normalise_date(value: str) -> str:
    """ISO-8601 (or RFC 2822, as in RSS) → ISO-8601 in UTC with ``Z``; naive times count as UTC."""
    text = value.strip()
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            dt = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"{value!r} is not an ISO-8601 date") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt = dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None
    return dt.isoformat().replace("+00:00", "Z")


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


def _without_surrogates(value: Any) -> Any:
    # JSON "\\ud800" escapes decode to lone surrogates, which cannot be encoded as UTF-8 again.
    if isinstance(value, str):
        return _SURROGATES.sub("", value)
    if isinstance(value, dict):
        return {_SURROGATES.sub("", k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


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
            raise PydanticCustomError("not_object", "an article must be a JSON object, got {kind}",
                                      {"kind": type(data).__name__})
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
        value = clean_text(value, single_line=True) if info.field_name == "source" else \
            _CONTROL.sub("", value).strip()
        if not value:
            return None  # "" means "not given"
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
        if not value:
            raise PydanticCustomError("empty_field", "title is empty")
        limit = _limits(info).max_title_chars
        if len(value) > limit:
            raise PydanticCustomError("too_large", "title has {n} characters, the limit is {limit}",
                                      {"n": len(value), "limit": limit})
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str, info: ValidationInfo) -> str:
        limit = _limits(info).max_body_bytes
        if len(value) > 2 * limit + PAYLOAD_OVERHEAD_BYTES:  # don't parse megabytes of HTML first
            raise PydanticCustomError("too_large", "body has {n} characters, the limit is {limit} bytes",
                                      {"n": len(value), "limit": limit})
        value = clean_text(value)
        if not value:
            raise PydanticCustomError("empty_field", "body is empty")
        size = len(value.encode("utf-8"))
        if size > limit:
            raise PydanticCustomError("too_large", "body has {n} bytes, the limit is {limit}",
                                      {"n": size, "limit": limit})
        return value

    @field_validator("meta")
    @classmethod
    def _meta(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _without_surrogates(value)

    @model_validator(mode="after")
    def _derive_id(self) -> RawArticle:
        if self.id is None:
            self.id = derive_id(self.url, self.source, self.title, self.body)
        return self


REASONS = frozenset({"empty_payload", "not_utf8", "not_json", "not_object", "missing_field",
                     "wrong_type", "empty_field", "too_large", "bad_date", "bad_language", "invalid"})
_TYPE_NAMES = {"string_type": "a string", "dict_type": "an object"}


def _json_kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
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
    if reason not in REASONS:
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


def load_json(value: bytes | None, limits: LimitSettings | None = None, *, check_size: bool = True) -> Any:
    """Bytes → JSON value: size checked, strict UTF-8, strict JSON."""
    limits = limits or LimitSettings()
    if not value:
        raise InvalidArticle("empty_payload", "the message has no value")
    if check_size and len(value) > max_payload_bytes(limits):
        raise InvalidArticle("too_large", f"payload has {len(value)} bytes, the limit is "
                             f"{max_payload_bytes(limits)} (body limit {limits.max_body_bytes})")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArticle("not_utf8", f"payload is not UTF-8: {exc}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidArticle("not_json", f"payload is not JSON: {exc}") from None


def parse_raw(value: bytes | None, limits: LimitSettings | None = None) -> dict[str, Any]:
    """A message value from ``articles.raw`` → the clean article dict, or ``InvalidArticle``."""
    data = load_json(value, limits)
    if not isinstance(data, dict):
        raise InvalidArticle("not_object", f"payload must be a JSON object, got {type(data).__name__}")
    return clean_article(data, limits)


def dumps_article(article: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, the value format on the article topics."""
    return json.dumps(article, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dlq_record(payload: bytes | None, reason: str, stage: str, error: str, topic: str,
               partition: int, offset: int) -> dict[str, Any]:
    """The DLQ contract of DESIGN.md. ``payload_encoding`` lets a replay restore the exact bytes."""
    payload = payload or b""
    try:
        text, encoding = payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    return {"reason": reason, "stage": stage, "error": error, "payload": text,
            "payload_encoding": encoding, "topic": topic, "partition": partition, "offset": offset,
            "failed_at": utc_now_iso()}


def dlq_payload_bytes(record: Mapping[str, Any]) -> bytes:
    """Inverse of ``dlq_record`` for the payload (used by replay)."""
    if record.get("payload_encoding") == "base64":
        return base64.b64decode(record["payload"])
    return str(record.get("payload") or "").encode("utf-8")
