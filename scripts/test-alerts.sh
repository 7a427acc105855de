#!/usr/bin/env bash
# Checks and unit-tests the shipped Prometheus rules with promtool (installed
# with apt, Debian package `prometheus`, when missing), checks the example
# Prometheus configuration, and checks that every query of the Grafana
# dashboard parses (as recording rules promtool can read).
set -euo pipefail
cd "$(dirname "$0")/../deploy"
if ! command -v promtool >/dev/null 2>&1; then
  echo "[test-alerts] installing promtool (Debian package prometheus) with apt" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
(cd prometheus && promtool check rules kagoshima.rules.yml && promtool check config prometheus.yml \
  && promtool test rules tests/kagoshima.test.yml)
queries=$(mktemp /tmp/kagoshima-dashboard-queries.XXXXXX.yml)
trap 'rm -f "$queries"' EXIT
python3 - grafana/kagoshima.json >"$queries" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("groups:\n  - name: dashboard\n    rules:")
for p in d["panels"]:
    for t in p.get("targets", []):
        print("      - record: dashboard:query\n        expr: " + json.dumps(t["expr"]))
PY
promtool check rules "$queries" >/dev/null 2>&1 || { promtool check rules "$queries"; exit 1; }
echo "[test-alerts] rules, their unit tests and the dashboard's queries pass"
