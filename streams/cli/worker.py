"""`newsstreams setup` and `newsstreams worker`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from streams.cli.common import app, console, fail, say
from streams.settings import SearchSettings, Settings, get_settings


def _setup_all(settings: Settings) -> int:
    """Topics and index; returns the smallest max.message.bytes of the topics the worker writes."""
    from streams.kafka import KafkaUnavailable
    from streams.ops.setup import setup
    from streams.search import SearchError

    try:
        report = setup(settings)
    except KafkaUnavailable as exc:
        fail(str(exc), 2)
    except SearchError as exc:
        fail(f"search engine at {settings.search.url}: {exc}", 2)
    created = f"created {', '.join(report.created)}" if report.created else "all present"
    say(console, f"topics: {', '.join(report.topics)} ({created})")
    say(
        console,
        f"index templates and write aliases {', '.join(repr(a) for a in report.aliases)} ready "
        f"({settings.search.backend} at {settings.search.url})",
    )
    return report.max_message_bytes


@app.command()
def setup() -> None:
    """Create the Kafka topics and the search index template + write alias (idempotent)."""
    _setup_all(get_settings())


# The choices the settings accept; typer checks them (exit 2 on anything else).
SearchBackend = SearchSettings.model_fields["backend"].annotation
LogFormat = Settings.model_fields["log_format"].annotation


@app.command()
def worker(
    bootstrap_servers: Annotated[
        str | None,
        typer.Option(help="Kafka bootstrap servers, host:port[,host:port]. [default: kafka.bootstrap_servers]"),
    ] = None,
    search_url: Annotated[str | None, typer.Option(help="Elasticsearch/OpenSearch URL. [default: search.url]")] = None,
    search_backend: Annotated[
        SearchBackend | None, typer.Option(help="The search engine's kind. [default: search.backend]")
    ] = None,
    group_id: Annotated[
        str | None, typer.Option(help="Consumer group (= Faust app id). [default: kafka.group_id]")
    ] = None,
    web_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Faust web port (/metrics, /health). [default: worker.web_port]"),
    ] = None,
    enrich_batch_size: Annotated[
        int | None, typer.Option(min=1, help="Articles per enrichment batch. [default: worker.enrich_batch_size]")
    ] = None,
    index_batch_size: Annotated[
        int | None, typer.Option(min=1, help="Documents per bulk request. [default: worker.index_batch_size]")
    ] = None,
    log_format: Annotated[
        LogFormat | None, typer.Option(help="text, or json: one JSON object per line. [default: log_format]")
    ] = None,
) -> None:
    """Run the Faust worker: the enrich and index agents (creates topics and index first)."""
    from streams.worker.app import run_worker

    base = get_settings()
    settings = base.model_copy(
        update={
            "kafka": base.kafka.model_copy(update=_given(bootstrap_servers=bootstrap_servers, group_id=group_id)),
            "search": base.search.model_copy(update=_given(url=search_url, backend=search_backend)),
            "worker": base.worker.model_copy(
                update=_given(web_port=web_port, enrich_batch_size=enrich_batch_size, index_batch_size=index_batch_size)
            ),
            **_given(log_format=log_format),
        }
    )
    limit = _setup_all(settings)
    # Records are sized for the topics as they are, even when someone created them with a lower limit.
    kafka = settings.kafka.model_copy(update={"max_message_bytes": limit})
    run_worker(settings.model_copy(update={"kafka": kafka}))


def _given(**options: Any) -> dict[str, Any]:
    return {key: value for key, value in options.items() if value is not None}
