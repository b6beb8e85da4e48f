"""The `newsstreams` command line."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.columns import Columns
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from streams.settings import get_settings
from streams.stack import Stack, StackError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
stack_app = typer.Typer(no_args_is_help=True, help="The local Kafka + OpenSearch (no Docker needed).")
app.add_typer(stack_app, name="stack")
dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay the dead-letter topic.")
app.add_typer(dlq_app, name="dlq")

console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _stack() -> Stack:
    return Stack(get_settings().stack, say=lambda m: console.print(m, highlight=False))


@stack_app.command("up")
def stack_up() -> None:
    """Start Kafka and OpenSearch (fetching the jars once) and wait until both answer."""
    try:
        _stack().up()
    except StackError as e:
        fail(str(e))


@stack_app.command("down")
def stack_down() -> None:
    """Stop both services (SIGTERM, then SIGKILL after stack.stop_timeout_s)."""
    _stack().down()


@stack_app.command("status")
def stack_status() -> None:
    """Show each service's state; exit 0 only when both are up."""
    rows = _stack().status()
    table = Table("service", "state", "pid", "address", "RSS MB", "peak MB")
    for s in rows:
        colour = {"up": "green", "starting": "yellow", "down": "red"}[s.state]
        mb = lambda v: f"{v:.0f}" if v else "-"  # noqa: E731
        table.add_row(s.name, f"[{colour}]{s.state}[/]", str(s.pid or "-"), s.address,
                      mb(s.rss_mb), mb(s.peak_mb))
    console.print(table)
    if any(s.state != "up" for s in rows):
        raise typer.Exit(3)


@stack_app.command("logs")
def stack_logs(
    service: Annotated[str, typer.Argument(help="kafka or opensearch")],
    lines: Annotated[int, typer.Option("--lines", "-n")] = 50,
) -> None:
    """Print the last lines of a service's log."""
    if service not in ("kafka", "opensearch"):
        fail("service must be 'kafka' or 'opensearch'")
    print(_stack().tail(service, lines))


# --- produce --------------------------------------------------------------------------------

PROGRESS_MIN_ARTICLES = 20  # below this a bar would only flicker


def _say(console_: Console, *parts: str | tuple[str, str]) -> None:
    # Text, not markup: origins, ids and errors are user data and may contain "[...]".
    # soft_wrap: one line per message even when stderr is not a terminal (80 columns).
    console_.print(Text.assemble(*parts), soft_wrap=True, highlight=False)


def _read_articles(paths: list[str], source: str | None, language: str | None) -> tuple[list, int]:
    from streams.ingest import read_inputs

    articles, rejected = [], 0
    for origin, article, problem in read_inputs(paths, source=source, language=language,
                                                limits=get_settings().limits):
        if article is None:
            rejected += 1
            _say(err, ("rejected ", "bold red"), f"{origin}: {problem}")
        else:
            articles.append(article)
    return articles, rejected


def _send(producer: Any, articles: list) -> Any:
    if len(articles) <= PROGRESS_MIN_ARTICLES:
        return producer.send_many(articles)
    columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("send", total=len(articles))
        return producer.send_many(
            articles, on_progress=lambda done, _total: progress.update(task, completed=done)
        )


def _check_language(language: str | None) -> str | None:
    from streams.models import normalise_language

    try:
        return normalise_language(language) if language else None
    except ValueError as exc:
        fail(f"--language: {exc}", 2)


@app.command()
def produce(
    paths: Annotated[list[str], typer.Argument(
        help="Files (.txt, .json, .jsonl), directories (recursive) or - for stdin.", show_default=False)],
    source: Annotated[str | None, typer.Option(help="Source for articles that name none, e.g. nos.nl.")] = None,
    language: Annotated[str | None, typer.Option(
        help="Language hint (ISO 639-1) for articles that give none.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to send to. [default: kafka.topic_raw]")] = None,
) -> None:
    """Validate articles and send them to Kafka, keyed by article id; waits for every acknowledgement.

    Each rejected input is reported on stderr. Exit 1 if anything was rejected or not delivered,
    2 if Kafka or the topic is unavailable.
    """
    from streams.ingest import ArticleProducer, KafkaUnavailable
    from streams.ingest.consumer import require_topic

    kafka = get_settings().kafka
    topic = topic or kafka.topic_raw
    articles, rejected = _read_articles(paths, source, _check_language(language))
    delivered, failed = 0, []
    if articles:
        try:
            require_topic(kafka, topic)
            with ArticleProducer(kafka, topic=topic) as producer:
                report = _send(producer, articles)
        except KafkaUnavailable as exc:
            fail(str(exc), 2)
        delivered, failed = report.delivered, report.failed
    for article_id, error in failed:
        _say(err, ("not delivered ", "bold red"), f"{article_id}: {error}")
    summary = f"sent {delivered}, rejected {rejected}" + (f", failed {len(failed)}" if failed else "")
    _say(console, summary + (f" (topic {topic})" if delivered else ""))
    if rejected or failed:
        raise typer.Exit(1)


