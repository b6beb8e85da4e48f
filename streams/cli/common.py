"""Shared pieces of the command line: the app, consoles, and how errors are shown."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

# The commands in `newsstreams --help`, in the order of the workflow: run the stack, set it up, run the
# worker, feed it, look at the results and the failures; then tuning the enrichment, and dashboards.
WORKFLOW = ("stack", "setup", "worker", "produce", "search", "dlq", "enrich", "models", "gazetteer", "eval", "kibana")


class _WorkflowGroup(TyperGroup):
    # typer lists single commands before command groups, whatever the order they were registered in.
    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(WORKFLOW)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))  # others last


app = typer.Typer(
    cls=_WorkflowGroup,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    add_completion=False,
    help="newsstreams: Kafka -> Faust enrichment -> Elasticsearch/OpenSearch, for news.",
)
console = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(Text.assemble(("error: ", "bold red"), message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def say(console_: Console, *parts: str | tuple[str, str]) -> None:
    # Text, not markup: origins, ids and errors are user data and may contain "[...]".
    # soft_wrap: one line per message even when stderr is not a terminal (80 columns).
    console_.print(Text.assemble(*parts), soft_wrap=True, highlight=False)


def print_json(data: Any) -> None:
    # Plain stdout, not rich: no wrapping, no markup, valid JSON for pipes.
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def usage_error(message: str) -> NoReturn:
    """A wrong argument or option the command itself finds: exit 2, like typer's own usage errors."""
    fail(message, 2)


def language_code(value: str | None) -> str | None:
    """Option callback: an ISO 639-1 code ("NL", "nl-BE" -> "nl"); typer reports a bad one (exit 2)."""
    from streams.contracts.languages import normalise_language

    if not value:
        return None
    try:
        return normalise_language(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
