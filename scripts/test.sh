#!/usr/bin/env bash
# The project's test command: starts (or installs) PostgreSQL and Mosquitto
# when needed, then runs every test of the workspace against them.
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL=$(scripts/ensure-services.sh | tail -n 1)
export DATABASE_URL
export KAGOSHIMA_TEST_MQTT=${KAGOSHIMA_TEST_MQTT:-127.0.0.1:1883}
echo "testing against $DATABASE_URL and mqtt://$KAGOSHIMA_TEST_MQTT"
cargo test --workspace --locked "$@"
# End to end in a real browser against the running demo (skip with
# KAGOSHIMA_SKIP_BROWSER=1 on a machine without apt for Chromium).
if [ "${KAGOSHIMA_SKIP_BROWSER:-0}" != "1" ]; then
  scripts/test-browser.sh
fi
