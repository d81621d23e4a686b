#!/usr/bin/env bash
# cert-manager's own DNS-01 conformance suite (github.com/cert-manager/cert-manager/test/acme, strict mode)
# against dns01-webhook, once per bundled solver against its emulator. Needs the built webhook
# (npm run build) and the binaries test/e2e/install/all.sh caches.
set -euo pipefail
cd "$(dirname "$0")"
bin="${DNS01_BIN:-${DNS01_CACHE:-/var/cache/dns01-webhook}/bin}"
export PATH="$bin:$PATH"
export TEST_ASSET_KUBE_APISERVER="$bin/kube-apiserver" TEST_ASSET_ETCD="$bin/etcd" TEST_ASSET_KUBECTL="$bin/kubectl"
# envtest allows kube-apiserver 20 s to stop; a margin for a loaded 2-core machine (a webhook still
# watching delays the stop — the forwarder stops each webhook it started before the control plane goes).
export KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT="${KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT:-90s}"
# pipefail: the script fails when go test fails; grep only trims envtest's noise.
go test -count=1 -v -timeout 20m ./... 2>&1 | grep --line-buffered -E '^\s*(---|===|PASS|FAIL|ok|panic)|_test\.go:|forwarder\.go:'
