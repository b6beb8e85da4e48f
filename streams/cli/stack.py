"""`newsstreams stack ...`: the local Kafka + OpenSearch."""

from __future__ import annotations

from typing import Annotated, Literal

import typer
from rich.table import Table

from streams.cli.common import app, console, fail
from streams.ops.stack import Stack, StackError
from streams.settings import get_settings

stack_app = typer.Typer(no_args_is_help=True, help="The local Kafka + OpenSearch (no Docker needed).")
app.add_typer(stack_app, name="stack")


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


ServiceName = Literal["kafka", "opensearch"]  # the names of streams.ops.stack.services


@stack_app.command("start")
def stack_start(
    service: Annotated[ServiceName, typer.Argument(help="The service to start.", show_default=False)],
) -> None:
    """Start one service (unless it runs) and wait until it answers."""
    try:
        _stack().start(service)
    except StackError as e:
        fail(str(e))


@stack_app.command("stop")
def stack_stop(
    service: Annotated[ServiceName, typer.Argument(help="The service to stop.", show_default=False)],
    kill: Annotated[bool, typer.Option("--kill", help="SIGKILL at once, as a crash would.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0,
            help="Seconds between SIGTERM and SIGKILL [default: stack.stop_timeout_s].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Stop one service: SIGTERM, then SIGKILL after the timeout; --kill for an immediate SIGKILL."""
    _stack().stop(service, kill=kill, timeout_s=timeout)


@stack_app.command("status")
def stack_status() -> None:
    """Show each service's state; exit 0 only when both are up."""
    rows = _stack().status()
    table = Table("service", "state", "pid", "address", "RSS MB", "peak MB")
    for s in rows:
        colour = {"up": "green", "starting": "yellow", "down": "red"}[s.state]
        mb = lambda v: f"{v:.0f}" if v else "-"  # noqa: E731
        table.add_row(s.name, f"[{colour}]{s.state}[/]", str(s.pid or "-"), s.address, mb(s.rss_mb), mb(s.peak_mb))
    console.print(table)
    if any(s.state != "up" for s in rows):
        raise typer.Exit(3)


@stack_app.command("logs")
def stack_logs(
    service: Annotated[ServiceName, typer.Argument(help="The service whose log to print.", show_default=False)],
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many of the last lines.")] = 50,
) -> None:
    """Print the last lines of a service's log."""
    print(_stack().tail(service, lines))
