"""Shared pieces of the command line: the app, consoles, and how errors are shown."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

app = typer.Typer(
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
