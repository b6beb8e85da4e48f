"""`newsstreams reindex`: move the articles alias to a new index with the current template."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer

from streams.cli.common import app, console, err, fail, say
from streams.settings import get_settings


@app.command()
def reindex(
    keep_old: Annotated[
        bool, typer.Option("--keep-old/--delete-old", help="Keep the old index (out of the alias) or delete it.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the index is on the current template.")
    ] = False,
    settle_s: Annotated[
        float | None,
        typer.Option(
            "--settle-s",
            min=0,
            help="Seconds for bulk requests under way at the switch to land in the old index before the "
            "catch-up copy. [default: search.timeout_s]",
        ),
    ] = None,
) -> None:
    """Move the articles alias to a new index made from the current template, without downtime.

    Readers keep searching the old index while the engine copies it; then the alias switches in one
    step. Workers may keep running: from the start they write to the new index. Interrupted? Run it
    again: it resumes.
    """
    from streams.ops.reindex import reindex as run
    from streams.search import SearchError, TransientSearchError
    from streams.search.template import TEMPLATE_VERSION

    settings = get_settings().search
    display, progress = _progress()
    try:
        with display or contextlib.nullcontext():
            report = run(settings, keep_old=keep_old, force=force, settle_s=settle_s, progress=progress)
    except TransientSearchError as exc:
        fail(f"search engine unavailable: {exc} (newsstreams stack up, or set NEWSSTREAMS_SEARCH__URL)", 2)
    except SearchError as exc:
        fail(str(exc), 2)
    versions = ", ".join(f"{index} (version {v if v is not None else '?'})" for index, v in report.old_versions.items())
    if report.new is None:
        say(
            console, f"alias {report.alias!r}: {versions} already on template version {TEMPLATE_VERSION}; nothing to do"
        )
        return
    say(
        console,
        ("resumed: " if report.resumed else "", ""),
        f"alias {report.alias!r} moved from {versions} to ",
        (report.new, "bold"),
        f" (version {report.version}): {report.count:,} documents "
        f"({report.copied:,} copied, {report.caught_up:,} caught up) in {report.seconds:.1f}s",
    )
    if report.deleted:
        say(console, f"deleted {', '.join(report.deleted)}")
    if report.kept:
        note = "" if report.count >= report.old_count else f": it has {report.old_count:,} documents, the new one fewer"
        say(console, f"kept {', '.join(report.kept)} (out of the alias){note}")


def _progress() -> tuple[Any, Any]:
    """(a rich Progress or None, the callback): a bar on a terminal, else a line per stage and 10%."""
    if not err.is_terminal:
        last: dict[str, int] = {}

        def line(stage: str, done: int, total: int | None) -> None:
            tenth = 10 * done // total if total else 0
            if last.get(stage) != tenth and (total or done == 0):
                last[stage] = tenth
                say(err, f"{stage}: {done:,} of {total or 0:,} documents")

        return None, line
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    display = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )
    tasks: dict[str, Any] = {}

    def bar(stage: str, done: int, total: int | None) -> None:
        if stage not in tasks:
            tasks[stage] = display.add_task(stage, total=None)
        display.update(tasks[stage], completed=done, total=total)

    return display, bar
