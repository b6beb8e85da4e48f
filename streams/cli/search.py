"""`newsstreams search`: highlights, filters and facets in a table or as JSON."""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

import typer
from rich.columns import Columns
from rich.table import Table
from rich.text import Text

from streams.cli.common import app, console, fail, language_code, print_json, say
from streams.settings import get_settings

TITLE_CHARS = 80
MAX_DATE_BUCKETS = 10


def _marked(fragment: str) -> Text:
    """An engine highlight ("… <em>Poetin</em> …") as Text with the matches bold. Text.append never
    parses rich markup, so "[red]" in an article stays literal."""
    text, bold = Text(), False
    for part in re.split(r"(</?em>)", " ".join(fragment.split())):
        if part in ("<em>", "</em>"):
            bold = part == "<em>"
        elif part:
            text.append(part, style="bold" if bold else None)
    return text


def _title_cell(hit: Any) -> Text:
    title = _marked(hit.highlights["title"][0]) if hit.highlights.get("title") else Text(hit.title)
    title.truncate(TITLE_CHARS, overflow="ellipsis")
    for fragment in hit.highlights.get("body", []):
        title.append("\n  … ", style="dim")
        title.append_text(_marked(fragment))
        title.append(" …", style="dim")
    return title


def _story_cell(size: int | None, languages: list[str], sources: list[str]) -> Text:
    """ "3 articles" / "nl, en, de" / the sources (dim); "-" for an article without a story."""
    if size is None:
        return Text("-")
    cell = Text(f"{size} article{'s' if size != 1 else ''}\n{', '.join(languages)}")
    if sources:
        cell.append("\n" + ", ".join(sources), style="dim")
    return cell


def _hits_table(result: Any, collapse: bool = False) -> Table:
    columns = ["#", "title / matches", "date", "lang", "entities", "topics"] + (["story"] if collapse else [])
    table = Table(*columns, show_lines=True)
    for n, hit in enumerate(result.hits, start=1):
        date = (hit.published_at or "-")[:16].replace("T", " ")
        row = [
            str(n),
            _title_cell(hit),
            date,
            hit.language or "-",
            Text(", ".join(hit.entities)),
            Text(", ".join(hit.topics)),
        ]
        if collapse:
            row.append(_story_cell(hit.story_size, hit.story_languages, hit.story_sources))
        table.add_row(*row)
    return table


def _facet_tables(facets: dict[str, list]) -> Columns:
    tables = []
    for name in ("entities", "topics", "languages", "sources", "dates"):
        buckets = facets.get(name) or []
        if name == "dates":
            buckets = buckets[-MAX_DATE_BUCKETS:]  # the most recent days
        table = Table(name, "n", box=None, header_style="bold")
        for value, count in buckets:
            table.add_row(Text(str(value)), str(count))
        tables.append(table)
    return Columns(tables, padding=(0, 4))


def search_failure(exc: Exception, alias: str) -> str:
    from streams.search import InvalidQuery, TransientSearchError

    if isinstance(exc, InvalidQuery):
        return str(exc)
    if isinstance(exc, TransientSearchError):
        return f"search engine unavailable: {exc} (newsstreams stack up, or set NEWSSTREAMS_SEARCH__URL)"
    if getattr(exc, "error_type", None) == "index_not_found_exception":
        return f"the search alias {alias!r} does not exist; `newsstreams setup` creates it"
    if "no mapping found for `story_id`" in str(exc):
        return f"the index behind {alias!r} predates stories; `newsstreams reindex` moves it to the current template"
    return f"search failed: {exc}"


def search_language(value: str | None) -> str | None:
    # Indexed documents carry a detected ISO 639-1 code, or "und" when undetermined.
    if value and value.strip().lower() == "und":
        return "und"
    return language_code(value)


# The filters of `search`, shared by `stories` and `alerts add` (the same names and meanings).
LangFilter = Annotated[
    str | None, typer.Option(help="Only this language (ISO 639-1, or und: undetermined).", callback=search_language)
]
EntityFilter = Annotated[str | None, typer.Option(help='An entity: Wikidata QID (Q7747) or name ("Vladimir Putin").')]
TopicFilter = Annotated[str | None, typer.Option(help="IPTC code (medtop:11000000) or label (politics).")]
SourceFilter = Annotated[str | None, typer.Option(help="Only this source, e.g. nos.nl.")]
SinceFilter = Annotated[str | None, typer.Option(help="Published at/after (ISO date or datetime).")]
UntilFilter = Annotated[str | None, typer.Option(help="Published at/before; a date includes that day.")]


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help='Words to find; "a phrase", -exclude, a | b. Empty: filters only.')] = "",
    lang: LangFilter = None,
    entity: EntityFilter = None,
    topic: TopicFilter = None,
    source: SourceFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Number of hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
    facets: Annotated[bool, typer.Option("--facets", help="Counts per entity, topic, language, source, day.")] = False,
    collapse: Annotated[
        bool,
        typer.Option(
            "--collapse",
            help="One hit per story, with the story's size, languages and sources; articles without a "
            "story are shown on their own.",
        ),
    ] = False,
) -> None:
    """Search indexed articles: highlights, filters and facets."""
    from streams.search import SearchError, search

    settings = get_settings().search
    try:
        result = search(
            query,
            lang=lang,
            entity=entity,
            topic=topic,
            source=source,
            since=since,
            until=until,
            limit=limit,
            facets=facets,
            collapse=collapse,
            settings=settings,
        )
    except SearchError as exc:  # InvalidQuery and TransientSearchError included
        fail(search_failure(exc, settings.alias), 2)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    if collapse:
        groups = f"{len(result.hits)} of {result.groups} result(s), one per story"
        say(console, f"{groups} ({result.total} matching article(s))")
    else:
        say(console, f"{len(result.hits)} of {result.total} matching article(s)")
    if result.hits:
        console.print(_hits_table(result, collapse))
    if facets:
        console.print(_facet_tables(result.facets))
