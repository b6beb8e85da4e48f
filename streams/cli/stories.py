"""`newsstreams stories`: the largest stories of a period, in a table or as JSON."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from streams.cli.common import app, console, fail, print_json, say
from streams.cli.search import (
    TITLE_CHARS,
    EntityFilter,
    LangFilter,
    SinceFilter,
    SourceFilter,
    TopicFilter,
    UntilFilter,
    search_failure,
)
from streams.settings import get_settings


def _counts(values: dict[str, int]) -> Text:
    return Text(", ".join(f"{value} {n}" for value, n in values.items()))


def _when(value: str | None) -> str:
    return (value or "-")[:16].replace("T", " ")


def _stories_table(result: Any) -> Table:
    table = Table("#", "story (first article)", "articles", "languages", "sources", "entities", "first seen",
                  "last seen", show_lines=True)  # fmt: skip
    for n, story in enumerate(result.top, start=1):
        title = Text(story.title or "-")  # Text: article titles are never read as markup
        title.truncate(TITLE_CHARS, overflow="ellipsis")
        title.append(f"\n{story.id}", style="dim")
        table.add_row(
            str(n),
            title,
            str(story.size),
            _counts(story.languages),
            _counts(story.sources),
            Text(", ".join(story.entities)),
            _when(story.first_seen),
            _when(story.last_seen),
        )
    return table


@app.command("stories")
def stories_command(
    since: SinceFilter = None,
    until: UntilFilter = None,
    entity: EntityFilter = None,
    topic: TopicFilter = None,
    lang: LangFilter = None,
    source: SourceFilter = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Number of stories.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """The largest stories: articles grouped by story, with sizes, languages, sources, entities and
    when they were first and last seen. Sizes count the articles that pass the filters."""
    from streams.search import SearchError, top_stories

    settings = get_settings().search
    try:
        result = top_stories(
            since=since, until=until, entity=entity, topic=topic, lang=lang, source=source, limit=limit,
            settings=settings,
        )  # fmt: skip
    except SearchError as exc:  # InvalidQuery and TransientSearchError included
        fail(search_failure(exc, settings.alias), 2)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    say(console, f"{len(result.top)} of {result.stories} stories ({result.articles} articles)")
    if result.top:
        console.print(_stories_table(result))
