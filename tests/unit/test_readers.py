import io
import json
import os
import threading
from pathlib import Path

import pytest

from streams.contracts.article import parse_raw
from streams.contracts.inputs import read_inputs
from streams.settings import LimitSettings

SEED = Path(__file__).resolve().parents[2] / "seeds" / "000_d6634ea9b322a4cb.txt"


def read(*inputs, **options):
    return list(read_inputs([str(i) for i in inputs], **options))


def good(results):
    return [article for _, article, problem in results if problem is None]


def problems(results):
    return [(origin, problem) for origin, article, problem in results if article is None]


def test_seed_file_first_line_is_title_rest_is_body():
    [(origin, article, problem)] = read(SEED, source="nos.nl", language="nl")
    assert problem is None and origin == str(SEED)
    # The seed has no separate headline: its first line is the lead paragraph.
    assert article["title"].startswith("De Russische president Poetin heeft met zijn Franse evenknie Macron")
    assert article["title"].endswith("de Russisch-Oekraïnse grens.")
    assert article["body"].startswith("Poetin zou ook toegezegd hebben")
    assert "\n\n" in article["body"]  # paragraphs kept
    assert (article["source"], article["language"]) == ("nos.nl", "nl")
    assert article["id"].startswith("h-")
    assert read(SEED, source="nos.nl", language="nl")[0][1]["id"] == article["id"]


def test_txt_skips_leading_blank_lines_and_needs_a_body(tmp_path):
    (tmp_path / "a.txt").write_text("\n\n  Kop  \nTekst\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("Alleen een kop\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text(" \n", encoding="utf-8")
    [a] = read(tmp_path / "a.txt")
    assert (a[1]["title"], a[1]["body"]) == ("Kop", "Tekst")
    assert read(tmp_path / "b.txt")[0][2] == "empty_field: body is empty"
    assert read(tmp_path / "c.txt")[0][2].startswith("empty_input")


def test_txt_not_utf8(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Kop\nOekraïne".encode("latin-1"))
    [(origin, article, problem)] = read(tmp_path / "latin1.txt")
    assert article is None and problem.startswith("not_utf8")


def test_json_object_and_list(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"title": "Een", "body": "b", "url": "https://x/1"}))
    (tmp_path / "many.json").write_text(
        json.dumps(
            [
                {"title": "Twee", "body": "b"},
                {"title": "Drie"},
                "not an article",
                {"title": "Vier", "body": "b", "source": "own.nl", "language": "de"},
            ]
        )
    )
    [one] = read(tmp_path / "one.json")
    assert one[1]["title"] == "Een" and one[1]["id"].startswith("u-")
    results = read(tmp_path / "many.json", source="default.nl", language="nl")
    assert [a["title"] for a in good(results)] == ["Twee", "Vier"]
    # Options fill gaps, never override what the input says.
    assert [(a["source"], a["language"]) for a in good(results)] == [("default.nl", "nl"), ("own.nl", "de")]
    assert problems(results) == [
        (f"{tmp_path / 'many.json'}[1]", "missing_field: body is required"),
        (f"{tmp_path / 'many.json'}[2]", "not_object: an article must be a JSON object, got str"),
    ]


def test_json_broken_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"title": "t",')
    [(origin, article, problem)] = read(tmp_path / "bad.json")
    assert article is None and problem.startswith("not_json")


def test_jsonl_reports_bad_lines_with_their_number(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(
        json.dumps({"title": "Een", "body": "b"}) + "\n"
        "\n"
        "{broken\n"
        + json.dumps({"title": "Drie", "body": "b", "language": "klingon"})
        + "\n"
        + json.dumps({"title": "Vier", "body": "b"})
        + "\r\n",
        encoding="utf-8",
    )
    results = read(path)
    assert [a["title"] for a in good(results)] == ["Een", "Vier"]
    assert [o for o, article, _ in results if article] == [f"{path}:1", f"{path}:5"]
    [(o3, p3), (o4, p4)] = problems(results)
    assert o3 == f"{path}:3" and p3.startswith("not_json")
    assert o4 == f"{path}:4" and p4.startswith("bad_language")


def test_directory_recursive_sorted_known_extensions_only(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("Twee\ntekst")
    (tmp_path / "a.json").write_text(json.dumps({"title": "Een", "body": "b"}))
    (tmp_path / "c.jsonl").write_text(json.dumps({"title": "Drie", "body": "b"}))
    (tmp_path / "notes.md").write_text("# ignored\ntext")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("Verborgen\ntekst")
    results = read(tmp_path)
    assert [a["title"] for a in good(results)] == ["Een", "Twee", "Drie"]
    assert problems(results) == []


def test_missing_and_unsupported_inputs(tmp_path):
    (tmp_path / "page.html").write_text("<p>x</p>")
    (tmp_path / "empty").mkdir()
    results = read(tmp_path / "nope.txt", tmp_path / "page.html", tmp_path / "empty")
    assert [p.split(":")[0] for _, p in problems(results)] == ["not_found", "unsupported_format", "empty_input"]


@pytest.mark.parametrize(
    ("data", "titles"),
    [
        (json.dumps({"title": "Een", "body": "b"}, indent=2), ["Een"]),
        (json.dumps([{"title": "Een", "body": "b"}, {"title": "Twee", "body": "b"}]), ["Een", "Twee"]),
        (
            json.dumps({"title": "Een", "body": "b"}) + "\n" + json.dumps({"title": "Twee", "body": "b"}) + "\n",
            ["Een", "Twee"],
        ),
        ("Een kop\n\nDe tekst.\n", ["Een kop"]),
        ("[Update] Kop met haken\nTekst.", ["[Update] Kop met haken"]),
        ('\ufeff{"title": "BOM", "body": "b"}', ["BOM"]),
    ],
)
def test_stdin_detects_json_jsonl_and_text(data, titles):
    results = read("-", stdin=io.BytesIO(data.encode("utf-8")))
    assert problems(results) == []
    assert [a["title"] for a in good(results)] == titles


def test_stdin_jsonl_bad_line_number():
    data = b'{"title": "Een", "body": "b"}\n{"title": "Twee"}\n'
    results = read("-", stdin=io.BytesIO(data))
    assert problems(results) == [("<stdin>:2", "missing_field: body is required")]


def test_readers_apply_the_limits(tmp_path):
    (tmp_path / "big.json").write_text(json.dumps({"title": "t", "body": "x" * 101}))
    [(_, article, problem)] = read(tmp_path / "big.json", limits=LimitSettings(max_body_bytes=100))
    assert article is None and problem.startswith("too_large")


def test_reader_output_round_trips_through_parse_raw(tmp_path):
    # What the CLI sends is exactly what the consumer's validation returns.
    [(_, article, _)] = read(SEED, source="nos.nl")
    assert parse_raw(json.dumps(article).encode("utf-8")) == article


def test_stdin_jsonl_is_read_as_it_arrives():
    # A live feed: the first article comes out while the writer still holds the pipe open.
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as stream, os.fdopen(write_fd, "wb") as writer:
        writer.write(b'\n{"title": "Een", "body": "b"}\n')
        writer.flush()
        results = read_inputs(["-"], stdin=stream)
        first: list = []
        reader = threading.Thread(target=lambda: first.append(next(results)), daemon=True)
        reader.start()
        reader.join(timeout=10)
        assert first and first[0][1]["title"] == "Een" and first[0][0] == "<stdin>:2"
        writer.write(b'{"title": "Twee"}\n')
        writer.close()
        assert [(origin, problem) for origin, _, problem in results] == [
            ("<stdin>:3", "missing_field: body is required")
        ]
