"""A hostile corpus: Kafka messages that try to break the worker, each with the one outcome it must
have. ``tests/integration/test_hostile.py`` sends them all through the real pipeline.

A case is a message for ``articles.raw`` (``topic="raw"``) or for ``articles.enriched``
(``topic="enriched"``, records the index agent must refuse or survive), and ``expect`` is
``"indexed"`` (exactly one document) or the reason code of exactly one dead letter
(``streams.contracts.dlq.REASONS``). Every raw case that expects ``"indexed"`` has a title of its own,
so no two of them can share a derived id.

Run ``python tests/integration/hostile.py`` for the table of kinds and expected outcomes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

INDEXED = "indexed"
BODY = "Poetin sprak in Moskou met Macron over Oekraïne."


@dataclass(frozen=True)
class Case:
    kind: str  # unique, short
    group: str
    value: bytes | None
    expect: str  # "indexed" or a DLQ reason code
    topic: str = "raw"  # "raw" or "enriched"
    key: bytes | None = None
    timestamp_ms: int | None = None  # the producer's CreateTime; None: now
    note: str = ""


def _j(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def _art(kind: str, **fields: object) -> dict:
    """A valid raw article (no id: the worker derives it) with a title of its own, then ``fields``."""
    return {"title": f"Hostile case {kind}", "body": BODY, **fields}


def _raw(kind: str, group: str, expect: str, note: str = "", **fields: object) -> Case:
    return Case(kind, group, _j(_art(kind, **fields)), expect, note=note)


def _enriched(doc_id: str, **fields: object) -> dict:
    """A document as the enrich agent would write it (the shape the index agent reads)."""
    return {
        "id": doc_id,
        "title": f"Enriched {doc_id}",
        "body": BODY,
        "language": "nl",
        "entities": [],
        "entity_count": 0,
        "entity_ids": [],
        "entity_names": [],
        "topics": [],
        "translations": {},
        "meta": {},
        "pipeline": {"ingested_at": "2024-05-01T12:00:00.000Z", "enriched_at": "2024-05-01T12:00:01.000Z"},
        **fields,
    }


def _deep_meta(levels: int) -> bytes:
    head = '{"title": "Hostile case deep-meta", "body": "' + BODY + '", "meta": {"a": '
    return (head + "[" * levels + "]" * levels + "}}").encode()


def corpus() -> list[Case]:
    raw = [
        # --- structure ---------------------------------------------------------------------------
        Case("not-json", "structure", b"this is not json {", "not_json"),
        Case("json-array", "structure", _j([_art("json-array")]), "not_object"),
        Case("json-string", "structure", b'"just a string"', "not_object"),
        Case("json-number", "structure", b"42", "not_object"),
        Case("json-null", "structure", b"null", "not_object"),
        Case("deep-100k-brackets", "structure", b"[" * 100_000, "not_json"),
        Case("deep-meta-900", "structure", _deep_meta(900), "not_json", note="valid JSON, nested 900 levels"),
        Case("trailing-data", "structure", _j(_art("trailing")) + b' {"title": "x"}', "not_json"),
        Case("truncated", "structure", _j(_art("truncated"))[:-5], "not_json"),
        Case(
            "duplicate-keys",
            "structure",
            b'{"title": "ignored", "title": "Hostile case duplicate-keys", "body": "' + BODY.encode() + b'"}',
            INDEXED,
            note="the last value wins, as in every JSON parser the pipeline uses",
        ),
        Case("whitespace-only", "structure", b" \n\t ", "not_json"),
        # --- types -------------------------------------------------------------------------------
        _raw("title-number", "types", "wrong_type", title=42),
        _raw("title-list", "types", "wrong_type", title=["a", "list"]),
        _raw("title-object", "types", "wrong_type", title={"text": "t"}),
        _raw("title-bool", "types", "wrong_type", title=True),
        _raw("body-number", "types", "wrong_type", body=3.14),
        _raw("meta-string", "types", "wrong_type", meta="not an object"),
        _raw("meta-list", "types", "wrong_type", meta=[1, 2]),
        _raw("id-object", "types", "wrong_type", id={"$oid": "1"}),
        _raw("id-number", "types", "wrong_type", id=12345),
        _raw("url-number", "types", "wrong_type", url=7),
        _raw("title-null", "types", "missing_field", title=None),
        Case("body-missing", "types", _j({"title": "Hostile case body-missing"}), "missing_field"),
        _raw("title-blank", "types", "empty_field", title=" \t\n "),
        _raw(
            "reserved-fields",
            "types",
            INDEXED,
            note="_id/_source/entities/pipeline from a producer stay in meta, never reach the mapping",
            _id="evil",
            _source={"x": 1},
            entities="not a list",
            pipeline="not an object",
        ),
        _raw("odd-meta-keys", "types", INDEXED, meta={"": 1, "a.b": 2, ".": 3, "_id": "x", "k" * 300: None}),
        # --- encodings ---------------------------------------------------------------------------
        Case("latin-1", "encodings", '{"title": "Hostile café", "body": "déjà vu"}'.encode("latin-1"), "not_utf8"),
        Case(
            "utf8-bom",
            "encodings",
            b"\xef\xbb\xbf" + _j(_art("utf8-bom")),
            INDEXED,
            note="RFC 8259 lets a parser ignore it; the CLI readers already do",
        ),
        Case("utf16-bom", "encodings", _j(_art("utf16")).decode().encode("utf-16"), "not_utf8"),
        Case(
            "lone-surrogates",
            "encodings",
            b'{"title": "Hostile case lone-surrogates \\ud800", "body": "a \\udfff b", '
            b'"id": "sur\\ud800rogate", "meta": {"k\\ud800": "v\\udbff"}}',
            INDEXED,
            note="lone surrogates are dropped from every field",
        ),
        Case(
            "surrogates-only-title",
            "encodings",
            json.dumps(_art("x", title="\udfff\ud800")).encode(),  # ASCII escapes; low before high: no pair
            "empty_field",
        ),
        Case("overlong-utf8", "encodings", b'{"title": "over\xc0\xaflong", "body": "b"}', "not_utf8"),
        Case("cesu-surrogate-bytes", "encodings", b'{"title": "\xed\xa0\x80", "body": "b"}', "not_utf8"),
        _raw("noncharacters", "encodings", INDEXED, body=BODY + " \ufffe\uffff\U0010ffff"),
        # --- sizes -------------------------------------------------------------------------------
        _raw("body-over-limit", "sizes", "too_large", body="x" * 1_100_000),
        _raw("body-multibyte-over-limit", "sizes", "too_large", body="€" * 400_000, note="400k chars, 1.2 MB"),
        _raw("payload-over-limit", "sizes", "too_large", meta={"pad": "y" * 2_200_000}),
        _raw("title-over-limit", "sizes", "too_large", title="T" * 1001),
        _raw("id-over-512-bytes", "sizes", "too_large", id="i" * 513),
        _raw("id-multibyte-over-512-bytes", "sizes", "too_large", id="é" * 257),
        _raw("huge-url", "sizes", INDEXED, url="https://example.org/" + "a" * 900_000),
        _raw("huge-meta", "sizes", INDEXED, meta={f"k{i}": "v" * 8 for i in range(60_000)}),
        _raw("body-at-limit", "sizes", INDEXED, body="word " * 199_999),
        # --- numbers -----------------------------------------------------------------------------
        Case("nan", "numbers", b'{"title": "Hostile case nan", "body": "b", "meta": {"n": NaN}}', "not_json"),
        Case(
            "infinity", "numbers", b'{"title": "Hostile case inf", "body": "b", "meta": {"n": -Infinity}}', "not_json"
        ),
        Case("1e999", "numbers", b'{"title": "Hostile case 1e999", "body": "b", "meta": {"n": 1e999}}', "not_json"),
        Case(
            "long-integer",
            "numbers",
            b'{"title": "Hostile case long-integer", "body": "b", "meta": {"n": 1' + b"0" * 2000 + b"}}",
            "not_json",
            note="the engine's parser refuses numbers over 1000 characters",
        ),
        Case(
            "huge-integer",
            "numbers",
            b'{"title": "Hostile case huge-integer", "body": "b", "meta": {"n": 1' + b"0" * 5000 + b"}}",
            "not_json",
        ),
        # --- dates -------------------------------------------------------------------------------
        _raw("date-nonsense", "dates", "bad_date", published_at="the day after tomorrow"),
        _raw("date-year-99999", "dates", "bad_date", published_at="99999-01-01T00:00:00Z"),
        _raw("date-feb-30", "dates", "bad_date", published_at="2024-02-30"),
        _raw("date-overflow", "dates", "bad_date", published_at="9999-12-31T23:59:59-01:00"),
        _raw("date-number", "dates", "wrong_type", published_at=1714560000),
        _raw("date-rfc2822", "dates", INDEXED, published_at="Wed, 01 May 2024 14:00:00 +0200"),
        _raw("date-no-timezone", "dates", INDEXED, published_at="2024-05-01T12:00:00"),
        _raw("date-year-1", "dates", INDEXED, published_at="0001-01-01"),
        _raw("date-huge", "dates", "bad_date", published_at="2024-05-01T" + "1" * 500_000),
        # --- language hints ----------------------------------------------------------------------
        _raw("language-bogus", "languages", "bad_language", language="klingon"),
        _raw("language-xx-YY", "languages", "bad_language", language="xx-YY"),
        _raw("language-3-letter", "languages", "bad_language", language="nld"),
        _raw("language-empty", "languages", INDEXED, language=""),
        _raw("language-number", "languages", "wrong_type", language=31),
        _raw("language-region-script", "languages", INDEXED, language="zh_Hant-TW"),
        # --- scripts -----------------------------------------------------------------------------
        _raw("arabic", "scripts", INDEXED, body="التقى بوتين وماكرون في موسكو لبحث الحرب في أوكرانيا."),
        _raw("chinese", "scripts", INDEXED, body="普京与马克龙在莫斯科会谈，讨论乌克兰局势。"),
        _raw("cyrillic", "scripts", INDEXED, body="Путин встретился с Макроном в Москве."),
        _raw("emoji-only", "scripts", INDEXED, title="🔥🔥 🚀", body="👍🏽👨‍👩‍👧‍👦 🇳🇱"),
        _raw("rtl-marks", "scripts", INDEXED, body="\u202eשלום\u202c \u200fעולם\u200f " + BODY),
        _raw("zero-width-inside", "scripts", INDEXED, body="Poe\u200btin\u200d en Mac\u2060ron " + BODY),
        _raw("invisible-title", "scripts", "empty_field", title="\u200b\u200c\u200d\u200e\u200f\u202e\u2060\ufeff"),
        _raw("invisible-body", "scripts", "empty_field", body="\u200b" * 50 + "\u00ad\u2063"),
        # --- control characters ------------------------------------------------------------------
        _raw("nul-escapes", "controls", INDEXED, title="Hostile\u0000 case nul", body="a\u0000b " + BODY),
        Case("raw-control-byte", "controls", b'{"title": "Hostile\x01", "body": "b"}', "not_json"),
        _raw("c1-controls", "controls", INDEXED, body="\u0080\u0085\u009b[31m " + BODY + " \u007f"),
        _raw("controls-only-body", "controls", "empty_field", body="\u0000\u0001\u001f\u007f\u0090" * 1000),
        # --- HTML --------------------------------------------------------------------------------
        _raw(
            "html-script-style",
            "html",
            INDEXED,
            body="<style>p{}</style><p>" + BODY + "</p><script>alert('x')</script><!-- c -->",
        ),
        _raw("html-script-only", "html", "empty_field", body="<script>document.write('<p>hi</p>')</script>"),
        _raw("html-unclosed-script", "html", "empty_field", body="<script>var x = 1; " + BODY),
        _raw("html-tags-only-title", "html", "empty_field", title="<b></b><i> </i>"),
        _raw("html-malformed", "html", INDEXED, body="<<<>>><div <p <a href='" + BODY + " &bogus; &#xFFFFFFFF; &#0;"),
        # markup that costs a naive parser quadratic time (each one ~1-2 MB)
        _raw("html-space-runs", "html", INDEXED, body="<i> </i>" * 240_000 + BODY),
        _raw("html-unclosed-pi", "html", INDEXED, body=BODY + "<?" * 450_000),
        _raw("html-unclosed-bang", "html", INDEXED, body=BODY + "<b>" + "<!" * 450_000),
        _raw("html-unclosed-comments", "html", INDEXED, body=BODY + "<!--x>" * 150_000),
        _raw("html-unclosed-cdata", "html", INDEXED, body=BODY + "<![CDATA[x]>" * 75_000),
        _raw("html-bad-marked-section", "html", INDEXED, body="<p>" + BODY + " <![ x</p><![foo[ y ]]>"),
        _raw("html-unclosed-attr", "html", INDEXED, body=BODY + "<a b='" * 150_000),
        # --- enrichment explosions ---------------------------------------------------------------
        _raw("names-30000x", "enrich", INDEXED, body="Poetin Macron " * 30_000, note="60,000 mentions, capped"),
        _raw("names-in-one-token", "enrich", INDEXED, body="Poetin,Macron," * 65_000),
        _raw("one-huge-token", "enrich", INDEXED, body="A" * 999_000),
        _raw("punctuation-flood", "enrich", INDEXED, body=BODY + " " + "'\"" * 450_000),
        _raw("punctuation-words", "enrich", INDEXED, body=BODY + " " + ("'\"" * 16 + " ") * 27_000),
        _raw("many-newlines", "enrich", INDEXED, body="Poetin\n" + "\n" * 500_000 + "Macron"),
        _raw("newlines-only-body", "enrich", "empty_field", body="\n\r\n" * 10_000),
        # --- Kafka -------------------------------------------------------------------------------
        Case("tombstone", "kafka", None, "empty_payload", key=b"deleted-article"),  # a tombstone has a key
        Case("empty-value", "kafka", b"", "empty_payload"),
        Case("binary-key", "kafka", _j(_art("binary-key")), INDEXED, key=b"\xff\x00\xfe"),
        Case("timestamp-year-300000", "kafka", _j(_art("timestamp")), INDEXED, timestamp_ms=9_000_000_000_000_000),
    ]
    enriched = [
        Case("enriched-id-null", "enriched", _j({"id": None}), "bad_enriched_record", "enriched"),
        Case("enriched-id-number", "enriched", _j(_enriched(42)), "bad_enriched_record", "enriched"),
        Case("enriched-id-blank", "enriched", _j(_enriched("  ")), "bad_enriched_record", "enriched"),
        Case("enriched-id-over-512", "enriched", _j(_enriched("e" * 600)), "bad_enriched_record", "enriched"),
        Case("enriched-not-json", "enriched", b"{not json", "bad_enriched_record", "enriched"),
        Case("enriched-array", "enriched", _j([_enriched("e-array")]), "bad_enriched_record", "enriched"),
        Case("enriched-tombstone", "enriched", None, "bad_enriched_record", "enriched", key=b"deleted-article"),
        Case("enriched-not-utf8", "enriched", b'{"id": "e-\xff"}', "bad_enriched_record", "enriched"),
        Case(
            "enriched-nan",
            "enriched",
            _j(_enriched("e-nan")).replace(b'"entity_count": 0', b'"entity_count": NaN'),
            "bad_enriched_record",
            "enriched",
        ),
        Case(
            "enriched-lone-surrogate",
            "enriched",
            _j(_enriched("e-surrogate")).replace(b'"meta": {}', b'"meta": {"x": "\\ud800"}'),
            "bad_enriched_record",
            "enriched",
        ),
        Case(
            "enriched-pipeline-string",
            "enriched",
            _j(_enriched("e-pipe", pipeline="x")),
            "bad_enriched_record",
            "enriched",
        ),
        Case(
            "enriched-long-integer",
            "enriched",
            _j(_enriched("e-int")).replace(b'"entity_count": 0', b'"entity_count": 1' + b"0" * 2000),
            "bad_enriched_record",
            "enriched",
        ),
        Case(
            "enriched-deep",
            "enriched",
            _j(_enriched("e-deep")).replace(b'"meta": {}', b'"meta": ' + b"[" * 500 + b"]" * 500),
            "bad_enriched_record",
            "enriched",
        ),
        Case("enriched-pipeline-null", "enriched", _j(_enriched("e-pipe-null", pipeline=None)), INDEXED, "enriched"),
        Case(
            "enriched-date-not-a-date",
            "enriched",
            _j(_enriched("e-date", published_at="not a date")),
            "rejected_400",
            "enriched",
        ),
        Case(
            "enriched-object-for-keyword",
            "enriched",
            _j(_enriched("e-source", source={"name": "x"})),
            "rejected_400",
            "enriched",
        ),
        Case(
            "enriched-string-for-object",
            "enriched",
            _j(_enriched("e-topics", topics="Poetin")),
            "rejected_400",
            "enriched",
        ),
        Case(
            "enriched-entities-string",
            "enriched",
            _j(_enriched("e-entities", entities="Poetin")),
            INDEXED,
            "enriched",
            note="entities is kept in _source unparsed; entity_texts is derived from a list only",
        ),
        Case(
            "enriched-forged-derived-fields",
            "enriched",
            _j(_enriched("e-derived", title_nl={"x": 1}, body_en=[1, 2], entity_texts={"a": "b"})),
            INDEXED,
            "enriched",
            note="the indexer replaces derived fields, whatever the record carries",
        ),
        Case(
            "enriched-metadata-field",
            "enriched",
            _j(_enriched("e-meta-field", _id="other")),
            "rejected_400",
            "enriched",
        ),
        Case("enriched-valid", "enriched", _j(_enriched("e-valid")), INDEXED, "enriched"),
    ]
    cases = raw + enriched
    assert len({c.kind for c in cases}) == len(cases), "kinds must be unique"
    return cases


if __name__ == "__main__":
    for case in corpus():
        size = 0 if case.value is None else len(case.value)
        print(f"{case.group:10} {case.kind:32} {case.topic:8} {size:>9} B  {case.expect}")
