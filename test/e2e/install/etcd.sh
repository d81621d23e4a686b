#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server) and links it into $DNS01_BIN.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"

runs "$DNS01_BIN/etcd" --version && exit 0
apt_install etcd-server
ln -sf "$(command -v etcd || echo /usr/bin/etcd)" "$DNS01_BIN/etcd"
runs "$DNS01_BIN/etcd" --version || { log "etcd installed but does not run"; exit 1; }
