"""The `newsstreams` command line. Each module registers its commands on the shared app."""

from __future__ import annotations

import sys

from streams.cli import dlq, produce, search, stack, worker  # noqa: F401 - registers the commands
from streams.cli.common import app


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
