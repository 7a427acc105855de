#!/usr/bin/env bash
# Runs check.py (Python grpcio-reflection against the running platform) in a
# virtual environment of its own, created on first use from PyPI.
#   tests/reflection/run.sh INGEST LOCATION INDICATORS INGEST_TOKEN_FILE [VEHICLE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ] || ! "$here/.venv/bin/python" -c "import grpc_reflection" 2>/dev/null; then
  python3 -m venv "$here/.venv" || { apt-get install -y python3-venv >/dev/null && python3 -m venv "$here/.venv"; }
  "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi
exec "$here/.venv/bin/python" "$here/check.py" "$@"
