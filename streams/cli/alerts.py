"""`newsstreams alerts add|list|remove|tail`: saved searches that notify."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from streams.cli.common import app, console, fail, print_json, say
from streams.cli.search import EntityFilter, LangFilter, SourceFilter, TopicFilter
from streams.settings import get_settings

alerts_app = typer.Typer(
    no_args_is_help=True, help="Saved searches: one record per matching article on the alerts topic."
)
app.add_typer(alerts_app, name="alerts")


TITLE_CHARS = 100


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def _failed(exc: Exception) -> str:
    from streams.search import TransientSearchError

    if isinstance(exc, TransientSearchError):
        return f"search engine unavailable: {exc} (newsstreams stack up, or set NEWSSTREAMS_SEARCH__URL)"
    return f"alerts: {exc}"


@alerts_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The alert's name: letters, digits, '_', '.', '-' (at most 100).")],
    query: Annotated[str, typer.Argument(help="Words to find, as in `newsstreams search`. Empty: filters only.")] = "",
    lang: LangFilter = None,
    entity: EntityFilter = None,
    topic: TopicFilter = None,
    source: SourceFilter = None,
    webhook: Annotated[str | None, typer.Option(help="POST each alert record as JSON to this URL.")] = None,
) -> None:
    """Add (or replace) a saved search; articles indexed from now on that match it are alerted."""
    from streams.alerts.definitions import InvalidAlert
    from streams.alerts.manage import add_alert
    from streams.search import SearchError

    try:
        doc = add_alert(name, query, entity=entity, topic=topic, lang=lang, source=source, webhook=webhook)
    except InvalidAlert as exc:
        fail(str(exc), 2)
    except SearchError as exc:
        fail(_failed(exc), 2)
    say(console, f"alert {doc['name']!r} saved")


@alerts_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="The alerts as JSON.")] = False) -> None:
    """The saved alerts."""
    from streams.alerts.definitions import describe
    from streams.alerts.manage import list_alerts
    from streams.search import SearchError

    try:
        alerts = list_alerts()
    except SearchError as exc:
        fail(_failed(exc), 2)
    if as_json:
        print_json([{k: a.get(k) for k in ("name", "filters", "webhook", "created_at")} for a in alerts])
        return
    table = Table("name", "search", "webhook", "created")
    for a in alerts:
        table.add_row(Text(a["name"]), Text(describe(a)), Text(a.get("webhook") or "-"), a.get("created_at", "-")[:19])
    say(console, f"{len(alerts)} alert(s)")
    if alerts:
        console.print(table)


@alerts_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The alert to remove.")]) -> None:
    """Remove a saved alert (exit 1 if there is none of that name)."""
    from streams.alerts.definitions import InvalidAlert
    from streams.alerts.manage import remove_alert
    from streams.search import SearchError

    try:
        removed = remove_alert(name)
    except InvalidAlert as exc:
        fail(str(exc), 2)
    except SearchError as exc:
        fail(_failed(exc), 2)
    if not removed:
        fail(f"no alert named {name!r}", 1)
    say(console, f"alert {name!r} removed")


@alerts_app.command("tail")
def tail(
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the topic's first record, not its end.")
    ] = False,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="Stop after this many records.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Follow the alerts topic: one line per alert record (Ctrl-C stops)."""
    from streams.alerts.manage import follow
    from streams.kafka import KafkaUnavailable

    try:
        for record in follow(get_settings(), from_beginning=from_beginning, limit=limit):
            if as_json:
                typer.echo(json.dumps(record, ensure_ascii=False))
            else:
                when = (record.get("published_at") or record.get("matched_at") or "-")[:16].replace("T", " ")
                typer.echo(
                    f"{record['alert']}\t{when}\t{record.get('language') or '-'}\t"
                    f"{record.get('article_id')}\t{_short(record.get('title') or '')}"
                )
    except KafkaUnavailable as exc:  # MissingTopic included
        fail(f"{exc} (`newsstreams setup` creates the alerts topic)", 2)
