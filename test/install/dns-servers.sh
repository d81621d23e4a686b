#!/usr/bin/env bash
# Installs Debian's Knot DNS and BIND 9 (plus knsupdate/nsupdate for debugging): the rfc2136 solver's tests
# start each as a real authoritative server on loopback with a TSIG key and an updatable zone
# (test/rfc2136/servers.ts). Idempotent; nothing is started here (tests run their own instances).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../e2e/install/lib/common.sh"

have() { command -v knotd >/dev/null && command -v knotc >/dev/null && command -v named >/dev/null && command -v named-checkconf >/dev/null; }
if ! have; then
  apt_install knot bind9 knot-dnsutils bind9-dnsutils
fi
have || { log "knot/bind9 installed but knotd or named is missing from PATH"; exit 1; }
echo "dns servers: $(knotd --version | head -1); $(named -v | head -1)"
