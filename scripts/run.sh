#!/usr/bin/env bash
# Runs the platform on this machine against the local PostgreSQL and broker
# (started or installed when needed). Secrets for local use are generated once
# into .data/secrets.env, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
base_url=$(scripts/ensure-services.sh | tail -n 1)
mkdir -p .data
if [ ! -f .data/secrets.env ]; then
  umask 077
  key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  printf 'KAGOSHIMA_CARD_HASH_KEY=%s\n' "$key" >.data/secrets.env
  echo "generated a card-token key in .data/secrets.env"
fi
set -a
# shellcheck disable=SC1091
. .data/secrets.env
set +a
# The platform's own database beside the admin one.
export DATABASE_URL=${KAGOSHIMA_DATABASE_URL:-${base_url%/*}/kagoshima}
exec cargo run --release -p kagoshima-ingest -- "$@"
