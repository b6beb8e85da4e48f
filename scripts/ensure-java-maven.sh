#!/usr/bin/env bash
# The local stack needs Java 17+ and Maven. Install them from Debian's packages when missing and we may.
set -euo pipefail
if command -v java >/dev/null && command -v mvn >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Java 17 and Maven (apt-get) ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
else
  echo "error: Java 17+ and Maven are needed for the local stack (or use docker compose, see README)." >&2
  exit 1
fi
