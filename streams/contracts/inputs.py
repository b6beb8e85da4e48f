"""User inputs → clean raw articles, one ``(origin, article, problem)`` per article found.

Exactly one of ``article`` / ``problem`` is set, so a caller can send every good article and
still report every rejected one. ``problem`` reads ``"<reason>: <message>"`` with the reason
codes of ``streams.contracts.article`` plus ``not_found``, ``unsupported_format``, ``empty_input`` and
``read_error``.

Formats: ``.txt`` (first non-empty line = title, the rest = body, as in ``seeds/``), ``.json``
(an article object or a list of them), ``.jsonl`` (one article per line), directories (recursive,
sorted, those extensions only, hidden entries skipped) and ``-`` for stdin (JSON, JSONL or text,
detected; JSONL is streamed line by line).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO

from streams.contracts.article import InvalidArticle, clean_article, load_json, max_payload_bytes
from streams.settings import LimitSettings

EXTENSIONS = (".txt", ".json", ".jsonl")
STDIN = "-"

Result = tuple[str, dict[str, Any] | None, str | None]


class _Reader:
    def __init__(self, source: str | None, language: str | None, limits: LimitSettings):
        self.defaults = {k: v for k, v in (("source", source), ("language", language)) if v}
        self.limits = limits

    def article(self, origin: str, data: Any) -> Result:
        if isinstance(data, dict):
            data = dict(data)
            for key, value in self.defaults.items():
                if data.get(key) is None or data.get(key) == "":  # fill gaps, never override
                    data[key] = value
        try:
            return origin, clean_article(data, self.limits), None
        except InvalidArticle as exc:
            return origin, None, f"{exc.reason}: {exc.error}"

    def text(self, origin: str, raw: bytes) -> Iterator[Result]:
        if len(raw) > max_payload_bytes(self.limits):
            yield origin, None, f"too_large: {len(raw)} bytes, the body limit is {self.limits.max_body_bytes}"
            return
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield origin, None, f"not_utf8: {exc}"
            return
        lines = text.splitlines()
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None:
            yield origin, None, "empty_input: no text"
            return
        yield self.article(origin, {"title": lines[first], "body": "\n".join(lines[first + 1 :])})

    def json(self, origin: str, raw: bytes) -> Iterator[Result]:
        try:
            # A .json file may hold many articles, so only the per-article limits apply.
            data = load_json(raw.removeprefix(b"\xef\xbb\xbf"), self.limits, check_size=False)
        except InvalidArticle as exc:
            yield origin, None, f"{exc.reason}: {exc.error}"
            return
        if isinstance(data, list):
            if not data:
                yield origin, None, "empty_input: empty list"
            for i, item in enumerate(data):
                yield self.article(f"{origin}[{i}]", item)
        else:
            yield self.article(origin, data)

    def jsonl(self, origin: str, lines: Iterable[bytes]) -> Iterator[Result]:
        seen = False
        for number, line in enumerate(lines, start=1):
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            seen = True
            where = f"{origin}:{number}"
            try:
                data = load_json(line.strip(), self.limits)
            except InvalidArticle as exc:
                yield where, None, f"{exc.reason}: {exc.error}"
                continue
            yield self.article(where, data)
        if not seen:
            yield origin, None, "empty_input: no lines"

    def file(self, path: Path) -> Iterator[Result]:
        origin = str(path)
        suffix = path.suffix.lower()
        if suffix not in EXTENSIONS:
            yield origin, None, f"unsupported_format: expected one of {', '.join(EXTENSIONS)}"
            return
        try:
            if suffix == ".jsonl":
                with path.open("rb") as fh:
                    yield from self.jsonl(origin, fh)
                return
            raw = path.read_bytes()
        except OSError as exc:
            yield origin, None, f"read_error: {exc.strerror or exc}"
            return
        yield from (self.text if suffix == ".txt" else self.json)(origin, raw)

    def stdin(self, stream: BinaryIO) -> Iterator[Result]:
        origin = "<stdin>"
        # JSONL is read line by line as it arrives, so a live feed (`tail -f feed.jsonl | ...`) is
        # sent as it comes and memory stays flat; it is recognised by its first non-blank line being
        # a whole JSON object. Everything else (a JSON document, text) is read to the end first.
        head: list[bytes] = []
        for line in stream:
            head.append(line)
            if line.strip():
                break
        first = b"".join(head).removeprefix(b"\xef\xbb\xbf").strip()
        if first[:1] == b"{" and _is_json(first):
            yield from self.jsonl(origin, chain(head, stream))
            return
        raw = b"".join(head) + stream.read()
        head = raw.removeprefix(b"\xef\xbb\xbf").lstrip()
        if head[:1] in (b"{", b"["):
            try:
                load_json(head, self.limits, check_size=False)
            except InvalidArticle as exc:
                if exc.reason != "not_json":
                    yield origin, None, f"{exc.reason}: {exc.error}"
                    return
                # "[Update] ..." or "{...} ..." is a text article whose title starts with a bracket.
            else:
                yield from self.json(origin, head)
                return
        yield from self.text(origin, raw)


def _is_json(line: bytes) -> bool:
    try:
        load_json(line, check_size=False)
    except InvalidArticle:
        return False
    return True


def walk(directory: Path) -> list[Path]:
    """Supported files under ``directory``, recursively, sorted by path (a/1 < a/b/2 < b/3)."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(root, name) for name in files if not name.startswith(".") and Path(name).suffix.lower() in EXTENSIONS
        ]
    return sorted(found, key=lambda p: p.relative_to(directory).parts)


def read_inputs(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    source: str | None = None,
    language: str | None = None,
    limits: LimitSettings | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Result]:
    """Yield ``(origin, clean_article, None)`` or ``(origin, None, problem)`` for each input.

    ``source``/``language`` fill those fields where an input lacks them (they never override).
    """
    reader = _Reader(source, language, limits or LimitSettings())
    for item in inputs:
        if str(item) == STDIN:
            yield from reader.stdin(stdin or sys.stdin.buffer)
            continue
        path = Path(item)
        if path.is_dir():
            found = False
            for file in walk(path):
                found = True
                yield from reader.file(file)
            if not found:
                yield str(path), None, f"empty_input: no {', '.join(EXTENSIONS)} files"
        elif path.exists():
            yield from reader.file(path)
        else:
            yield str(path), None, "not_found: no such file or directory"
