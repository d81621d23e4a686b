#!/usr/bin/env bash
# Builds the benchmark's Go programs (bench/go: the cert-manager reference webhook and the load generator)
# into $DNS01_CACHE/bench/bin, from the Go module proxy. Cached: rebuilds only when bench/go changes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${DNS01_CACHE:-/var/cache/dns01-webhook}/bench"
mkdir -p "$cache/bin" "$cache/logs"
stamp="$(cd "$here/go" && cat go.mod go.sum $(find . -name '*.go' | LC_ALL=C sort) | sha256sum | cut -c1-16)"
if [ -x "$cache/bin/refwebhook" ] && [ -x "$cache/bin/loadgen" ] && [ "$(cat "$cache/bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
echo "[bench-install] building bench/go (cert-manager v1.21.2 reference webhook + load generator; a few minutes the first time)" >&2
(
  cd "$here/go"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
  nice -n 10 go build -trimpath -o "$cache/bin/" ./refwebhook ./loadgen
) >"$cache/logs/build.log" 2>&1 || { tail -30 "$cache/logs/build.log" >&2; exit 1; }
echo "$stamp" >"$cache/bin/.stamp"
