#!/usr/bin/env bash
# Installs kube-apiserver (and kubectl, built in the same pass) into $DNS01_BIN from the Go module proxy.
# With DNS01_E2E_KUBELET=1 (for a single-node cluster with kubelet; off by default, see docs/e2e.md) the same
# `go build` also builds kubelet, kube-controller-manager and kube-scheduler: they share most packages with
# kube-apiserver, so one pass costs far less than building them afterwards.
# Idempotent: does nothing when every wanted binary runs and reports K8S_VERSION (default in lib/k8s-build.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
source "$here/lib/k8s-build.sh"

want=(kube-apiserver)
[ "${DNS01_E2E_KUBELET:-0}" = 1 ] && want+=("${K8S_NODE_CMDS[@]}")
missing() {
  todo=()
  local c
  for c in "${want[@]}"; do k8s_cmd_current "$c" || todo+=("$c"); done
  # kubectl rides along whenever something is built anyway: it shares most packages.
  if [ ${#todo[@]} -gt 0 ] && ! k8s_cmd_current kubectl; then todo+=(kubectl); fi
}
missing
[ ${#todo[@]} -eq 0 ] && exit 0
exec 9>"$DNS01_CACHE/.k8s-build.lock"
flock 9
missing # another run may have built them while we waited
[ ${#todo[@]} -eq 0 ] && exit 0
build_k8s_cmds "${todo[@]}"
for c in "${todo[@]}"; do
  k8s_cmd_current "$c" || { log "$c built but does not run or report v$K8S_VERSION"; exit 1; }
done
