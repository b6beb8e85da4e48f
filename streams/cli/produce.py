"""`newsstreams produce`: validate articles and send them to Kafka."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from streams.cli.common import app, console, err, fail, say
from streams.settings import get_settings

PROGRESS_MIN_ARTICLES = 20  # below this a bar would only flicker


def _read_articles(paths: list[str], source: str | None, language: str | None) -> tuple[list, int]:
    from streams.contracts.inputs import read_inputs

    articles, rejected = [], 0
    for origin, article, problem in read_inputs(paths, source=source, language=language, limits=get_settings().limits):
        if article is None:
            rejected += 1
            say(err, ("rejected ", "bold red"), f"{origin}: {problem}")
        else:
            articles.append(article)
    return articles, rejected


def _send(producer: Any, articles: list) -> Any:
    if len(articles) <= PROGRESS_MIN_ARTICLES:
        return producer.send_many(articles)
    columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("send", total=len(articles))
        return producer.send_many(articles, on_progress=lambda done, _total: progress.update(task, completed=done))


def _check_language(language: str | None) -> str | None:
    from streams.contracts.languages import normalise_language

    try:
        return normalise_language(language) if language else None
    except ValueError as exc:
        fail(f"--language: {exc}", 2)


@app.command()
def produce(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files (.txt, .json, .jsonl), directories (recursive) or - for stdin.", show_default=False),
    ],
    source: Annotated[str | None, typer.Option(help="Source for articles that name none, e.g. nos.nl.")] = None,
    language: Annotated[str | None, typer.Option(help="Language hint (ISO 639-1) for articles that give none.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to send to. [default: kafka.topic_raw]")] = None,
) -> None:
    """Validate articles and send them to Kafka, keyed by article id; waits for every acknowledgement.

    Each rejected input is reported on stderr. Exit 1 if anything was rejected or not delivered,
    2 if Kafka or the topic is unavailable.
    """
    from streams.kafka import KafkaUnavailable
    from streams.kafka.consumer import require_topic
    from streams.kafka.producer import ArticleProducer

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
        say(err, ("not delivered ", "bold red"), f"{article_id}: {error}")
    summary = f"sent {delivered}, rejected {rejected}" + (f", failed {len(failed)}" if failed else "")
    say(console, summary + (f" (topic {topic})" if delivered else ""))
    if rejected or failed:
        raise typer.Exit(1)
