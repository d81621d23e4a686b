#!/usr/bin/env bash
# cert-manager's own DNS-01 conformance suite (github.com/cert-manager/cert-manager/test/acme, strict mode)
# against dns01-webhook, once per bundled solver against its emulator — from two cert-manager releases:
#   go.mod            the newest cert-manager release (its test/acme and the k8s libraries it was built with),
#                     on the default (newest) kube-apiserver;
#   go.cm-oldest.mod  the oldest cert-manager release still supported, with its own k8s library versions,
#                     on the oldest kube-apiserver the chart claims (install/versions.env K8S_OLDEST_VERSION).
# Same test code for both (go test -modfile). Needs the built webhook (npm run build) and the binaries
# test/e2e/install/all.sh caches. CONFORMANCE_SUITES=newest|oldest runs one of them.
set -euo pipefail
cd "$(dirname "$0")"
source ../install/versions.env
bin="${DNS01_BIN:-${DNS01_CACHE:-/var/cache/dns01-webhook}/bin}"
export PATH="$bin:$PATH"
export TEST_ASSET_ETCD="$bin/etcd" TEST_ASSET_KUBECTL="$bin/kubectl"
# envtest allows kube-apiserver 20 s to stop; a margin for a loaded 2-core machine (a webhook still
# watching delays the stop — the forwarder stops each webhook it started before the control plane goes).
export KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT="${KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT:-90s}"

# suite NAME MODFILE KUBE_APISERVER
suite() {
  local cm
  cm="$(sed -n 's#^\s*github.com/cert-manager/cert-manager \(v[^ ]*\).*#\1#p' "$2" | head -1)"
  echo "[conformance] $1: cert-manager $cm test/acme on kube-apiserver $("$3" --version | sed 's/^Kubernetes //')"
  # pipefail: the script fails when go test fails; grep only trims envtest's noise.
  TEST_ASSET_KUBE_APISERVER="$3" go test -modfile="$2" -count=1 -v -timeout 20m ./... 2>&1 \
    | grep --line-buffered -E '^\s*(---|===|PASS|FAIL|ok|panic)|_test\.go:|forwarder\.go:'
}

case "${CONFORMANCE_SUITES:-all}" in
  all | newest) suite newest go.mod "$bin/kube-apiserver" ;;&
  all | oldest) suite oldest go.cm-oldest.mod "$bin/kube-apiserver-v$K8S_OLDEST_VERSION" ;;
  all | newest | oldest) ;;
  *) echo "CONFORMANCE_SUITES must be all, newest or oldest" >&2; exit 2 ;;
esac
