"""`newsstreams produce`: validate articles and send them to Kafka, reading the inputs as they go."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from streams.cli.common import app, console, err, fail, language_code, say
from streams.settings import get_settings

PROGRESS_DELAY_S = 0.5  # the bar appears once a run takes this long: a short one would only flicker


def _input_files(paths: list[str]) -> list[tuple[str, int | None]]:
    """Each input as ``read_inputs`` takes it, directories expanded to their files, with its size in
    bytes (None: stdin). A file's articles count as read when the whole file has been read."""
    from streams.contracts.inputs import STDIN, walk

    out: list[tuple[str, int | None]] = []
    for item in paths:
        path = Path(item)
        if item == STDIN:
            out.append((item, None))
        elif path.is_dir():
            files = walk(path)
            out += [(str(f), _size(f)) for f in files] or [(item, 0)]  # no files: read_inputs says so
        else:
            out.append((item, _size(path)))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # not found or unreadable: read_inputs reports it


class _Progress:
    """Input bytes read and articles acknowledged, as a bar on a terminal; nothing without one."""

    def __init__(self, files: list[tuple[str, int | None]]):
        sizes = [size for _item, size in files]
        total = sum(s for s in sizes if s is not None) if None not in sizes else None  # stdin: unknown
        self.bar = None
        if err.is_terminal:
            columns = (
                TextColumn("sending"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[sent]} sent"),
                TimeRemainingColumn(),
            )
            self.bar = Progress(*columns, console=err, transient=True, auto_refresh=True)
            self.task = self.bar.add_task("send", total=total, sent=0)
        self.started = time.monotonic()
        self.shown = False

    def read(self, nbytes: int | None) -> None:
        self._update(advance=nbytes or 0)

    def sent(self, delivered: int, _total: int | None = None) -> None:
        self._update(sent=delivered)

    def _update(self, **changes: Any) -> None:
        if self.bar is None:
            return
        self.bar.update(self.task, **changes)
        if not self.shown and time.monotonic() - self.started >= PROGRESS_DELAY_S:
            self.bar.start()
            self.shown = True

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.shown and self.bar is not None:
            self.bar.stop()


class _Articles:
    """The clean articles of the inputs, one file at a time, as the producer asks for them; each
    rejected input is reported on stderr when it is met."""

    def __init__(
        self, files: list[tuple[str, int | None]], source: str | None, language: str | None, progress: _Progress
    ):
        self.files = files
        self.source = source
        self.language = language
        self.progress = progress
        self.rejected = 0

    def __iter__(self) -> Iterator[dict]:
        from streams.contracts.inputs import read_inputs

        limits = get_settings().limits
        for item, size in self.files:
            for origin, article, problem in read_inputs(
                [item], source=self.source, language=self.language, limits=limits
            ):
                if article is None:
                    self.rejected += 1
                    say(err, ("rejected ", "bold red"), f"{origin}: {problem}")
                else:
                    yield article
            self.progress.read(size)


@app.command()
def produce(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files (.txt, .json, .jsonl), directories (recursive) or - for stdin.", show_default=False),
    ],
    source: Annotated[str | None, typer.Option(help="Source for articles that name none, e.g. nos.nl.")] = None,
    language: Annotated[
        str | None,
        typer.Option(help="Language hint (ISO 639-1) for articles that give none.", callback=language_code),
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Topic to send to. [default: kafka.topic_raw]")] = None,
) -> None:
    """Validate articles and send them to Kafka, keyed by article id; waits for every acknowledgement.

    Inputs are read while sending (a file at a time), so any amount fits in memory; on a terminal a
    bar shows the bytes read. Each rejected input is reported on stderr. Exit 1 if anything was
    rejected or not delivered, 2 if Kafka or the topic is unavailable.
    """
    from streams.kafka import KafkaUnavailable
    from streams.kafka.consumer import require_topic
    from streams.kafka.producer import ArticleProducer

    kafka = get_settings().kafka
    topic = topic or kafka.topic_raw
    files = _input_files(paths)
    delivered, failed = 0, []
    with _Progress(files) as progress:
        articles = _Articles(files, source, language, progress)
        stream = iter(articles)
        first = next(stream, None)  # Kafka is asked only once there is something to send
        if first is not None:
            try:
                require_topic(kafka, topic)
                with ArticleProducer(kafka, topic=topic) as producer:
                    report = producer.send_many(chain([first], stream), on_progress=progress.sent)
            except KafkaUnavailable as exc:
                fail(str(exc), 2)
            delivered, failed = report.delivered, report.failed
    for article_id, error in failed:
        say(err, ("not delivered ", "bold red"), f"{article_id}: {error}")
    summary = f"sent {delivered}, rejected {articles.rejected}" + (f", failed {len(failed)}" if failed else "")
    say(console, summary + (f" (topic {topic})" if delivered else ""))
    if articles.rejected or failed:
        raise typer.Exit(1)
