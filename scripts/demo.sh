#!/usr/bin/env bash
# make demo: the whole pipeline on the local stack with the seed article(s).
#   start the stack -> add an alert -> start a worker -> produce seeds/ (the NOS article, an English
#   and a German report of the same event, a regional paper's copy of the NOS text) -> wait until
#   searchable -> search "Poetin" -> one hit per story -> the stories -> the alert records
# The worker always stops at the end; the stack too unless KEEP=1.
set -uo pipefail
cd "$(dirname "$0")/.."
ns=.venv/bin/newsstreams
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
t0=$(date +%s)

step "starting the local stack (Kafka + OpenSearch)"
started_stack=0
if ! $ns stack status >/dev/null 2>&1; then $ns stack up || exit 1; started_stack=1; else echo "already up"; fi

step "creating topics and index templates"
$ns setup || exit 1

step "newsstreams alerts add demo-putin --entity Q7747 (a saved search: Vladimir Putin in any language)"
$ns alerts add demo-putin --entity Q7747 || exit 1

log=.stack/logs/demo-worker.log
step "starting a worker in the background (log: $log)"
mkdir -p .stack/logs
$ns worker >"$log" 2>&1 &
worker=$!
cleanup() {
  step "stopping the worker"
  kill -TERM "$worker" 2>/dev/null && wait "$worker" 2>/dev/null
  if [ "$started_stack" = 1 ] && [ "${KEEP:-0}" != 1 ]; then step "stopping the stack (KEEP=1 keeps it)"; $ns stack down; fi
}
trap cleanup EXIT

step "producing seeds/ to Kafka"
$ns produce seeds/ --source nos.nl || exit 1

n_seeds=$(ls seeds | wc -l)
step "waiting until the $n_seeds seed articles are searchable"
for i in $(seq 1 120); do
  if ! kill -0 "$worker" 2>/dev/null; then echo "the worker died; last lines of $log:"; tail -30 "$log"; exit 1; fi
  if $ns search --entity Q7747 --json 2>/dev/null | grep -q "\"total\": $n_seeds"; then echo "searchable after ${i}s"; break; fi
  [ "$i" = 120 ] && { echo "not searchable after 120s; last lines of $log:"; tail -30 "$log"; exit 1; }
  printf '.'; sleep 1
done

step "newsstreams search Poetin"
$ns search Poetin --facets

step "newsstreams search Poetin --collapse (one hit per story: its size and languages)"
$ns search Poetin --collapse

step "newsstreams stories (the story: nl, en, de; the regional copy is flagged as a duplicate)"
$ns stories
$ns search --entity Q7747 --json | grep -E '"(id|story_id|duplicate_of)"' | grep -v '"id": "Q' || true

step "newsstreams alerts tail --from-beginning --limit $n_seeds (one record per article the alert matched, once)"
timeout 60 $ns alerts tail --from-beginning --limit "$n_seeds" || echo "not every alert record within 60s; see $log"
echo; echo "demo finished in $(( $(date +%s) - t0 ))s"
