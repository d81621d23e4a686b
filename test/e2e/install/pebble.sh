#!/usr/bin/env bash
# Installs Pebble, Let's Encrypt's test ACME server (Debian's `pebble`: /usr/bin/pebble and
# /usr/bin/pebble-challtestsrv), and links both into $DNS01_BIN. The issuance e2e test
# (test/e2e/issuance.test.ts) runs it with its own config and `-dnsserver` pointed at an emulator.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

# pebble has no --version flag; `-h` exits 0 once the binary loads.
have() { [ -x "$DNS01_BIN/pebble" ] && "$DNS01_BIN/pebble" -h >/dev/null 2>&1 && [ -x "$DNS01_BIN/pebble-challtestsrv" ]; }
have && exit 0
apt_install pebble
for b in pebble pebble-challtestsrv; do
  ln -sf "$(command -v "$b" || echo "/usr/bin/$b")" "$DNS01_BIN/$b"
done
have || { log "pebble installed but does not run"; exit 1; }
