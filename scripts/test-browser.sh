#!/usr/bin/env bash
# End-to-end browser tests: starts the demo (kagoshima-city) from a clean
# data folder on free ports, waits until it serves, runs the headless-Chromium
# tests of tests/browser against it, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked -p kagoshima-city
data=$(mktemp -d /tmp/kagoshima-demo.XXXXXX)
# The private PostgreSQL runs as the postgres user when we are root.
chmod 755 "$data"
log="$data/demo.log"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web_port=$(free_port)
mqtt_port=$(free_port)
grpc_base=$((30000 + RANDOM % 10000))
env -u DATABASE_URL target/debug/kagoshima-city demo --no-history --data-dir "$data" \
  --mqtt-port "$mqtt_port" --postgres-port "$(free_port)" \
  --grpc-port "$grpc_base" --web-port "$web_port" >"$log" 2>&1 &
demo=$!
stop_demo() { kill -TERM "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; rm -rf "$data"; }
trap stop_demo EXIT
for _ in $(seq 1 180); do
  curl -fs "http://127.0.0.1:$web_port/healthz" >/dev/null 2>&1 && break
  kill -0 "$demo" 2>/dev/null || { echo "the demo exited:"; cat "$log"; exit 1; }
  sleep 1
done
# Let the simulated fleet report and the predictions form.
sleep 20
# A device vendor's refused message, for the dashboard's device diagnostics.
command -v mosquitto_pub >/dev/null || scripts/ensure-services.sh
export KAGOSHIMA_REFUSED_VEHICLE=tram-9901
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -q 1 -t "kagoshima/v1/tram/$KAGOSHIMA_REFUSED_VEHICLE/tap" \
  -m "{\"vehicleId\":\"$KAGOSHIMA_REFUSED_VEHICLE\",\"action\":\"onn\"}"
export KAGOSHIMA_WEB_URL="http://127.0.0.1:$web_port"
KAGOSHIMA_BUREAU_TOKEN=$(cat "$data/bureau.token")
export KAGOSHIMA_BUREAU_TOKEN
export KAGOSHIMA_SCREENSHOTS=${KAGOSHIMA_SCREENSHOTS:-0}
tests/browser/run.sh
# gRPC through Python's grpcio-reflection (v1alpha), a client we did not write.
tests/reflection/run.sh "127.0.0.1:$grpc_base" "127.0.0.1:$((grpc_base + 1))" \
  "127.0.0.1:$((grpc_base + 2))" "$data/ingest.token" "$KAGOSHIMA_REFUSED_VEHICLE"
# GTFS-Realtime through gtfs-realtime-bindings and gtfs-rt-validator (PyPI),
# against the feed the demo loaded: shifted at night (feed-shift-<N>m), so
# the name depends on the hour the tests run.
feed_dir=$(ls -d "$data"/feed-shift-*m | head -n 1)
tests/gtfs-rt/run.sh "$feed_dir" "127.0.0.1:$((grpc_base + 1001))" \
  "$KAGOSHIMA_WEB_URL" "$data/bureau.token"
