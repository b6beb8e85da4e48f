"""`newsstreams kibana import`: the dashboards into Kibana or OpenSearch Dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from streams.cli.common import app, console, err, fail, say, usage_error
from streams.ops.dashboards import PRODUCTS
from streams.settings import get_settings

kibana_app = typer.Typer(no_args_is_help=True, help="Kibana / OpenSearch Dashboards saved objects.")
app.add_typer(kibana_app, name="kibana")


Flavour = Literal[tuple(PRODUCTS)]  # "kibana" | "opensearch-dashboards"


@kibana_app.command("import")
def import_command(
    url: Annotated[str | None, typer.Option(help="Kibana URL (default: kibana.url setting).")] = None,
    space: Annotated[str | None, typer.Option(help="Kibana space (default: kibana.space setting).")] = None,
    flavour: Annotated[
        Flavour | None,
        typer.Option(help="Kibana, or OpenSearch Dashboards (its own NDJSON, no spaces). (default: kibana)"),
    ] = None,
    opensearch_dashboards: Annotated[
        bool, typer.Option("--opensearch-dashboards", help="Short for --flavour opensearch-dashboards.")
    ] = False,
    file: Annotated[
        Path | None,
        typer.Option(
            help="NDJSON to import (default: kibana/ or opensearch-dashboards/newsstreams.ndjson in the "
            "configuration directory)"
        ),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            min=0,
            help="When there is no answer or a 429/5xx one (still starting, busy), try again this many times, "
            "waiting 2, 4, 8, 16, then 30 s. Refusals are not retried.",
        ),
    ] = 0,
) -> None:
    """Import the data views and the News, Stories and Pipeline dashboards (overwrites: safe to repeat)."""
    from streams.ops.dashboards import ImportFailed, Unreachable, describe_error, import_saved_objects

    if opensearch_dashboards and flavour == "kibana":
        usage_error("--opensearch-dashboards and --flavour kibana contradict each other")
    settings = get_settings()
    product = PRODUCTS[flavour or ("opensearch-dashboards" if opensearch_dashboards else "kibana")]
    if space is not None and not product.has_spaces:
        usage_error("OpenSearch Dashboards has no spaces: drop --space")

    def on_retry(failure: ImportFailed, attempt: int, delay: float) -> None:
        say(err, ("  retrying     ", "yellow"), f"{failure}; attempt {attempt + 1} of {retries + 1} in {delay:g} s")

    try:
        report = import_saved_objects(
            settings.kibana,
            product,
            search=settings.search,
            url=url,
            space=space,
            file=file,
            retries=retries,
            on_retry=on_retry,
        )
    except Unreachable as exc:
        fail(f"{exc} (is it running? set --url or NEWSSTREAMS_KIBANA__URL)", 2)
    except ImportFailed as exc:
        for obj in exc.imported:
            stored = f" as {obj.stored_id}" if obj.stored_id != obj.id else ""
            say(console, ("  imported     ", "green"), f"{obj.type:<14} {obj.id}{stored}")
        for error in exc.errors:
            say(err, ("  failed       ", "red"), describe_error(error))
        fail(str(exc))

    where = f"{product.name} at {report.url}" + (f", space {report.space!r}" if report.space else "")
    say(console, f"{where}: {len(report.imported)} saved object(s) from {report.file}")
    for obj in report.imported:
        state = "overwritten" if obj.overwritten else "created"
        stored = f" as {obj.stored_id}" if obj.stored_id != obj.id else ""
        say(console, (f"  {state:<12} ", "green"), f"{obj.type:<14} {obj.id}{stored}", (f"  {obj.title}", "dim"))
    for warning in report.warnings:
        say(
            err,
            ("  warning      ", "yellow"),
            str(warning.get("message", warning) if isinstance(warning, dict) else warning),
        )
    for title, link in report.dashboard_links():
        say(console, f"dashboard {title}: {link}")
