#!/usr/bin/env bash
# The benchmark suite in one command (see BENCHMARKS.md): makes sure
# PostgreSQL and Mosquitto are installed and running, builds the harness in
# release mode, installs the peers (Node-RED from npm, a Python venv from
# PyPI), then runs every benchmark of BENCHMARKS.md: ingest (paced fleets,
# limits and peers), map matching, passenger queries (arrivals under load)
# and the memory of the all-in-one binary; prints a summary.
#
#   scripts/bench.sh            # the whole suite, 3 runs each (about 20 min)
#   RUNS=5 scripts/bench.sh     # more runs per figure
#   QUICK=1 scripts/bench.sh    # 1 run each, shorter scenarios (a smoke test)
#
# Results: target/bench/<UTC time>/summary.md (and one log per benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[bench] %s\n' "$*" >&2; }

RUNS=${RUNS:-3}
DURATION=${DURATION:-30}   # seconds of publishing, paced scenarios
BIG_DURATION=${BIG_DURATION:-20} # the 60,000-vehicle scenario (1.2 M messages)
TICKS=${TICKS:-50}         # compare: 2,000 vehicles x TICKS reports
if [ -n "${QUICK:-}" ]; then RUNS=1; DURATION=10; BIG_DURATION=5; TICKS=10; fi

DATABASE_URL=$(scripts/ensure-services.sh | tail -n 1)
export DATABASE_URL
log "database: ${DATABASE_URL%%@*}@..."
benchmarks/peers/install.sh
log "building the harness, ingest, location, the city and the simulator (release)"
cargo build --release -q -p kagoshima-bench -p kagoshima-ingest -p kagoshima-location -p kagoshima-city -p kagoshima-sim
bench=target/release/bench-ingest

out=target/bench/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
summary="$out/summary.md"
{
  echo "# Benchmarks, $(date -u +'%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
       "$(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(uname -sr);"\
       "PostgreSQL $(psql "$DATABASE_URL" -Atqc 'show server_version' | cut -d' ' -f1),"\
       "$(mosquitto -h 2>/dev/null | head -n 1 | sed 's/ (build.*//'),"\
       "node $(node -v 2>/dev/null || echo none), $(python3 --version 2>/dev/null || echo 'no python'),"\
       "$(rustc --version | cut -d' ' -f1-2). Load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
} >"$summary"

run() {
  local name=$1; shift
  log "$name: $bench $*"
  if ! "$bench" --runs "$RUNS" --summary "$summary" "$@" 2>&1 | tee "$out/$name.log"; then
    log "$name FAILED (see $out/$name.log)"
    printf '%s: FAILED, see %s\n\n' "$name" "$out/$name.log" >>"$summary"
  fi
}

run paced-55 paced --vehicles 55 --hz 1 --duration "$DURATION"
run paced-2000 paced --vehicles 2000 --hz 1 --duration "$DURATION"
run paced-60000 paced --vehicles 60000 --hz 1 --duration "$BIG_DURATION" --timeout 30
run compare compare --vehicles 2000 --ticks "$TICKS"

# The other benchmarks print their own tables; the summary gets their tails.
other() {
  local name=$1 lines=$2; shift 2
  log "$name: $*"
  if "$@" 2>&1 | tee "$out/$name.log"; then
    { echo "## $name"; echo; echo '```'; echo "\$ $*"; tail -n "$lines" "$out/$name.log"; echo '```'; echo; } >>"$summary"
  else
    log "$name FAILED (see $out/$name.log)"
    printf '%s: FAILED, see %s\n\n' "$name" "$out/$name.log" >>"$summary"
  fi
}

SECONDS_PER=10; [ -n "${QUICK:-}" ] && SECONDS_PER=3
other map-matching 1 target/release/accuracy-report bench-matching
other arrivals-one-stop 12 target/release/bench-passenger --runs "$RUNS" --seconds "$SECONDS_PER"
other arrivals-all-stops 12 target/release/bench-passenger --runs "$RUNS" --seconds "$SECONDS_PER" --stop all
MEM_VEHICLES=55,2000,60000; [ -n "${QUICK:-}" ] && MEM_VEHICLES=55,2000
other memory 12 target/release/bench-memory --runs "$RUNS" --vehicles "$MEM_VEHICLES"

echo
cat "$summary"
log "summary: $summary"
