#!/usr/bin/env bash
# Runs check.py (two static GTFS validators from PyPI, written by others) on
# feed folders, in a virtual environment of its own.
#   tests/gtfs-static/run.sh FEED_DIR...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/gtfs-validator" ] || ! "$here/.venv/bin/python" -c "import gtfs_guru" 2>/dev/null; then
  python3 -m venv "$here/.venv" || { apt-get install -y python3-venv >/dev/null && python3 -m venv "$here/.venv"; }
  "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi
exec "$here/.venv/bin/python" "$here/check.py" "$@"
