"""Shared pieces of the command line: the app, consoles, and how errors are shown."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

# The commands in `newsstreams --help`, in the order of the workflow: run the stack, set it up (and move
# an index to a new template), run the worker, feed it, look at the results and the failures; then
# tuning the enrichment, and dashboards.
WORKFLOW = (
    "stack",
    "setup",
    "reindex",
    "worker",
    "produce",
    "search",
    "stories",
    "alerts",
    "dlq",
    "enrich",
    "models",
    "gazetteer",
    "eval",
    "kibana",
)


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


def configure_logging() -> None:
    """Logging for a command: WARNING and up, in the log format of the settings in force."""
    import logging.config

    from streams.logs import logging_config
    from streams.settings import get_settings

    logging.config.dictConfig(logging_config(get_settings(), level="WARNING"))


@app.callback()
def global_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="DIR",
            help="Configuration directory: settings.toml, gazetteer/, topics/, saved objects "
            "(default: $NEWSSTREAMS_CONFIG_DIR, else the checkout's config/, else the copy installed "
            "with the package).",
        ),
    ] = None,
) -> None:
    # Runs before every subcommand, so before any settings are read: the directory is checked here
    # (a wrong --config or NEWSSTREAMS_CONFIG_DIR exits 2 whatever the command).
    from streams.settings import ConfigDirError, config_dir, use_config_dir

    try:
        if config is None:
            config_dir()
        else:
            use_config_dir(config)
    except ConfigDirError as exc:
        fail(str(exc), 2)
    if config is not None:
        configure_logging()  # main() configured it from the default directory's settings


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
