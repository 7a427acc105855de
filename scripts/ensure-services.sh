#!/usr/bin/env bash
# Makes sure PostgreSQL and an MQTT broker answer on this machine: starts them
# when installed but stopped, installs them (Debian/Ubuntu, apt) when missing.
# Prints the DATABASE_URL to use on its last line.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
MQTT_PORT=1883
log() { printf '[ensure-services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  log "installing $* with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if ! port_open "$PG_PORT"; then
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
      apt_install postgresql postgresql-client
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do port_open "$PG_PORT" && break; sleep 1; done
  fi
  port_open "$PG_PORT" || { log "PostgreSQL does not answer on $PG_HOST:$PG_PORT"; exit 1; }
}

ensure_mosquitto() {
  if port_open "$MQTT_PORT"; then return; fi
  if ! command -v mosquitto >/dev/null 2>&1; then
    apt_install mosquitto mosquitto-clients
  fi
  local conf=/etc/mosquitto/mosquitto.conf
  if [ ! -f "$conf" ] || ! grep -q "listener $MQTT_PORT" "$conf"; then
    conf=$(mktemp /tmp/kagoshima-mosquitto.XXXXXX.conf)
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" >"$conf"
  fi
  log "starting mosquitto ($conf)"
  as_root mkdir -p /run/mosquitto /var/lib/mosquitto /var/log/mosquitto 2>/dev/null || true
  as_root chown mosquitto: /run/mosquitto /var/lib/mosquitto /var/log/mosquitto 2>/dev/null || true
  as_root mosquitto -d -c "$conf"
  for _ in $(seq 1 20); do port_open "$MQTT_PORT" && break; sleep 0.5; done
  port_open "$MQTT_PORT" || { log "mosquitto does not answer on 127.0.0.1:$MQTT_PORT"; exit 1; }
}

# A URL that works: the one given, trust auth as user postgres, or a password
# set here on a PostgreSQL this script installed.
database_url() {
  local candidates=("${DATABASE_URL:-}" "postgres://postgres@$PG_HOST:$PG_PORT/postgres" "postgres://postgres:postgres@$PG_HOST:$PG_PORT/postgres")
  for url in "${candidates[@]}"; do
    [ -n "$url" ] || continue
    if psql "$url" -Atqc 'select 1' >/dev/null 2>&1; then echo "$url"; return; fi
  done
  log "setting a password for the postgres role (local test database)"
  as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  echo "postgres://postgres:postgres@$PG_HOST:$PG_PORT/postgres"
}

command -v psql >/dev/null 2>&1 || apt_install postgresql-client
"$(dirname "$0")/ensure-build-tools.sh"
ensure_postgres
ensure_mosquitto
database_url
