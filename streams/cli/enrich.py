"""`newsstreams enrich`: a dry run of the enrichment, no Kafka, no search engine."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer

from streams.cli.common import app, err, fail, language_code, print_json, say
from streams.settings import get_settings

DRY_RUN_BATCH = 64  # articles per nlp.pipe call: output starts before a big directory is read


def _log_to_stderr() -> None:
    # Model fallbacks and translation failures are warnings a user tuning the setup should see.
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def enrich(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files (.txt, .json, .jsonl), directories (recursive) or - for stdin.", show_default=False),
    ],
    compact: Annotated[bool, typer.Option("--compact", help="One JSON document per line (JSONL).")] = False,
    source: Annotated[str | None, typer.Option(help="Source for articles that name none.")] = None,
    language: Annotated[
        str | None,
        typer.Option(
            help="Language hint (ISO 639-1) for articles that give none; checked against the text.",
            callback=language_code,
        ),
    ] = None,
) -> None:
    """Enrich articles and print the documents as they would be indexed; no Kafka, no search engine.

    For tuning gazetteers, topic lexicons and models. Output: one indented JSON document after
    another (a stream `jq` reads), or JSONL with --compact. Rejected inputs are reported on stderr;
    exit 1 if any input was rejected or failed to enrich.
    """
    from streams.contracts.inputs import read_inputs
    from streams.enrich import Enricher
    from streams.enrich.translate import TranslatorConfigError

    _log_to_stderr()
    settings = get_settings()
    try:
        enricher = Enricher.from_settings(settings)
    except TranslatorConfigError as exc:
        fail(str(exc), 2)
    bad = 0
    batch: list[tuple[str, dict]] = []

    def flush() -> int:
        results = enricher.enrich_batch([article for _origin, article in batch])
        failed = 0
        for (origin, _article), result in zip(batch, results, strict=True):
            if result.error is not None:
                failed += 1
                say(err, ("failed ", "bold red"), f"{origin}: {type(result.error).__name__}: {result.error}")
            elif compact:
                sys.stdout.write(json.dumps(result.doc, ensure_ascii=False) + "\n")
            else:
                print_json(result.doc)
        sys.stdout.flush()
        batch.clear()
        return failed

    for origin, article, problem in read_inputs(paths, source=source, language=language, limits=settings.limits):
        if article is None:
            bad += 1
            say(err, ("rejected ", "bold red"), f"{origin}: {problem}")
            continue
        batch.append((origin, article))
        if len(batch) >= DRY_RUN_BATCH:
            bad += flush()
    if batch:
        bad += flush()
    if bad:
        raise typer.Exit(1)
