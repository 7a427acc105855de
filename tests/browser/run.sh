#!/usr/bin/env bash
# Runs the browser tests against a running kagoshima-web.
#   KAGOSHIMA_WEB_URL=http://127.0.0.1:8080 KAGOSHIMA_BUREAU_TOKEN=... tests/browser/run.sh
# Installs what is missing: Debian's chromium (apt) and playwright-core (npm ci).
set -euo pipefail
cd "$(dirname "$0")"
: "${KAGOSHIMA_WEB_URL:?set KAGOSHIMA_WEB_URL to the web service, e.g. http://127.0.0.1:8080}"
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium fonts-noto-cjk
fi
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
export KAGOSHIMA_WEB_URL
exec node --test --test-concurrency=1 ./*.test.mjs
