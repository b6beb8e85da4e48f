"""`newsstreams dlq show|replay`: the dead-letter topic."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from streams.cli.common import app, console, err, fail, print_json, say
from streams.settings import get_settings

dlq_app = typer.Typer(no_args_is_help=True, help="Inspect and replay the dead-letter topic.")
app.add_typer(dlq_app, name="dlq")


ERROR_CHARS = 60
PREVIEW_CHARS = 60


def _short(value: Any, chars: int) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _preview(record: dict | None) -> str:
    from streams.contracts.dlq import dlq_payload_bytes

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
        table.add_row(
            e.failed_at.strftime("%Y-%m-%d %H:%M:%S"),
            Text(str(rec.get("stage", "-"))),
            Text(str(rec.get("reason", "unreadable"))),
            Text(_short(rec.get("error") or e.problem, ERROR_CHARS)),
            Text(_preview(e.record)),
            Text(origin if e.record else "-"),
        )
    return table


def _legend(entries: list) -> Table:
    """What each reason code among ``entries`` means (the README lists them all)."""
    from streams.contracts.dlq import describe

    table = Table("reason", "meaning", box=None, header_style="bold", title="reasons", title_justify="left")
    for reason in dict.fromkeys(str(e.record.get("reason")) for e in entries if e.record is not None):
        table.add_row(Text(reason), Text(describe(reason)))
    return table


def _targets(counts: Any) -> str:
    """``{"articles.raw": 2}`` -> "to articles.raw"; several topics -> ": 2 to a, 1 to b"."""
    if len(counts) <= 1:
        return "".join(f" to {topic}" for topic in counts)
    return ": " + ", ".join(f"{n} to {topic}" for topic, n in counts.items())


def _read_dlq(kafka: Any) -> list:
    from streams.kafka import KafkaUnavailable
    from streams.ops.dlq import read_dlq

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
        print_json([e.to_json() for e in shown])
        return
    say(
        console,
        f"{len(entries)} record(s) in {kafka.topic_dlq}"
        + (f", the newest {len(shown)} below" if len(shown) < len(entries) else ""),
    )
    if shown:
        console.print(_dlq_table(shown))
        if any(e.record is not None for e in shown):
            console.print(_legend(shown))


def _since(value: str | None) -> Any:
    from streams.contracts.dates import parse_time

    try:
        return parse_time(value) if value else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@dlq_app.command("replay")
def dlq_replay(
    since: Annotated[
        str | None,
        typer.Option(help="Only records that failed at/after this ISO date or time.", callback=_since),
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="Only records with this reason code, e.g. not_json (see the README).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be replayed; send nothing.")] = False,
) -> None:
    """Re-send matching records' original bytes (and keys) to where they failed.

    Validate- and enrich-stage records (raw articles) go to kafka.topic_raw, to be validated and
    enriched again; index-stage records (enriched documents) go back to the topic they were read
    from, kafka.topic_enriched, to be indexed again without a second enrichment. The records stay in
    the DLQ (Kafka is append-only); re-processing is idempotent by article id.
    """
    from streams.kafka import KafkaUnavailable
    from streams.kafka.consumer import require_topic
    from streams.kafka.producer import ArticleProducer
    from streams.ops.dlq import replay, replay_targets, select

    kafka = get_settings().kafka
    entries = select(_read_dlq(kafka), since=since, reason=reason)  # since: a datetime (see _since)
    targets = replay_targets(entries, kafka.topic_raw)
    if dry_run or not entries:
        if entries:
            console.print(_dlq_table(entries))
        say(
            console,
            f"would replay {len(entries)} record(s){_targets(targets)} (dry run)" if dry_run else "no matching records",
        )
        return
    try:
        for topic in targets:
            require_topic(kafka, topic)
        with ArticleProducer(kafka, topic=kafka.topic_raw) as producer:
            report = replay(entries, producer, kafka.topic_raw)
    except KafkaUnavailable as exc:
        fail(str(exc), 2)
    for entry, error in report.failed:
        say(err, ("not replayed ", "bold red"), f"{kafka.topic_dlq}/{entry.partition}@{entry.offset}: {error}")
    say(
        console,
        f"replayed {report.sent} record(s)"
        + (_targets(report.sent_to) if report.sent else "")
        + (f", {len(report.failed)} failed" if report.failed else ""),
    )
    if report.failed:
        raise typer.Exit(1)
