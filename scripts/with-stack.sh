#!/usr/bin/env bash
# Run a command with the local Kafka + OpenSearch up; stop them afterwards only if we started them.
# pytest's exit code 5 ("no tests collected") is turned into a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
ns=.venv/bin/newsstreams
started=0
if ! $ns stack status >/dev/null 2>&1; then
  $ns stack up || { $ns stack down >/dev/null 2>&1; exit 1; }
  started=1
fi
"$@"
rc=$?
if [ "$rc" = 5 ]; then echo "error: no tests were collected" >&2; rc=1; fi
if [ "$started" = 1 ]; then $ns stack down; fi
exit "$rc"
