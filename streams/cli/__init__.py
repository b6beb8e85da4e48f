"""The `newsstreams` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

import sys

from streams.cli import (  # noqa: F401 - registers the commands
    alerts,
    dlq,
    enrich,
    evaluate,
    gazetteer,
    kibana,
    models,
    produce,
    reindex,
    search,
    stack,
    stories,
    worker,
)
from streams.cli.common import app, configure_logging
from streams.settings import ConfigDirError


def main() -> None:
    try:
        configure_logging()
    except ConfigDirError:
        pass  # a wrong NEWSSTREAMS_CONFIG_DIR: --config may replace it, else app's callback reports it
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
