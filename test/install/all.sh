#!/usr/bin/env bash
# Installs every tool the unit/integration tier needs (idempotent; cached under $DNS01_CACHE).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/*.sh; do
  [ "$(basename "$script")" = all.sh ] && continue
  echo "-- $(basename "$script")"
  bash "$script"
done
