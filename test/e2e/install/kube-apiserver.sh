#!/usr/bin/env bash
# Installs kube-apiserver, and for the single-node cluster of pods.test.ts (cluster/node.ts) kubelet,
# kube-controller-manager and kube-scheduler, into $DNS01_BIN from the Go module proxy — in one `go build`
# with kubectl: they share most packages, so one pass costs far less than building them one after the other
# (cold and warm costs: docs/e2e.md). DNS01_E2E_PODS=0 (no single-node cluster on this machine) builds
# kube-apiserver and kubectl only.
# Idempotent: does nothing when every wanted binary runs and reports K8S_VERSION (default in lib/k8s-build.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
source "$here/lib/k8s-build.sh"

want=(kube-apiserver)
[ "${DNS01_E2E_PODS:-1}" = 0 ] || want+=("${K8S_NODE_CMDS[@]}")
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
