"""Text cleaning for article fields: HTML to text, control characters out, whitespace normalised. Pure."""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from html.parser import HTMLParser
from typing import Any

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
_NEWLINES = str.maketrans({"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"})
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
        # Each run of markers (with the whitespace between them) becomes one break and eats the
        # whitespace around it. Matched from the marker on: a pattern that starts with \s* would
        # rescan a long run of spaces from each of its positions (quadratic time).
        raw = "".join(self.parts)
        out, pos = [], 0
        for m in _MARKERS.finditer(raw):
            out += [raw[pos : m.start()].rstrip(), _layout(m)]
            pos = _SPACES.match(raw, m.end()).end()  # type: ignore[union-attr] - \s* always matches
        out.append(raw[pos:])
        return "".join(out)


_SPACES = re.compile(r"\s*")
_MARKERS = re.compile(rf"(?:{_PARA}|{_BR}|{_LINE})(?:\s*(?:{_PARA}|{_BR}|{_LINE}))*")


def _layout(m: re.Match) -> str:
    # Any block boundary or <br><br> is a paragraph break; a single <br> or list item a line break.
    return "\n\n" if _PARA in m.group(0) or m.group(0).count(_BR) > 1 else "\n"


# Markup openers, and what closes each: the stdlib parser searches for the closer from every opener,
# and one without a closer later in the text costs a scan to its end (quadratic time for 1 MB of
# "<?" or "<!--x>"). Such an opener cannot be markup, so it is escaped and stays text.
_OPENER = re.compile(r"<(?:!--|!\[|[!?/a-zA-Z])?")
_COMMENT_CLOSE = re.compile(r"--\s*>")  # html.parser's closers
_SECTION_CLOSE = re.compile(r"\]\s*\]\s*>")
_MS_SECTION_CLOSE = re.compile(r"\]\s*>")
# The marked sections html.parser knows (any other "<![" makes it raise), by the closer each needs.
_SECTION = re.compile(r"<!\[(?:(cdata|temp|ignore|include|rcdata)|if|else|endif)(?![-_.a-zA-Z0-9])", re.IGNORECASE)


def _last_start(pattern: re.Pattern, text: str) -> int:
    last = -1
    for m in pattern.finditer(text):
        last = m.start()
    return last


def defuse_markup(html: str) -> str:
    """``<`` that cannot open markup (no closer after it, not followed by a tag name, or a marked
    section html.parser would refuse) → ``&lt;``, which the parser turns back into ``<`` text.
    Linear time."""
    last_gt = html.rfind(">")
    last_comment = _last_start(_COMMENT_CLOSE, html) if "<!--" in html else -1
    last_section = _last_start(_SECTION_CLOSE, html) if "<![" in html else -1
    last_ms_section = _last_start(_MS_SECTION_CLOSE, html) if "<![" in html else -1

    def escape(m: re.Match) -> str:
        opener, at = m.group(), m.start()
        if opener == "<":  # text either way; escaped, it is not handed over one character at a time
            ok = False
        elif opener == "<!--":
            ok = last_comment >= at + 4
        elif opener == "<![":
            section = _SECTION.match(html, at)
            ok = section is not None and (last_section if section.group(1) else last_ms_section) >= at + 3
        else:
            ok = last_gt > at
        return opener if ok else "&lt;" + opener[1:]

    return _OPENER.sub(escape, html)


def html_to_text(html: str) -> str:
    html = defuse_markup(_CONTROL.sub("", html))
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser raises on some malformed declarations
        return _strip_tags(html)
    return parser.text()


def _strip_tags(html: str) -> str:
    """The fallback when the parser gives up: tags dropped, entities decoded, no layout."""
    return unescape(re.sub(r"<[^<>]*>", " ", html))


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


def without_surrogates(value: Any) -> Any:
    """Lone surrogates removed from every string in a JSON value (``"\\ud800"`` escapes decode to
    them, and they cannot be encoded as UTF-8 again)."""
    if isinstance(value, str):
        return _SURROGATES.sub("", value)
    if isinstance(value, dict):
        return {_SURROGATES.sub("", k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    return value


# Unicode's Default_Ignorable_Code_Point: zero-width spaces and joiners, bidi marks and overrides,
# soft hyphen, variation selectors, tags... Text of only these (and whitespace) shows nothing.
_VISIBLE = re.compile(
    "[^\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)


def is_blank(value: str) -> bool:
    """True for text that shows nothing: empty, whitespace, or invisible format characters only."""
    return _VISIBLE.search(value) is None


def strip_controls(value: str) -> str:
    return _CONTROL.sub("", value).strip()
