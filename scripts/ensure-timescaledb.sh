#!/usr/bin/env bash
# Makes sure a TimescaleDB answers for the tests and prints its DATABASE_URL
# on the last line (an empty line when there is none to be had).
#
# 1. TIMESCALEDB_URL, when set, is used as it is.
# 2. Beside the repository, ../shared/timescaledb/install.sh (the team's
#    machines and CI) builds TimescaleDB 2.28.3 from source once (about 4
#    minutes on 2 cores, cached in /var/tmp/timescaledb-build) and runs it side
#    by side: a copy of PostgreSQL with timescaledb preloaded, its own cluster
#    on port 5433 (TIMESCALEDB_PORT), so the system PostgreSQL stays plain.
# 3. Otherwise, when the PostgreSQL on 5432 preloads timescaledb, the plain
#    suite already runs on it; nothing is printed here.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[ensure-timescaledb] %s\n' "$*" >&2; }

SIDE=${TIMESCALEDB_HOME:-/var/tmp/kagoshima-timescaledb}
PORT=${TIMESCALEDB_PORT:-5433}
SHARED=../shared/timescaledb

if [ -n "${TIMESCALEDB_URL:-}" ]; then
  echo "$TIMESCALEDB_URL"
  exit 0
fi
if [ ! -x "$SHARED/install.sh" ] && [ ! -f "$SHARED/install.sh" ]; then
  log "no $SHARED here: set TIMESCALEDB_URL to test on a TimescaleDB of yours"
  echo ""
  exit 0
fi
tarball=$(ls "$SHARED"/timescaledb-*.tar.gz | sort -V | tail -n 1)
log "TimescaleDB from $tarball, side by side in $SIDE on port $PORT (first build about 4 minutes)"
bash "$SHARED/install.sh" --side-by-side "$SIDE" --port "$PORT" "$tarball" >&2
url="postgres://postgres@127.0.0.1:$PORT/postgres"
for _ in $(seq 1 30); do
  psql "$url" -Atqc 'select 1' >/dev/null 2>&1 && break
  sleep 1
done
version=$(psql "$url" -Atqc "select default_version from pg_available_extensions where name = 'timescaledb'")
log "TimescaleDB $version answers on 127.0.0.1:$PORT"
echo "$url"
