#!/usr/bin/env bash
# Runs check.py (gtfs-realtime-bindings and gtfs-rt-validator from PyPI
# against the running platform) in a virtual environment of its own.
#   tests/gtfs-rt/run.sh GTFS_DIR LOCATION_HTTP
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/gtfs-rt-validator" ] || ! "$here/.venv/bin/python" -c "import google.transit" 2>/dev/null; then
  python3 -m venv "$here/.venv" || { apt-get install -y python3-venv >/dev/null && python3 -m venv "$here/.venv"; }
  "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi
exec "$here/.venv/bin/python" "$here/check.py" "$@"
