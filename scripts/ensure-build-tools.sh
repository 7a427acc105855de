#!/usr/bin/env bash
# Build tools the workspace needs beyond Rust: `protoc`, which the
# gtfs-realtime crate's build script calls (the project's own protobufs are
# compiled by protox, in pure Rust). Installed with apt when missing.
set -euo pipefail
if [ -z "${PROTOC:-}" ] && ! command -v protoc >/dev/null 2>&1; then
  echo "[ensure-build-tools] installing protobuf-compiler with apt" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi
