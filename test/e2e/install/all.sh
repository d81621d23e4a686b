#!/usr/bin/env bash
# Installs everything the e2e tier needs by running every test/e2e/install/*.sh (except this one) in name
# order. Each script is idempotent and cached outside the repo ($DNS01_CACHE, default /var/cache/dns01-webhook),
# quiet on success. Prints the cache bin dir (add it to PATH) on stdout.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

t0=$SECONDS
for s in $(cd "$here" && LC_ALL=C ls -1 -- *.sh); do
  [ "$s" = all.sh ] && continue
  ts=$SECONDS
  bash "$here/$s" || { log "$s failed"; exit 1; }
  [ $((SECONDS - ts)) -ge 5 ] && log "$s took $((SECONDS - ts)) s"
done
[ $((SECONDS - t0)) -ge 5 ] && log "all installs took $((SECONDS - t0)) s"
echo "$DNS01_BIN"
