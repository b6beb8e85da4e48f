"""The `newsstreams` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

import sys

from streams.cli import dlq, enrich, evaluate, gazetteer, kibana, models, produce, search, stack, worker  # noqa: F401 - registers the commands
from streams.cli.common import app


def main() -> None:
    import logging.config

    from streams.logs import logging_config
    from streams.settings import get_settings

    logging.config.dictConfig(logging_config(get_settings(), level="WARNING"))
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
