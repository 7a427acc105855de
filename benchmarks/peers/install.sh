#!/usr/bin/env bash
# Installs the benchmark peers from their registries: Node-RED 4 and
# node-postgres (npm, pinned by package-lock.json) into node-red/node_modules,
# and paho-mqtt + psycopg (PyPI, requirements.txt) into python/.venv.
# Idempotent; both folders are git-ignored.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '[peers] %s\n' "$*" >&2; }

if command -v node >/dev/null && command -v npm >/dev/null; then
  major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$major" -lt 18 ]; then
    log "Node.js $(node -v) is too old for Node-RED 4 (needs >= 18.5): skipping the Node-RED peer"
  elif [ ! -x "$here/node-red/node_modules/.bin/node-red" ] || [ "$here/node-red/package-lock.json" -nt "$here/node-red/node_modules/.package-lock.json" ]; then
    log "installing Node-RED 4 and pg (npm ci)"
    (cd "$here/node-red" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
else
  log "node/npm not found (apt-get install nodejs npm): skipping the Node-RED peer"
fi

if command -v python3 >/dev/null; then
  venv="$here/python/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    python3 -m venv "$venv" || { log "python3 -m venv failed (apt-get install python3-venv): skipping the Python peer"; exit 0; }
  fi
  if ! "$venv/bin/python" -c 'import paho.mqtt, psycopg' 2>/dev/null || [ "$here/python/requirements.txt" -nt "$venv/.installed" ]; then
    log "installing paho-mqtt and psycopg (pip)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/python/requirements.txt"
    touch "$venv/.installed"
  fi
else
  log "python3 not found: skipping the Python peer"
fi
