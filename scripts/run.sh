#!/usr/bin/env bash
# Runs the whole simulated city in one process (kagoshima-city demo): an
# embedded MQTT broker, a private PostgreSQL in .data/demo (or DATABASE_URL
# when set), the sample network, every service and the web pages, with the
# simulated fleet publishing in real time. Ctrl-C stops everything.
# Options go to the demo: scripts/run.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."

has_postgres_binaries() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}
if [ -z "${DATABASE_URL:-}" ] && ! has_postgres_binaries; then
  echo "PostgreSQL's server binaries are missing: installing them with apt (or set DATABASE_URL)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
scripts/ensure-build-tools.sh
exec cargo run --release -p kagoshima-city -- demo "$@"
