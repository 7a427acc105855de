#!/usr/bin/env bash
# The project's test command: starts (or installs) PostgreSQL, Mosquitto and,
# where ../shared/timescaledb is beside the repository, a TimescaleDB built
# from source; then runs every test of the workspace on TimescaleDB and the
# core tests (migrations, ingest, location, indicators) again on plain
# PostgreSQL, so both engines stay supported. Without a TimescaleDB every test
# runs on the plain PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAIN_URL=$(scripts/ensure-services.sh | tail -n 1)
TSDB_URL=$(scripts/ensure-timescaledb.sh | tail -n 1)
export KAGOSHIMA_TEST_MQTT=${KAGOSHIMA_TEST_MQTT:-127.0.0.1:1883}
tsdb_bin=${TIMESCALEDB_HOME:-/var/tmp/kagoshima-timescaledb}/lib/postgresql/15/bin
# Feeds for the outside validators below: the planning test's draft timetable
# lands here, the fixture feeds beside it.
fixtures=$(mktemp -d /tmp/kagoshima-fixture-feeds.XXXXXX)
export KAGOSHIMA_PLANNING_DRAFT_DIR="$fixtures/planning-draft"
if [ -n "$TSDB_URL" ]; then
  # The tests that check what TimescaleDB adds fail, rather than skip, when
  # they find plain tables here (KAGOSHIMA_TEST_ENGINE).
  echo "testing every crate on TimescaleDB ($TSDB_URL) and mqtt://$KAGOSHIMA_TEST_MQTT"
  [ -x "$tsdb_bin/initdb" ] && export KAGOSHIMA_TEST_TIMESCALEDB_BIN="$tsdb_bin"
  DATABASE_URL=$TSDB_URL KAGOSHIMA_TEST_ENGINE=timescaledb cargo test --workspace --locked "$@"
  echo "testing the core crates again on plain PostgreSQL ($PLAIN_URL)"
  DATABASE_URL=$PLAIN_URL KAGOSHIMA_TEST_ENGINE=postgresql cargo test --locked \
    -p kagoshima-storage -p kagoshima-ingest -p kagoshima-location -p kagoshima-indicators "$@"
else
  echo "testing against $PLAIN_URL and mqtt://$KAGOSHIMA_TEST_MQTT"
  DATABASE_URL=$PLAIN_URL cargo test --workspace --locked "$@"
fi
# The shipped alert rules, their unit tests and the Grafana dashboard's queries.
scripts/test-alerts.sh
# The sample feed, the tests' fixture feeds and the planning test's draft
# timetable, judged by two static GTFS validators written by others
# (gtfs-validator and gtfs-guru, PyPI).
cargo run --locked -q -p kagoshima-tests --example write-test-feeds "$fixtures" >/dev/null
tests/gtfs-static/run.sh simulators/feed/kagoshima "$fixtures"/*
rm -rf "$fixtures"
# End to end in a real browser against the running demo (skip with
# KAGOSHIMA_SKIP_BROWSER=1 on a machine without apt for Chromium).
if [ "${KAGOSHIMA_SKIP_BROWSER:-0}" != "1" ]; then
  scripts/test-browser.sh
fi