# --- search ---------------------------------------------------------------------------------

TITLE_CHARS = 80
MAX_DATE_BUCKETS = 10


def _print_json(data: Any) -> None:
    # Plain stdout, not rich: no wrapping, no markup, valid JSON for pipes.
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


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


def _hits_table(result: Any) -> Table:
    table = Table("#", "title / matches", "date", "lang", "entities", "topics", show_lines=True)
    for n, hit in enumerate(result.hits, start=1):
        date = (hit.published_at or "-")[:16].replace("T", " ")
        table.add_row(str(n), _title_cell(hit), date, hit.language or "-",
                      Text(", ".join(hit.entities)), Text(", ".join(hit.topics)))
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


def _search_failure(exc: Exception, alias: str) -> str:
    from streams.search import InvalidQuery, TransientSearchError

    if isinstance(exc, InvalidQuery):
        return str(exc)
    if isinstance(exc, TransientSearchError):
        return f"search engine unavailable: {exc} (newsstreams stack up, or set NEWSSTREAMS_SEARCH__URL)"
    if getattr(exc, "error_type", None) == "index_not_found_exception":
        return f"the search alias {alias!r} does not exist; `newsstreams setup` creates it"
    return f"search failed: {exc}"


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(
        help='Words to find; "a phrase", -exclude, a | b. Empty: filters only.')] = "",
    lang: Annotated[str | None, typer.Option(help="Only this language (ISO 639-1).")] = None,
    entity: Annotated[str | None, typer.Option(
        help='An entity: Wikidata QID (Q7747) or name ("Vladimir Putin").')] = None,
    topic: Annotated[str | None, typer.Option(help="IPTC code (medtop:11000000) or label (politics).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source, e.g. nos.nl.")] = None,
    since: Annotated[str | None, typer.Option(help="Published at/after (ISO date or datetime).")] = None,
    until: Annotated[str | None, typer.Option(help="Published at/before; a date includes that day.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Number of hits.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
    facets: Annotated[bool, typer.Option("--facets", help="Counts per entity, topic, language, source, day.")] = False,
) -> None:
    """Search indexed articles: highlights, filters and facets."""
    from streams.search import SearchError, search

    settings = get_settings().search
    try:
        result = search(query, lang=lang, entity=entity, topic=topic, source=source, since=since,
                        until=until, limit=limit, facets=facets, settings=settings)
    except SearchError as exc:  # InvalidQuery and TransientSearchError included
        fail(_search_failure(exc, settings.alias), 2)
    if as_json:
        _print_json(dataclasses.asdict(result))
        return
    _say(console, f"{len(result.hits)} of {result.total} matching article(s)")
    if result.hits:
        console.print(_hits_table(result))
    if facets:
        console.print(_facet_tables(result.facets))


# --- dlq ------------------------------------------------------------------------------------

ERROR_CHARS = 60
PREVIEW_CHARS = 60


def _short(value: Any, chars: int) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _preview(record: dict | None) -> str:
    from streams.models import dlq_payload_bytes

    if record is None:
        return "-"
    if record.get("payload_encoding") == "base64":
        try:
            return f"<{len(dlq_payload_bytes(record))} bytes, not UTF-8>"
        except ValueError:
            return "<corrupt base64>"
    return _short(record.get("payload"), PREVIEW_CHARS)


def _dlq_table(entries: list) -> Table:
    table = Table("failed at", "stage", "reason", "error", "payload", "from")
    for e in entries:
        rec = e.record or {}
        origin = f"{rec.get('topic', '?')}/{rec.get('partition', '?')}@{rec.get('offset', '?')}"
        table.add_row(e.failed_at.strftime("%Y-%m-%d %H:%M:%S"), Text(str(rec.get("stage", "-"))),
                      Text(str(rec.get("reason", "unreadable"))),
                      Text(_short(rec.get("error") or e.problem, ERROR_CHARS)),
                      Text(_preview(e.record)), Text(origin if e.record else "-"))
    return table


def _read_dlq(kafka: Any) -> list:
    from streams.dlq import read_dlq
    from streams.ingest import KafkaUnavailable

    try:
        return read_dlq(kafka)
    except KafkaUnavailable as exc:
        fail(str(exc), 2)


@dlq_app.command("show")
def dlq_show(
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the newest N records; 0 = all.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Records as JSON (with their DLQ position).")] = False,
) -> None:
    """List dead-lettered records, newest last. Reads from the beginning and commits nothing."""
    kafka = get_settings().kafka
    entries = _read_dlq(kafka)
    shown = entries[-limit:] if limit > 0 else entries
    if as_json:
        _print_json([e.to_json() for e in shown])
        return
    _say(console, f"{len(entries)} record(s) in {kafka.topic_dlq}"
         + (f", the newest {len(shown)} below" if len(shown) < len(entries) else ""))
    if shown:
        console.print(_dlq_table(shown))


@dlq_app.command("replay")
def dlq_replay(
    since: Annotated[str | None, typer.Option(help="Only records that failed at/after this ISO time.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only records with this reason code, e.g. not_json.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be replayed; send nothing.")] = False,
) -> None:
    """Re-send matching records' original bytes to kafka.topic_raw.

    The records stay in the DLQ (Kafka is append-only); re-processing is idempotent by article id.
    """
    from streams.dlq import parse_since, replay, select
    from streams.ingest import ArticleProducer, KafkaUnavailable
    from streams.ingest.consumer import require_topic

    kafka = get_settings().kafka
    try:
        since_at = parse_since(since) if since else None
    except ValueError as exc:
        fail(str(exc), 2)
    entries = select(_read_dlq(kafka), since=since_at, reason=reason)
    if dry_run or not entries:
        if entries:
            console.print(_dlq_table(entries))
        _say(console, f"would replay {len(entries)} record(s) to {kafka.topic_raw} (dry run)"
             if dry_run else "no matching records")
        return
    try:
        require_topic(kafka, kafka.topic_raw)
        with ArticleProducer(kafka, topic=kafka.topic_raw) as producer:
            report = replay(entries, producer, kafka.topic_raw)
    except KafkaUnavailable as exc:
        fail(str(exc), 2)
    for entry, error in report.failed:
        _say(err, ("not replayed ", "bold red"), f"{kafka.topic_dlq}/{entry.partition}@{entry.offset}: {error}")
    _say(console, f"replayed {report.sent} record(s) to {kafka.topic_raw} (index-stage records to the topic they failed on)"
         + (f", {len(report.failed)} failed" if report.failed else ""))
    if report.failed:
        raise typer.Exit(1)


def _setup_all(settings: Any) -> None:
    from streams.search import SearchError, make_backend
    from streams.topics import BrokerUnavailable, ensure_topics

    try:
        created = ensure_topics(settings.kafka)
    except BrokerUnavailable as exc:
        fail(str(exc), 2)
    k = settings.kafka
    console.print(f"topics: {k.topic_raw}, {k.topic_enriched}, {k.topic_dlq} "
                  f"({'created ' + ', '.join(created) if created else 'all present'})", highlight=False)
    backend = make_backend(settings.search)
    try:
        backend.ensure_index()
    except SearchError as exc:
        fail(f"search engine at {settings.search.url}: {exc}", 2)
    finally:
        backend.close()
    console.print(f"index template and write alias '{settings.search.alias}' ready "
                  f"({settings.search.backend} at {settings.search.url})", highlight=False)


@app.command()
def setup() -> None:
    """Create the Kafka topics and the search index template + write alias (idempotent)."""
    _setup_all(get_settings())


@app.command()
def worker(
    bootstrap_servers: Annotated[str | None, typer.Option(help="Kafka bootstrap servers")] = None,
    search_url: Annotated[str | None, typer.Option(help="Elasticsearch/OpenSearch URL")] = None,
    search_backend: Annotated[str | None, typer.Option(help="opensearch | elasticsearch")] = None,
    group_id: Annotated[str | None, typer.Option(help="consumer group (= Faust app id)")] = None,
    web_port: Annotated[int | None, typer.Option(help="Faust web port (/metrics, /health)")] = None,
    enrich_batch_size: Annotated[int | None, typer.Option()] = None,
    index_batch_size: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Run the Faust worker: the enrich and index agents (creates topics and index first)."""
    from streams.app import run_worker

    base = get_settings()
    settings = base.model_copy(update={
        "kafka": base.kafka.model_copy(update=_given(bootstrap_servers=bootstrap_servers, group_id=group_id)),
        "search": base.search.model_copy(update=_given(url=search_url, backend=search_backend)),
        "worker": base.worker.model_copy(update=_given(
            web_port=web_port, enrich_batch_size=enrich_batch_size, index_batch_size=index_batch_size)),
    })
    if settings.search.backend not in ("opensearch", "elasticsearch"):
        fail("--search-backend must be 'opensearch' or 'elasticsearch'", 2)
    _setup_all(settings)
    run_worker(settings)


def _given(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
