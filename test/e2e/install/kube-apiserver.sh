#!/usr/bin/env bash
# Installs kube-apiserver (and kubectl, built in the same pass) into $DNS01_BIN from the Go module proxy.
# Idempotent: does nothing when the cached binary runs and reports K8S_VERSION (default in lib/k8s-build.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib/common.sh"
source "$here/lib/k8s-build.sh"

todo=()
k8s_cmd_current kube-apiserver || todo+=(kube-apiserver)
# kubectl rides along only when kube-apiserver is built anyway: it shares most packages.
if [ ${#todo[@]} -gt 0 ] && ! k8s_cmd_current kubectl; then todo+=(kubectl); fi
[ ${#todo[@]} -eq 0 ] && exit 0
exec 9>"$DNS01_CACHE/.k8s-build.lock"
flock 9
k8s_cmd_current kube-apiserver && exit 0 # another run built it while we waited
build_k8s_cmds "${todo[@]}"
k8s_cmd_current kube-apiserver || { log "kube-apiserver built but does not run or report v$K8S_VERSION"; exit 1; }
